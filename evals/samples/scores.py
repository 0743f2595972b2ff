"""One number per sample for any aggregate kind: what a single sample contributes, used where the run-level
aggregate has no per-sample form (win/tie/loss counts, reward-vs-production agreement). The rule per kind,
with its answer for a sample with nothing to find, is the `sample` column of metrics/aggregates.py RULES:

- mean: the sample's value.
- ratio: numerator / denominator of this sample; NaN when the denominator is 0 (the sample does not take
  part in the ratio, e.g. precision of a sample that predicted nothing).
- f1: 2 tp / (2 tp + fp + fn) of this sample; 1.0 when tp = fp = fn = 0 (nothing to find and nothing
  flagged: the sample is perfect, which is what a reviewer would say of a clean window left alone).
- macro_f1: the mean F1 over the classes this sample has gold or predictions for; 1.0 when it has none.
Any input missing from the sample gives NaN."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from metrics.aggregates import Aggregate, sample_value


def sample_score(aggregate: Aggregate, values: Mapping[str, float]) -> float:
    return sample_value(aggregate, values)


def sample_scores(aggregate: Aggregate, records: Sequence[Mapping[str, float]]) -> np.ndarray:
    return np.array([sample_value(aggregate, r) for r in records], dtype=float)
