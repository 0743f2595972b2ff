"""How per-sample values combine into a run-level metric. Declared here (pure data), computed with
confidence intervals in evals/statistics.py, so the Lambda never needs numpy."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class AggregateKind(StrEnum):
    MEAN = "mean"  # mean of one per-sample value over the samples that have it
    RATIO = "ratio"  # sum(inputs[0]) / sum(inputs[1]) (micro precision, recall, accuracy on matches)
    F1 = "f1"  # 2 tp / (2 tp + fp + fn) from sums of inputs = (tp, fp, fn)


@dataclass(frozen=True)
class Aggregate:
    name: str
    kind: AggregateKind
    inputs: tuple[str, ...]
    description: str = ""
    higher_is_better: bool = True

    def __post_init__(self) -> None:
        expected = {AggregateKind.MEAN: 1, AggregateKind.RATIO: 2, AggregateKind.F1: 3}[self.kind]
        if len(self.inputs) != expected:
            raise ValueError(f"aggregate {self.name}: {self.kind} takes {expected} inputs, got {self.inputs}")


def mean(name: str, value: str | None = None, description: str = "", higher_is_better: bool = True) -> Aggregate:
    return Aggregate(name, AggregateKind.MEAN, (value or name,), description, higher_is_better)


def ratio(name: str, numerator: str, denominator: str, description: str = "") -> Aggregate:
    return Aggregate(name, AggregateKind.RATIO, (numerator, denominator), description)


def f1(name: str, tp: str, fp: str, fn: str, description: str = "") -> Aggregate:
    return Aggregate(name, AggregateKind.F1, (tp, fp, fn), description)
