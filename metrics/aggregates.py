"""How per-sample values combine into a run-level metric. Declared here (pure data), computed with
confidence intervals in evals/stats/estimate.py, so the Lambda never needs numpy."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum


class AggregateKind(StrEnum):
    MEAN = "mean"  # mean of one per-sample value over the samples that have it
    RATIO = "ratio"  # sum(inputs[0]) / sum(inputs[1]) (micro precision, recall, accuracy on matches)
    F1 = "f1"  # 2 tp / (2 tp + fp + fn) from sums of inputs = (tp, fp, fn)
    # Unweighted mean over classes of each class's F1; inputs = (tp, fp, fn) per class, flattened. A class
    # with no gold and no prediction anywhere is left out of the mean (its F1 is undefined, not 0 or 1).
    MACRO_F1 = "macro_f1"


@dataclass(frozen=True)
class Aggregate:
    name: str
    kind: AggregateKind
    inputs: tuple[str, ...]
    description: str = ""
    higher_is_better: bool = True

    def __post_init__(self) -> None:
        if self.kind is AggregateKind.MACRO_F1:
            if not self.inputs or len(self.inputs) % 3:
                raise ValueError(f"aggregate {self.name}: macro_f1 takes (tp, fp, fn) per class, got {self.inputs}")
            return
        expected = {AggregateKind.MEAN: 1, AggregateKind.RATIO: 2, AggregateKind.F1: 3}[self.kind]
        if len(self.inputs) != expected:
            raise ValueError(f"aggregate {self.name}: {self.kind} takes {expected} inputs, got {self.inputs}")


def mean(name: str, value: str | None = None, description: str = "", higher_is_better: bool = True) -> Aggregate:
    return Aggregate(name, AggregateKind.MEAN, (value or name,), description, higher_is_better)


def ratio(name: str, numerator: str, denominator: str, description: str = "") -> Aggregate:
    return Aggregate(name, AggregateKind.RATIO, (numerator, denominator), description)


def f1(name: str, tp: str, fp: str, fn: str, description: str = "") -> Aggregate:
    return Aggregate(name, AggregateKind.F1, (tp, fp, fn), description)


def macro_f1(name: str, classes: Sequence[str], prefix: str, description: str = "") -> Aggregate:
    """Macro F1 over `classes` from per-sample counts named `<prefix>_tp/<class>`, `_fp/`, `_fn/`."""
    inputs = tuple(f"{prefix}_{count}/{cls}" for cls in classes for count in ("tp", "fp", "fn"))
    return Aggregate(name, AggregateKind.MACRO_F1, inputs, description)
