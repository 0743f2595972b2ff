"""How per-sample values combine into a run-level metric. Declared here (pure data), computed with
confidence intervals in evals/stats/estimate.py, so the Lambda never needs numpy.

RULES is the one table of what each kind computes, from the sums of its inputs over a run (`run`) and for a
single sample (`sample`), with each rule's answer when there is nothing to divide by:

    kind      run value (sums over n samples)         empty run   one sample's own value        empty sample
    mean      sum / n                                 NaN         the value                     -
    ratio     sum(num) / sum(den)                     NaN         num / den                     NaN
    f1        2 tp / (2 tp + fp + fn)                 NaN         the same                      1.0
    macro_f1  mean F1 over classes with tp+fp+fn > 0  NaN         the same, over its classes    1.0

A run with nothing to measure has no value (NaN: reported as n/a, never as perfect or zero); a single sample
with nothing to find and nothing flagged is perfect (1.0), which is what per-sample comparisons (wins, ties,
agreement) need. evals/stats/estimate.py computes the run rule vectorised over bootstrap resamples and is tested
against this table."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum


class AggregateKind(StrEnum):
    MEAN = "mean"  # mean of one per-sample value over the samples that have it
    RATIO = "ratio"  # sum(inputs[0]) / sum(inputs[1]) (micro precision, recall, accuracy on matches)
    F1 = "f1"  # 2 tp / (2 tp + fp + fn) from sums of inputs = (tp, fp, fn)
    # Unweighted mean over classes of each class's F1; inputs = (tp, fp, fn) per class, flattened. A class
    # with no gold and no prediction anywhere is left out of the mean (its F1 is undefined, not 0 or 1).
    MACRO_F1 = "macro_f1"


def _divide(num: float, den: float) -> float:
    return num / den if den > 0 else math.nan


def _f1(tp: float, fp: float, fn: float, empty: float) -> float:
    den = 2 * tp + fp + fn
    return 2 * tp / den if den > 0 else empty


def _macro_f1(counts: Sequence[float], empty: float) -> float:
    """Mean F1 over the classes seen (gold or predicted); a class with tp = fp = fn = 0 is left out."""
    classes = [counts[i:i + 3] for i in range(0, len(counts), 3)]
    scores = [_f1(tp, fp, fn, math.nan) for tp, fp, fn in classes if tp + fp + fn > 0]
    return sum(scores) / len(scores) if scores else empty


@dataclass(frozen=True)
class KindRule:
    inputs: int  # how many inputs the kind takes (per class when `repeated`)
    run: Callable[[Sequence[float], int], float]  # (sums of the inputs over n samples, n) -> run value
    sample: Callable[[Sequence[float]], float]  # one sample's inputs -> its own value
    repeated: bool = False  # inputs come in groups of `inputs` (one per class)


RULES: dict[AggregateKind, KindRule] = {
    AggregateKind.MEAN: KindRule(1, lambda sums, n: sums[0] / n if n else math.nan, lambda x: x[0]),
    AggregateKind.RATIO: KindRule(2, lambda sums, n: _divide(*sums), lambda x: _divide(*x)),
    AggregateKind.F1: KindRule(3, lambda sums, n: _f1(*sums, empty=math.nan), lambda x: _f1(*x, empty=1.0)),
    AggregateKind.MACRO_F1: KindRule(3, lambda sums, n: _macro_f1(sums, math.nan), lambda x: _macro_f1(x, 1.0),
                                     repeated=True),
}


@dataclass(frozen=True)
class Aggregate:
    name: str
    kind: AggregateKind
    inputs: tuple[str, ...]
    description: str = ""
    higher_is_better: bool = True

    def __post_init__(self) -> None:
        rule = RULES[self.kind]
        if rule.repeated:
            if not self.inputs or len(self.inputs) % rule.inputs:
                raise ValueError(f"aggregate {self.name}: {self.kind} takes (tp, fp, fn) per class, got {self.inputs}")
            return
        if len(self.inputs) != rule.inputs:
            raise ValueError(f"aggregate {self.name}: {self.kind} takes {rule.inputs} inputs, got {self.inputs}")


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


def run_value(aggregate: Aggregate, records: Sequence[Mapping[str, float]]) -> float:
    """The run-level value (the point estimate evals/stats/estimate.py reports), NaN when undefined: over the samples
    that have the aggregate's first input (as estimate_all takes them), other missing or NaN inputs counting 0."""
    rows = [r for r in records if not math.isnan(float(r.get(aggregate.inputs[0], math.nan)))]
    sums = [sum(_finite(r.get(key, 0.0)) for r in rows) for key in aggregate.inputs]
    return float(RULES[aggregate.kind].run(sums, len(rows)))


def sample_value(aggregate: Aggregate, values: Mapping[str, float]) -> float:
    """One sample's own value of the aggregate; NaN when the sample lacks one of the inputs."""
    inputs = [float(values.get(key, math.nan)) for key in aggregate.inputs]
    if any(math.isnan(x) for x in inputs):
        return math.nan
    return float(RULES[aggregate.kind].sample(inputs))


def _finite(value: float) -> float:
    value = float(value)
    return 0.0 if math.isnan(value) else value
