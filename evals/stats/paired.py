"""Paired comparison of two candidates scored on the same items.

The difference a - b of a run-level aggregate (metrics/aggregates.py) is tested with ONE test for every metric
kind: the paired permutation test of evals/stats/permutation.py (swap the two answers item by item; exact when
few items differ, which on pass/fail metrics is exactly McNemar's exact test). Its interval is read from the
same null distribution (diff ± the critical value), so "the 95% interval excludes 0" and "p < 0.05" always
agree, and tiny samples cannot look significant (2 items: p >= 0.5). Each row says which test produced it
(`test`: permutation-exact or permutation-mc, with `permutations` draws) and the minimum detectable effect
(`mde`, 80% power) at its sample size.

McNemar, Wilcoxon and the bootstrap p-value stay available as functions (the gate's docs and older runs
name them) but no comparison row uses them any more: each answered with its own interval logic, and the
bootstrap interval could exclude 0 while McNemar said p = 0.5 on the same two items.

Wins / ties / losses compare the per-sample scores of evals/samples/scores.py, oriented by the metric's
direction (a "win" is a better for a, lower when lower is better). A pair where either side's per-sample
score is undefined (a ratio with a zero denominator) counts as a tie: neither side gained on that item.

Pairs: an item counts for a metric when both candidates have the metric's first input (the same rule as
evals.stats.estimate), so a_value / b_value are on the paired items only and may differ slightly from
each candidate's own estimate when one side failed on some items."""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from evals.json_safe import json_safe
from evals.samples.records import SampleRecord
from evals.stats.permutation import paired_permutation
from evals.samples.scores import sample_scores
from evals.stats.estimate import _column, _statistic
from metrics.aggregates import Aggregate

__all__ = ["Alignment", "PairedResult", "align", "bootstrap_p_value", "compare_candidates", "holm", "json_safe",
           "mcnemar", "paired_metric", "win_rate", "wilcoxon"]

MCNEMAR_METHODS = ("exact", "chi2")


@dataclass(frozen=True)
class Alignment:
    """Records of several candidates on the items they all have, in the same order."""

    item_ids: list[str]
    values: dict[str, list[dict[str, float]]]  # candidate -> per-item values, aligned with item_ids
    records: dict[str, list[SampleRecord]]  # candidate -> the aligned records themselves
    dropped: dict[str, int] = field(default_factory=dict)  # candidate -> its records left out (item not shared,
    # or a repeated item id: the first record of an item is kept)


def align(records_by_candidate: Mapping[str, Sequence[SampleRecord]]) -> Alignment:
    """Keep the items every candidate has a record for, in the order of the first candidate's records."""
    first: dict[str, dict[str, SampleRecord]] = {}
    for name, records in records_by_candidate.items():
        by_item: dict[str, SampleRecord] = {}
        for record in records:
            by_item.setdefault(str(record.item_id), record)
        first[name] = by_item
    names = list(first)
    if not names:
        return Alignment([], {}, {}, {})
    shared = set.intersection(*(set(m) for m in first.values()))
    item_ids = [i for i in first[names[0]] if i in shared]
    aligned = {name: [first[name][i] for i in item_ids] for name in names}
    return Alignment(
        item_ids=item_ids,
        values={name: [dict(r.values) for r in recs] for name, recs in aligned.items()},
        records=aligned,
        dropped={name: len(records_by_candidate[name]) - len(item_ids) for name in names},
    )


# --- tests -------------------------------------------------------------------------------------------


def mcnemar(a: np.ndarray, b: np.ndarray, method: str = "exact") -> float:
    """Two-sided McNemar p-value for paired 0/1 outcomes."""
    if method not in MCNEMAR_METHODS:
        raise ValueError(f"mcnemar method {method!r}: use one of {MCNEMAR_METHODS}")
    only_a = int(np.sum((a == 1) & (b == 0)))
    only_b = int(np.sum((a == 0) & (b == 1)))
    discordant = only_a + only_b
    if discordant == 0:
        return 1.0  # the candidates never disagree: no evidence of a difference
    if method == "exact":
        return float(stats.binomtest(only_a, discordant, 0.5).pvalue)
    statistic = max(abs(only_a - only_b) - 1, 0) ** 2 / discordant
    return float(stats.chi2.sf(statistic, df=1))


def wilcoxon(a: np.ndarray, b: np.ndarray, zero_method: str = "wilcox") -> float:
    """Two-sided Wilcoxon signed-rank p-value on a - b; 1.0 when every difference is 0."""
    diff = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    if diff.size == 0:
        return math.nan
    if not np.any(diff != 0):
        return 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # tiny samples: scipy warns and still answers
        return float(stats.wilcoxon(diff, zero_method=zero_method).pvalue)


def bootstrap_p_value(diffs: np.ndarray) -> float:
    """Two-sided p-value of "the difference is 0" from bootstrap replicates of the difference."""
    diffs = diffs[~np.isnan(diffs)]
    b = diffs.size
    if b == 0:
        return math.nan
    below = (1 + np.sum(diffs <= 0)) / (b + 1)
    above = (1 + np.sum(diffs >= 0)) / (b + 1)
    return float(min(1.0, 2 * min(below, above)))


# --- the comparison -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PairedResult:
    metric: str
    n_pairs: int
    a_value: float
    b_value: float
    diff: float  # a_value - b_value (raw; read with higher_is_better)
    ci_low: float
    ci_high: float
    test: str  # permutation-exact | permutation-mc (evals/stats/permutation.py)
    p_value: float
    wins: int  # items where a is better than b
    ties: int
    losses: int
    higher_is_better: bool = True
    permutations: int = 0  # size of the test's null distribution
    mde: float = math.nan  # minimum detectable |difference| at 80% power; NaN when none is detectable

    def row(self, a: str, b: str, p_holm: float) -> dict[str, object]:
        """One `comparisons` row of nightly.json."""
        return {"metric": self.metric, "a": a, "b": b, "n_pairs": self.n_pairs, "a_value": self.a_value,
                "b_value": self.b_value, "diff": self.diff, "ci_low": self.ci_low, "ci_high": self.ci_high,
                "test": self.test, "p_value": self.p_value, "p_holm": p_holm, "wins": self.wins,
                "ties": self.ties, "losses": self.losses, "higher_is_better": self.higher_is_better,
                "permutations": self.permutations, "mde": self.mde}


def _win_tie_loss(a: np.ndarray, b: np.ndarray, higher_is_better: bool) -> tuple[int, int, int]:
    defined = ~np.isnan(a) & ~np.isnan(b)
    better = (a > b) if higher_is_better else (a < b)
    worse = (a < b) if higher_is_better else (a > b)
    wins = int(np.sum(defined & better))
    losses = int(np.sum(defined & worse))
    return wins, a.size - wins - losses, losses


def paired_metric(
    aggregate: Aggregate,
    records_a: Sequence[Mapping[str, float]],
    records_b: Sequence[Mapping[str, float]],
    *,
    resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> PairedResult:
    """a - b on the aggregate; records_a[i] and records_b[i] are the same item (see align). The interval's
    level is `confidence`; it excludes 0 exactly when p < 1 - confidence."""
    if len(records_a) != len(records_b):
        raise ValueError(f"paired_metric({aggregate.name}): records are not aligned ({len(records_a)} vs "
                         f"{len(records_b)}); pass both through evals.stats.paired.align first")
    cols_a = [_column(records_a, key) for key in aggregate.inputs]
    cols_b = [_column(records_b, key) for key in aggregate.inputs]
    present = ~np.isnan(cols_a[0]) & ~np.isnan(cols_b[0])
    n = int(present.sum())
    kept_a = [r for r, keep in zip(records_a, present, strict=True) if keep]
    kept_b = [r for r, keep in zip(records_b, present, strict=True) if keep]
    score_a, score_b = sample_scores(aggregate, kept_a), sample_scores(aggregate, kept_b)
    if n == 0:
        return PairedResult(aggregate.name, 0, math.nan, math.nan, math.nan, math.nan, math.nan, "permutation-exact",
                            math.nan, 0, 0, 0, aggregate.higher_is_better)
    matrix_a = np.column_stack([c[present] for c in cols_a])
    matrix_b = np.column_stack([c[present] for c in cols_b])
    full = np.arange(n)[None, :]
    value_a = float(_statistic(aggregate.kind, [c[present] for c in cols_a], full)[0])
    value_b = float(_statistic(aggregate.kind, [c[present] for c in cols_b], full)[0])
    test = paired_permutation(aggregate.kind, matrix_a, matrix_b, resamples=resamples, seed=seed,
                              alpha=1 - confidence)
    wins, ties, losses = _win_tie_loss(score_a, score_b, aggregate.higher_is_better)
    return PairedResult(
        metric=aggregate.name, n_pairs=n, a_value=value_a, b_value=value_b, diff=value_a - value_b,
        ci_low=test.ci_low, ci_high=test.ci_high, test=test.method, p_value=test.p_value,
        wins=wins, ties=ties, losses=losses, higher_is_better=aggregate.higher_is_better,
        permutations=test.permutations, mde=test.mde,
    )


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-Bonferroni step-down adjusted p-values, in the input order: sort ascending, multiply the i-th
    smallest (i from 0) by m - i, carry the running maximum so the order is kept, cap at 1. NaN p-values
    (metrics that could not be tested) stay NaN and are not counted in m."""
    p = np.asarray(p_values, dtype=float)
    adjusted = np.full(p.shape, math.nan)
    finite = np.flatnonzero(~np.isnan(p))
    m = finite.size
    if m == 0:
        return adjusted.tolist()
    order = finite[np.argsort(p[finite], kind="stable")]
    scaled = (m - np.arange(m)) * p[order]
    adjusted[order] = np.minimum(1.0, np.maximum.accumulate(scaled))
    return adjusted.tolist()


def compare_candidates(
    records_by_candidate: Mapping[str, Sequence[SampleRecord]],
    aggregates: Sequence[Aggregate],
    pairs: Sequence[tuple[str, str]],
    *,
    resamples: int = 1000,
    seed: int = 0,
) -> list[dict[str, object]]:
    """The `comparisons` rows of nightly.json: one per (pair, metric), Holm-adjusted across the metrics of
    each pair. Each pair is aligned on the items both candidates have."""
    rows: list[dict[str, object]] = []
    for a, b in pairs:
        missing = [name for name in (a, b) if name not in records_by_candidate]
        if missing:
            raise ValueError(f"compare_candidates: pair ({a}, {b}) names {missing}, which has no records; "
                             f"candidates with records: {sorted(records_by_candidate)}")
        aligned = align({a: records_by_candidate[a], b: records_by_candidate[b]})
        results = [paired_metric(agg, aligned.values[a], aligned.values[b], resamples=resamples, seed=seed)
                   for agg in aggregates]
        adjusted = holm([r.p_value for r in results])
        rows.extend(r.row(a, b, p) for r, p in zip(results, adjusted, strict=True))
    return rows


# --- pairwise judge ---------------------------------------------------------------------------------

OUTCOMES = ("a", "b", "tie", "inconsistent")


def _wilson(successes: float, n: int, confidence: float) -> tuple[float, float]:
    if n == 0:
        return math.nan, math.nan
    z = float(stats.norm.ppf(1 - (1 - confidence) / 2))
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def win_rate(outcomes: Sequence[str], *, a: str = "a", b: str = "b", confidence: float = 0.95) -> dict[str, object]:
    """A `pairwise_judge` row of nightly.json from per-item outcomes "a" (a preferred in both orders), "b",
    "tie", "inconsistent" (the verdict flipped with the order: the pairwise judge counts it as a tie, so it
    is counted in `ties` too and reported separately in `inconsistent`).

    win_rate = (wins + ties / 2) / n. The interval is Wilson's score interval on that share; with ties the
    share has less variance than a 0/1 proportion, so the interval is conservative there."""
    counts = dict.fromkeys(OUTCOMES, 0)
    for position, outcome in enumerate(outcomes):
        key = str(outcome).strip().lower()
        if key not in counts:
            raise ValueError(f"win_rate: outcome #{position} is {outcome!r}; expected one of {OUTCOMES}")
        counts[key] += 1
    n = len(outcomes)
    ties = counts["tie"] + counts["inconsistent"]
    share = (counts["a"] + ties / 2) / n if n else math.nan
    low, high = _wilson(counts["a"] + ties / 2, n, confidence)
    return {"a": a, "b": b, "n": n, "win_rate": share, "ci_low": low, "ci_high": high, "wins": counts["a"],
            "ties": ties, "losses": counts["b"], "inconsistent": counts["inconsistent"]}
