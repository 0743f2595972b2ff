"""One test for every metric kind: the permutation test, with an interval read from the same distribution.

Paired (two candidates on the same items): under "no difference" the two answers to an item are exchangeable,
so swapping them item by item gives the null distribution of the run-level difference a - b. This works the
same for a mean, a ratio, a micro F1 or a macro F1 (the swapped items carry their counts along), so every kind
gets the same test. Only items where the two sides differ can change anything when swapped: with m of them,
all 2^m swaps are enumerated when 2^m <= EXACT_LIMIT (exact p-values; on pass/fail metrics this is exactly
McNemar's exact test), otherwise `resamples` random swaps plus the observed one (Monte Carlo, p >= 1/(B+1)).

Unpaired (two runs on different items): the runs' items are pooled and reassigned at random to groups of the
original sizes.

p = share of the null distribution with |difference| >= the observed |difference|.
The interval is diff ± c, where c is the test's critical value: the ceil(alpha * N)-th largest |difference|
of the N null draws. So the interval excludes 0 exactly when p < alpha (both say |diff| > c), whatever the
metric kind and however small the sample; with 2 items no difference is ever significant (p >= 1/2).

Minimum detectable effect (mde): the smallest true difference the test would find with 80% power, c + z_0.8
times the null standard deviation (normal approximation of the shifted distribution); NaN when the sample is
so small that no difference can reach p < alpha at all (`detectable` False)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import product

import numpy as np

from evals.stats.estimate import _count_statistic
from metrics.aggregates import AggregateKind

EXACT_LIMIT = 1 << 14  # enumerate every swap up to this many (m <= 14 differing items)
Z_POWER_80 = 0.8416212335729143  # standard normal quantile at 0.8
DECIMALS = 12  # differences equal up to rounding count as equal (float sums in another order)


@dataclass(frozen=True)
class PermutationResult:
    diff: float  # a - b on the observed data
    p_value: float
    ci_low: float
    ci_high: float
    critical: float  # c: |diff| > c <=> p < alpha
    null_sd: float
    permutations: int  # size of the null distribution (2^m when exact)
    exact: bool
    detectable: bool  # some difference could reach p < alpha at this sample
    mde: float  # minimum detectable effect at 80% power (NaN when not detectable)

    @property
    def method(self) -> str:
        return "permutation-exact" if self.exact else "permutation-mc"


def _statistic(kind: AggregateKind, sums: np.ndarray, n: int) -> np.ndarray:
    """The aggregate from column sums (rows: draws), as evals/stats/estimate.py computes it."""
    columns = [sums[:, j] for j in range(sums.shape[1])]
    if kind is AggregateKind.MEAN:
        return columns[0] / n if n else np.full(sums.shape[0], math.nan)
    return _count_statistic(kind, columns)


def _summarise(observed: float, null: np.ndarray, alpha: float, bounded: bool, exact: bool
               ) -> PermutationResult:
    null = null[~np.isnan(null)]
    if math.isnan(observed) or null.size == 0:
        nan = math.nan
        return PermutationResult(observed, nan, nan, nan, nan, nan, int(null.size), exact, False, nan)
    magnitudes = np.round(np.abs(null), DECIMALS)
    size = magnitudes.size
    here = round(abs(observed), DECIMALS)
    p_value = float(np.sum(magnitudes >= here) / size)
    descending = np.sort(magnitudes)[::-1]
    rank = max(1, math.ceil(alpha * size - 1e-9))
    critical = float(np.sort(np.abs(null))[::-1][rank - 1])
    if round(critical, DECIMALS) >= here:  # not significant: the interval reaches 0 exactly, not 1e-13 short
        critical = max(critical, abs(observed))
    # Some difference reaches p < alpha only if fewer than alpha * size draws tie at the largest magnitude.
    detectable = bool(np.sum(magnitudes >= descending[0]) < alpha * size)
    low, high = observed - critical, observed + critical
    if bounded:  # a difference of two shares lies in [-1, 1]; clipping never moves 0 in or out
        low, high = max(low, -1.0), min(high, 1.0)
    null_sd = float(np.std(null))
    mde = critical + Z_POWER_80 * null_sd if detectable else math.nan
    return PermutationResult(observed, p_value, low, high, critical, null_sd, size, exact, detectable, mde)


def _bounded(kind: AggregateKind, a: np.ndarray, b: np.ndarray) -> bool:
    if kind is not AggregateKind.MEAN:
        return True  # ratios and F1 scores live in [0, 1]
    values = np.concatenate([a.ravel(), b.ravel()])
    return bool(values.size and np.all((values >= 0) & (values <= 1)) and np.all((values == 0) | (values == 1)))


BLOCK_CELLS = 1 << 21  # random draws are made this many cells at a time (about 16 MB), whatever the run size


def _swap_sums(shift: np.ndarray, resamples: int, rng: np.random.Generator) -> tuple[np.ndarray, bool]:
    """(draws x inputs): for each swap mask, the summed shift of the swapped items. Every one of the 2^m masks
    when small enough, else the identity and `resamples` random ones, drawn a block at a time."""
    m = shift.shape[0]
    if m == 0:
        return np.zeros((1, shift.shape[1])), True  # nothing differs: one arrangement
    if m <= 30 and (1 << m) <= EXACT_LIMIT:
        masks = np.array(list(product((0.0, 1.0), repeat=m)), dtype=float)
        return masks @ shift, True
    out = [np.zeros((1, shift.shape[1]))]
    rows = max(1, BLOCK_CELLS // m)
    for start in range(0, resamples, rows):
        block = min(rows, resamples - start)
        out.append(rng.integers(0, 2, size=(block, m)).astype(float) @ shift)
    return np.vstack(out), False


def paired_permutation(kind: AggregateKind, a: np.ndarray, b: np.ndarray, *, resamples: int = 1000, seed: int = 0,
                       alpha: float = 0.05) -> PermutationResult:
    """a, b: (items x inputs) per-item inputs of the aggregate (NaN counted as 0, as the sums do), row i of each
    the same item."""
    a = np.nan_to_num(np.asarray(a, dtype=float).reshape(len(a), -1))
    b = np.nan_to_num(np.asarray(b, dtype=float).reshape(len(b), -1))
    n = a.shape[0]
    if n == 0:
        return _summarise(math.nan, np.array([]), alpha, True, True)
    sum_a, sum_b = a.sum(axis=0), b.sum(axis=0)
    observed = float(_statistic(kind, sum_a[None, :], n)[0] - _statistic(kind, sum_b[None, :], n)[0])
    differs = np.flatnonzero(np.any(a != b, axis=1))
    shift = b[differs] - a[differs]  # what a gains (and b loses) when an item is swapped
    moved, exact = _swap_sums(shift, resamples, np.random.default_rng(seed))
    null = _statistic(kind, sum_a + moved, n) - _statistic(kind, sum_b - moved, n)
    return _summarise(observed, null, alpha, _bounded(kind, a, b), exact)


def unpaired_permutation(kind: AggregateKind, a: np.ndarray, b: np.ndarray, *, resamples: int = 1000,
                         seed: int = 0, alpha: float = 0.05) -> PermutationResult:
    """a (n_a x inputs) and b (n_b x inputs) from different items: group labels are shuffled."""
    a = np.nan_to_num(np.asarray(a, dtype=float).reshape(len(a), -1))
    b = np.nan_to_num(np.asarray(b, dtype=float).reshape(len(b), -1))
    n_a, n_b = a.shape[0], b.shape[0]
    if n_a == 0 or n_b == 0:
        return _summarise(math.nan, np.array([]), alpha, True, False)
    pooled = np.vstack([a, b])
    observed = float(_statistic(kind, a.sum(axis=0)[None, :], n_a)[0]
                     - _statistic(kind, b.sum(axis=0)[None, :], n_b)[0])
    rng = np.random.default_rng(seed)
    total = n_a + n_b
    blocks = [a.sum(axis=0)[None, :]]  # the observed split is one of the draws
    rows = max(1, BLOCK_CELLS // total)
    for start in range(0, resamples, rows):
        block = min(rows, resamples - start)
        in_a = np.zeros((block, total))
        np.put_along_axis(in_a, rng.permuted(np.tile(np.arange(total), (block, 1)), axis=1)[:, :n_a], 1.0, axis=1)
        blocks.append(in_a @ pooled)
    sums_a = np.vstack(blocks)
    sums_b = pooled.sum(axis=0)[None, :] - sums_a
    null = _statistic(kind, sums_a, n_a) - _statistic(kind, sums_b, n_b)
    return _summarise(observed, null, alpha, _bounded(kind, a, b), False)
