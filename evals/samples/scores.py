"""One number per sample for any aggregate kind: what a single sample contributes, used where the run-level
aggregate has no per-sample form (win/tie/loss counts, reward-vs-production agreement).

- mean: the sample's value.
- ratio: numerator / denominator of this sample; NaN when the denominator is 0 (the sample does not take
  part in the ratio, e.g. precision of a sample that predicted nothing).
- f1: 2 tp / (2 tp + fp + fn) of this sample; 1.0 when tp = fp = fn = 0 (nothing to find and nothing
  flagged: the sample is perfect, which is what a reviewer would say of a clean window left alone).
- macro_f1: the mean F1 over the classes this sample has gold or predictions for; 1.0 when it has none.
Any input missing from the sample gives NaN."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from metrics.aggregates import Aggregate, AggregateKind


def _f1(tp: float, fp: float, fn: float) -> float:
    den = 2 * tp + fp + fn
    return 1.0 if den == 0 else 2 * tp / den


def _mean(inputs: list[float]) -> float:
    return inputs[0]


def _ratio(inputs: list[float]) -> float:
    num, den = inputs
    return num / den if den > 0 else math.nan


def _f1_kind(inputs: list[float]) -> float:
    return _f1(*inputs)


def _macro_f1(inputs: list[float]) -> float:
    scores = [_f1(*inputs[i:i + 3]) for i in range(0, len(inputs), 3) if sum(inputs[i:i + 3]) > 0]
    return sum(scores) / len(scores) if scores else 1.0


PER_SAMPLE: dict[AggregateKind, Callable[[list[float]], float]] = {
    AggregateKind.MEAN: _mean,
    AggregateKind.RATIO: _ratio,
    AggregateKind.F1: _f1_kind,
    AggregateKind.MACRO_F1: _macro_f1,
}


def sample_score(aggregate: Aggregate, values: Mapping[str, float]) -> float:
    inputs = [float(values.get(key, math.nan)) for key in aggregate.inputs]
    if any(math.isnan(x) for x in inputs):
        return math.nan
    return float(PER_SAMPLE[aggregate.kind](inputs))


def sample_scores(aggregate: Aggregate, records: Sequence[Mapping[str, float]]) -> np.ndarray:
    return np.array([sample_score(aggregate, r) for r in records], dtype=float)
