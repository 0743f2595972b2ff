"""Run-level metrics with seeded bootstrap confidence intervals.

An aggregate is computed from per-sample values (metrics/aggregates.py says how); its 95% interval comes
from resampling samples with replacement, which keeps micro-averaged ratios (precision, recall, F1) honest:
the counts of one sample move together."""

from __future__ import annotations

import contextlib
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
    return _count_statistic(kind, [np.nansum(c[index], axis=-1) for c in columns])


def _from_sums(kind: AggregateKind, sums: list[np.ndarray], n: int) -> np.ndarray:
    """The aggregate from per-input sums over a sample of size n (NaN inputs counted as 0, as nansum does):
    the same statistic as _statistic, for sums taken by a weighted (bootstrap-count) product."""
    if kind is AggregateKind.MEAN:
        return sums[0] / n
    return _count_statistic(kind, sums)


def _count_statistic(kind: AggregateKind, sums: list[np.ndarray]) -> np.ndarray:
    """A ratio, F1 or macro-F1 from the sums of its count columns; NaN where the denominator is 0."""
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


# Bootstrap draws are made this many at a time (indices and counts, 8 bytes each), so they take about 24 MB
# whatever the number of samples: resamples x n at once took 1.6 GB at 100,000 samples.
_BLOCK_DRAWS = 1 << 20


def _bootstrap_sums(matrix: np.ndarray, resamples: int, seed: int) -> np.ndarray:
    """Column sums of `matrix` (n x k) for each of `resamples` bootstrap samples: (resamples x k).

    A resample is a count per sample (how often it was drawn), so its sums are one matrix product; every
    column of every aggregate shares the draws, which are made a block of resamples at a time."""
    n, k = matrix.shape
    rng = np.random.default_rng(seed)
    out = np.empty((resamples, k))
    rows = max(1, min(resamples, _BLOCK_DRAWS // n))
    with _one_blas_thread():
        for start in range(0, resamples, rows):
            block = min(rows, resamples - start)
            draws = rng.integers(0, n, size=(block, n))
            draws += (np.arange(block) * n)[:, None]  # row r counts into its own n slots
            counts = np.bincount(draws.ravel(), minlength=block * n).reshape(block, n).astype(float)
            out[start:start + block] = counts @ matrix
    return out


def _one_blas_thread() -> contextlib.AbstractContextManager[object]:
    """These products are thin (a few resamples x n, times n x k): a multithreaded BLAS spent 5x the CPU of
    one thread on them (100,000 samples, 2 busy cores). threadpoolctl comes with scikit-learn; without it
    the BLAS keeps its own setting."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def percentile_interval(boot: np.ndarray, confidence: float) -> tuple[float, float]:
    """The percentile interval of bootstrap replicates, ignoring undefined (NaN) ones; NaN when none is defined."""
    boot = boot[~np.isnan(boot)]
    if boot.size == 0:
        return math.nan, math.nan
    alpha = (1 - confidence) / 2
    low, high = (float(x) for x in np.quantile(boot, [alpha, 1 - alpha]))
    return low, high


def estimate(
    aggregate: Aggregate,
    records: Sequence[Mapping[str, float]],
    *,
    resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> Estimate:
    return estimate_all([aggregate], records, resamples=resamples, seed=seed, confidence=confidence)[0]


def estimate_all(
    aggregates: Sequence[Aggregate],
    records: Sequence[Mapping[str, float]],
    *,
    resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> list[Estimate]:
    """Each aggregate over the samples that have its first input, with a seeded percentile bootstrap.

    Aggregates defined on the same samples share one set of draws (as separate calls with the same seed
    would draw them), so the cost is one pass of draws per set of samples, not one per aggregate."""
    keys = sorted({key for a in aggregates for key in a.inputs})
    columns = {key: _column(records, key) for key in keys}
    groups: dict[bytes, list[int]] = {}
    masks: dict[bytes, np.ndarray] = {}
    for i, aggregate in enumerate(aggregates):
        present = ~np.isnan(columns[aggregate.inputs[0]]) if aggregate.inputs else np.zeros(len(records), bool)
        mark = present.tobytes()
        masks.setdefault(mark, present)
        groups.setdefault(mark, []).append(i)
    results: list[Estimate | None] = [None] * len(aggregates)
    for mark, members in groups.items():
        present = masks[mark]
        n = int(present.sum())
        if n == 0:
            for i in members:
                a = aggregates[i]
                results[i] = Estimate(a.name, math.nan, math.nan, math.nan, 0, a.higher_is_better)
            continue
        spans: list[tuple[int, int]] = []  # each member's columns in the matrix
        inputs = [key for i in members for key in aggregates[i].inputs]
        for i in members:
            start = spans[-1][1] if spans else 0
            spans.append((start, start + len(aggregates[i].inputs)))
        matrix = np.empty((n, len(inputs)))
        for j, key in enumerate(inputs):  # column by column: no second copy of every column at once
            matrix[:, j] = np.nan_to_num(columns[key][present], nan=0.0)
        full = matrix.sum(axis=0)[None, :]
        boot = _bootstrap_sums(matrix, resamples, seed)
        for i, (lo, hi) in zip(members, spans, strict=True):
            a = aggregates[i]
            value = float(_from_sums(a.kind, [full[:, j] for j in range(lo, hi)], n)[0])
            low, high = percentile_interval(_from_sums(a.kind, [boot[:, j] for j in range(lo, hi)], n), confidence)
            results[i] = Estimate(a.name, value, low, high, n, a.higher_is_better)
    return [r for r in results if r is not None]
