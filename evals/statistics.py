"""Run-level metrics with seeded bootstrap confidence intervals.

An aggregate is computed from per-sample values (metrics/aggregates.py says how); its 95% interval comes
from resampling samples with replacement, which keeps micro-averaged ratios (precision, recall, F1) honest:
the counts of one sample move together."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from metrics.aggregates import Aggregate, AggregateKind


@dataclass(frozen=True)
class Estimate:
    name: str
    value: float  # NaN when undefined (no sample has the value, or a zero denominator)
    ci_low: float
    ci_high: float
    n: int  # samples that contributed
    higher_is_better: bool = True

    def as_dict(self) -> dict[str, float | int | str]:
        return {"name": self.name, "value": self.value, "ci_low": self.ci_low, "ci_high": self.ci_high, "n": self.n}


def _column(records: Sequence[Mapping[str, float]], key: str) -> np.ndarray:
    return np.array([float(r.get(key, math.nan)) for r in records], dtype=float)


def _statistic(kind: AggregateKind, columns: list[np.ndarray], index: np.ndarray) -> np.ndarray:
    """The aggregate for each row of `index` (shape: resamples x n). Vectorised over resamples."""
    if kind is AggregateKind.MEAN:
        values = columns[0][index]
        with np.errstate(invalid="ignore"):
            return np.nanmean(values, axis=-1) if values.size else np.full(index.shape[0], math.nan)
    sums = [np.nansum(c[index], axis=-1) for c in columns]
    with np.errstate(invalid="ignore", divide="ignore"):
        if kind is AggregateKind.MACRO_F1:
            counts = np.stack(sums, axis=-1).reshape(*sums[0].shape, -1, 3)  # (..., classes, tp/fp/fn)
            tp, fp, fn = counts[..., 0], counts[..., 1], counts[..., 2]
            den = 2 * tp + fp + fn
            per_class = np.where(den > 0, 2 * tp / np.where(den > 0, den, 1), np.nan)
            defined = ~np.isnan(per_class)
            total = np.where(defined, per_class, 0).sum(axis=-1)
            count = defined.sum(axis=-1)
            return np.where(count > 0, total / np.maximum(count, 1), math.nan)
        if kind is AggregateKind.RATIO:
            num, den = sums
            return np.where(den > 0, num / np.where(den > 0, den, 1), math.nan)
        tp, fp, fn = sums
        den = 2 * tp + fp + fn
        # No gold risk and no prediction anywhere: nothing was missed and nothing was wrong.
        return np.where(den > 0, 2 * tp / np.where(den > 0, den, 1), math.nan)


def estimate(
    aggregate: Aggregate,
    records: Sequence[Mapping[str, float]],
    *,
    resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> Estimate:
    columns = [_column(records, key) for key in aggregate.inputs]
    present = ~np.isnan(columns[0]) if columns else np.zeros(0, dtype=bool)
    n = int(present.sum())
    if n == 0:
        return Estimate(aggregate.name, math.nan, math.nan, math.nan, 0, aggregate.higher_is_better)
    columns = [c[present] for c in columns]
    full = np.arange(n)[None, :]
    value = float(_statistic(aggregate.kind, columns, full)[0])
    rng = np.random.default_rng(seed)
    boot = _statistic(aggregate.kind, columns, rng.integers(0, n, size=(resamples, n)))
    boot = boot[~np.isnan(boot)]
    if boot.size == 0:
        low = high = math.nan
    else:
        alpha = (1 - confidence) / 2
        low, high = (float(x) for x in np.quantile(boot, [alpha, 1 - alpha]))
    return Estimate(aggregate.name, value, low, high, n, aggregate.higher_is_better)


def estimate_all(
    aggregates: Sequence[Aggregate],
    records: Sequence[Mapping[str, float]],
    *,
    resamples: int = 1000,
    seed: int = 0,
) -> list[Estimate]:
    return [estimate(a, records, resamples=resamples, seed=seed) for a in aggregates]
