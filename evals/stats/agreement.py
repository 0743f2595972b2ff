"""Does the training reward agree with the production metrics? Two questions, two levels:

- per sample, WITHIN each candidate: does a better answer of this model get a higher reward? (pooling the
  candidates would mostly measure that one candidate is better than another, which the policy level asks
  properly);
- per policy, ACROSS the candidates of a night (policy_agreement): does the mean reward order the candidates
  as each production metric does, and which pairs does it order the other way, by how much.

Per sample, the reward (a SampleRecord value, `reward` by default) against each production metric:

- Spearman and Kendall (tau-b) rank correlations (scipy), with bootstrap 95% percentile intervals;
- Cohen's kappa between reward-pass (reward >= reward_threshold) and production-pass
  (production >= that metric's threshold) (scikit-learn);
- AUROC of the reward as a score for production-pass (scikit-learn); NaN when every sample passes or
  every sample fails (one class absent);
- the scatter points, and the most disagreeing samples both ways: reward-hacking suspects (reward-pass but
  production-fail) and underrated samples (reward-fail but production-pass), with output and document text.

Production metrics: a name that is one of the given aggregates is scored per sample as
evals/samples/scores.py says (risk_f1 becomes the sample's own F1 from its tp/fp/fn, 1.0 when it has
neither gold nor predictions; a ratio such as grounding is the sample's own ratio, undefined when its
denominator is 0); any other name is read from SampleRecord.values as it is (schema_valid,
judge/<criterion> 0/1 verdicts, reward components recorded as values).

Undefined is NaN, never a crash: samples missing the reward or the production value are left out (n says
how many remain); a correlation of constant inputs, a kappa with one label on both sides, and anything on
fewer than 2 samples are NaN. Bootstrap replicates where a statistic is undefined are left out of its
interval. The bootstrap resamples items, not samples: in the pooled block one item's answers from every
candidate move together (they share the document, so they are not independent)."""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats
from sklearn.metrics import cohen_kappa_score, roc_auc_score

from evals.samples.records import SampleRecord
from evals.samples.scores import sample_scores
from evals.stats.estimate import percentile_interval
from metrics.aggregates import Aggregate

STATISTICS = ("spearman", "kendall", "kappa", "auroc")
DEFAULT_PRODUCTION_THRESHOLD = 0.5


# --- statistics on one pair of arrays -------------------------------------------------------------------
# Point values come from scipy / scikit-learn. Bootstrap replicates are computed all at once from integer
# weights: a replicate that draws item k twice is the sample with item k's answers repeated, i.e. each
# sample weighted by its item's count. Every statistic below is the exact value on that expanded sample
# (ties and duplicates included), so the replicates match what scipy / sklearn would return on it.


def _groups(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sort order, start of each run of equal values in that order, and each sample's run number."""
    order = np.argsort(x, kind="stable")
    ordered = x[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    run = np.empty(x.size, dtype=int)
    run[order] = np.cumsum(np.r_[True, ordered[1:] != ordered[:-1]]) - 1
    return order, starts, run


def _group_weights(w: np.ndarray, order: np.ndarray, starts: np.ndarray) -> np.ndarray:
    return np.add.reduceat(w[:, order], starts, axis=1)


def _weighted_ranks(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Average ranks of each sample in each weighted replicate (rows of w)."""
    order, starts, run = _groups(x)
    per_value = _group_weights(w, order, starts)
    below = np.cumsum(per_value, axis=1) - per_value
    return (below + (per_value + 1) / 2)[:, run]


def _weighted_pearson(a: np.ndarray, b: np.ndarray, w: np.ndarray) -> np.ndarray:
    total = w.sum(axis=1, keepdims=True)
    da = a - (w * a).sum(axis=1, keepdims=True) / total
    db = b - (w * b).sum(axis=1, keepdims=True) / total
    va, vb = (w * da * da).sum(axis=1), (w * db * db).sum(axis=1)
    cov = (w * da * db).sum(axis=1)
    # A constant replicate has zero variance up to rounding: scale the cut-off to the ranks' own size.
    floor = 1e-9 * total[:, 0] ** 3
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where((va > floor) & (vb > floor), cov / np.sqrt(va * vb), np.nan)


def _spearman_reps(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    return _weighted_pearson(_weighted_ranks(x, w), _weighted_ranks(y, w), w)


def _kendall_reps(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """tau-b = sum over pairs of sign(dx) sign(dy) / sqrt(pairs untied in x * pairs untied in y); with
    weights each pair (i, j) counts w_i w_j times, and copies of one sample are tied in both. Memory is
    O(n^2) in float32 (signs and integer weights are exact there): about 9 MB per matrix at n = 1,500."""
    w32 = w.astype(np.float32)

    def quadratic(matrix: np.ndarray) -> np.ndarray:  # w M w^T for every replicate
        return ((w32 @ matrix).astype(float) * w).sum(axis=1)

    sx = np.greater.outer(x, x).astype(np.float32) - np.less.outer(x, x)
    sy = np.greater.outer(y, y).astype(np.float32) - np.less.outer(y, y)
    num = quadratic(sx * sy)
    untied_x = quadratic(np.abs(sx))
    del sx
    untied_y = quadratic(np.abs(sy))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where((untied_x > 0) & (untied_y > 0), num / np.sqrt(untied_x * untied_y), np.nan)


def _kappa_reps(a: np.ndarray, b: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Cohen's kappa of two boolean raters: (p_o - p_e) / (1 - p_e); NaN when p_e = 1 (one label only)."""
    total = w.sum(axis=1)
    observed = (w * (a == b)).sum(axis=1) / total
    pa, pb = (w * a).sum(axis=1) / total, (w * b).sum(axis=1) / total
    expected = pa * pb + (1 - pa) * (1 - pb)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(expected < 1 - 1e-12, (observed - expected) / (1 - expected), np.nan)


def _auroc_reps(score: np.ndarray, label: np.ndarray, w: np.ndarray) -> np.ndarray:
    """P(score of a positive > score of a negative) + half the ties, on each weighted replicate."""
    order, starts, run = _groups(score)
    negatives = _group_weights(w * ~label, order, starts)
    below = (np.cumsum(negatives, axis=1) - negatives)[:, run]
    tied = negatives[:, run]
    w_pos = w * label
    wins = (w_pos * (below + tied / 2)).sum(axis=1)
    n_pos, n_neg = w_pos.sum(axis=1), (w * ~label).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where((n_pos > 0) & (n_neg > 0), wins / (n_pos * n_neg), np.nan)


def _point(name: str, reward: np.ndarray, production: np.ndarray, reward_pass: np.ndarray,
           production_pass: np.ndarray) -> float:
    """The reference implementations (scipy, scikit-learn) for the reported values."""
    if reward.size < 2:
        return math.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # undefined cases (constant input, one label) come back as NaN
        if name == "spearman":
            return float(stats.spearmanr(reward, production).statistic)
        if name == "kendall":
            return float(stats.kendalltau(reward, production).statistic)
        if name == "kappa":
            return float(cohen_kappa_score(reward_pass, production_pass, labels=[False, True]))
        if production_pass.all() or not production_pass.any():
            return math.nan  # AUROC needs both classes
        return float(roc_auc_score(production_pass, reward))


def _replicates(name: str, reward: np.ndarray, production: np.ndarray, reward_pass: np.ndarray,
                production_pass: np.ndarray, weights: np.ndarray) -> np.ndarray:
    if name == "spearman":
        return _spearman_reps(reward, production, weights)
    if name == "kendall":
        return _kendall_reps(reward, production, weights)
    if name == "kappa":
        return _kappa_reps(reward_pass, production_pass, weights)
    return _auroc_reps(reward, production_pass, weights)


def bootstrap_weights(clusters: Sequence[str], resamples: int, seed: int) -> np.ndarray:
    """(resamples, samples) integer weights of a cluster bootstrap: as many clusters as there are
    drawn with replacement, and each sample weighs its cluster's count."""
    index: dict[str, int] = {}
    member = np.array([index.setdefault(c, len(index)) for c in clusters], dtype=int)
    k = len(index)
    counts = np.random.default_rng(seed).multinomial(k, np.full(k, 1 / k), size=resamples)
    return counts[:, member].astype(float)


def agreement_stats(
    reward: Sequence[float],
    production: Sequence[float],
    *,
    reward_threshold: float = 0.5,
    production_threshold: float = DEFAULT_PRODUCTION_THRESHOLD,
    clusters: Sequence[str] | None = None,
    resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> dict[str, object]:
    """One `production.<metric>` entry of the agreement section. `clusters` (one id per sample, e.g. the
    item id) makes the bootstrap resample clusters; by default every sample is its own cluster."""
    r = np.asarray(reward, dtype=float)
    p = np.asarray(production, dtype=float)
    if r.shape != p.shape:
        raise ValueError(f"agreement_stats: reward has {r.size} values, production {p.size}; pass one per sample")
    keep = np.isfinite(r) & np.isfinite(p)
    ids = [str(i) for i in range(r.size)] if clusters is None else [str(c) for c in clusters]
    ids = [c for c, k in zip(ids, keep, strict=True) if k]
    r, p = r[keep], p[keep]
    r_pass, p_pass = r >= reward_threshold, p >= production_threshold
    out: dict[str, object] = {"n": int(r.size)}
    weights = bootstrap_weights(ids, resamples, seed) if r.size >= 2 else None
    for name in STATISTICS:
        value = _point(name, r, p, r_pass, p_pass)
        low = high = math.nan
        if weights is not None and not math.isnan(value):
            low, high = percentile_interval(_replicates(name, r, p, r_pass, p_pass, weights), confidence)
        out[name] = {"value": value, "ci_low": low, "ci_high": high}
    out["reward_threshold"] = float(reward_threshold)
    out["production_threshold"] = float(production_threshold)
    return out


# --- records -> the agreement section ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Sample:
    record: SampleRecord
    reward: float
    production: dict[str, float]


def _production_thresholds(production: Mapping[str, float] | Sequence[str]) -> dict[str, float]:
    if isinstance(production, str):
        raise ValueError(f"agreement: `production` must list metric names or map them to thresholds; got the "
                         f"string {production!r} (write [{production}] or {{{production}: 0.5}})")
    if isinstance(production, Mapping):
        return {str(k): float(v) for k, v in production.items()}
    return {str(k): DEFAULT_PRODUCTION_THRESHOLD for k in production}


def production_values(records: Sequence[SampleRecord], metric: str,
                      aggregates: Mapping[str, Aggregate]) -> np.ndarray:
    """Per-sample production scores: an aggregate's per-sample form, or the value itself."""
    if metric in aggregates:
        return sample_scores(aggregates[metric], [r.values for r in records])
    return np.array([float(r.values.get(metric, math.nan)) for r in records], dtype=float)


def _clip(text: str | None, limit: int) -> str | None:
    if text is None:
        return None
    return text if len(text) <= limit else text[:limit].rstrip() + "…"


def _disagreements(samples: Sequence[_Sample], thresholds: Mapping[str, float], reward_threshold: float,
                   suspects: bool) -> list[tuple[float, _Sample, str]]:
    """Samples on opposite sides of the two thresholds, with how far they sit on the wrong sides:
    suspects: (reward - reward_threshold) + (production_threshold - production), reward-pass and
    production-fail; underrated: the mirror. Each sample is listed once, under its worst metric."""
    worst: dict[tuple[str, str], tuple[float, _Sample, str]] = {}
    for sample in samples:
        for metric, threshold in thresholds.items():
            value = sample.production.get(metric, math.nan)
            if math.isnan(value):
                continue
            reward_side = sample.reward - reward_threshold
            production_side = value - threshold
            if suspects and reward_side >= 0 > production_side:
                gap = reward_side - production_side
            elif not suspects and production_side >= 0 > reward_side:
                gap = production_side - reward_side
            else:
                continue
            key = (sample.record.candidate, sample.record.item_id)
            if key not in worst or gap > worst[key][0]:
                worst[key] = (gap, sample, metric)
    return sorted(worst.values(), key=lambda t: (-t[0], t[1].record.candidate, t[1].record.item_id))


def agreement_block(
    records: Sequence[SampleRecord],
    production: Mapping[str, float] | Sequence[str],
    *,
    aggregates: Sequence[Aggregate] = (),
    documents: Mapping[str, str] | None = None,
    golds: Mapping[str, str] | None = None,
    reward_metric: str = "reward",
    reward_threshold: float = 0.5,
    top_k: int = 5,
    resamples: int = 1000,
    seed: int = 0,
    excerpt_chars: int = 400,
    output_chars: int = 2000,
) -> dict[str, object]:
    """The agreement of one candidate (or of several records pooled): one value of the `agreement` section."""
    thresholds = _production_thresholds(production)
    by_name = {a.name: a for a in aggregates}
    reward = np.array([float(r.values.get(reward_metric, math.nan)) for r in records], dtype=float)
    columns = {m: production_values(records, m, by_name) for m in thresholds}
    items = [str(r.item_id) for r in records]
    block_stats = {
        m: agreement_stats(reward, columns[m], reward_threshold=reward_threshold, production_threshold=t,
                           clusters=items, resamples=resamples, seed=seed)
        for m, t in thresholds.items()
    }
    samples = [_Sample(rec, float(reward[i]), {m: float(columns[m][i]) for m in thresholds})
               for i, rec in enumerate(records) if not math.isnan(reward[i])]
    documents, golds = documents or {}, golds or {}

    def listing(suspects: bool) -> list[dict[str, object]]:
        rows = []
        for gap, sample, metric in _disagreements(samples, thresholds, reward_threshold, suspects)[:top_k]:
            rec = sample.record
            value = sample.production[metric]
            side = ("reward {r:.3f} >= {rt} (pays) but {m} {v:.3f} < {mt} (fails)" if suspects
                    else "{m} {v:.3f} >= {mt} (passes) but reward {r:.3f} < {rt} (does not pay)")
            reason = side.format(r=sample.reward, rt=reward_threshold, m=metric, v=value, mt=thresholds[metric])
            rows.append({"item_id": rec.item_id, "candidate": rec.candidate, "reward": sample.reward,
                         "production": value, "production_metric": metric,
                         "disagreement": gap, "reason": reason, "output": _clip(rec.output, output_chars),
                         "gold": _clip(golds.get(rec.item_id), output_chars),
                         "document": _clip(documents.get(rec.item_id), excerpt_chars)})
        return rows

    return {
        "reward_metric": reward_metric,
        "production": block_stats,
        "points": [{"item_id": s.record.item_id, "candidate": s.record.candidate, "reward": s.reward,
                    "production": dict(s.production)} for s in samples],
        "reward_hacking_suspects": listing(suspects=True),
        "underrated": listing(suspects=False),
    }


def agreement_section(
    records_by_candidate: Mapping[str, Sequence[SampleRecord]],
    production: Mapping[str, float] | Sequence[str],
    **options: object,
) -> dict[str, dict[str, object]]:
    """The `agreement` section of nightly.json for one task: a block per candidate, computed within that
    candidate's samples. `options` are agreement_block's keyword arguments."""
    return {name: agreement_block(records, production, **options)  # type: ignore[arg-type]
            for name, records in records_by_candidate.items()}


# --- the policy level ----------------------------------------------------------------------------------------


def policy_agreement(values: Mapping[str, Mapping[str, float]], reward_metric: str,
                     production: Sequence[str], higher_is_better: Mapping[str, bool] | None = None
                     ) -> dict[str, object]:
    """Across candidates (policies): does the mean reward order them as each production metric does?

    `values`: candidate -> {metric: run-level value} (the reward and the production metrics). Per production
    metric: Kendall tau-b and Spearman between the candidates' mean rewards and their metric values (NaN with
    fewer than 2 candidates or a constant side), and the pairs ordered the other way round ("discordant":
    the reward prefers one candidate, the metric the other), each with the size of both gaps. A lower-is-better
    metric is negated first, so agreement always means "the reward prefers the better policy"."""
    higher_is_better = higher_is_better or {}
    out: dict[str, object] = {"reward_metric": reward_metric, "policies": {c: dict(v) for c, v in values.items()},
                              "production": {}}
    for metric in production:
        names = [c for c, v in values.items() if _finite(v.get(reward_metric)) and _finite(v.get(metric))]
        sign = 1.0 if higher_is_better.get(metric, True) else -1.0
        reward = np.array([float(values[c][reward_metric]) for c in names])
        quality = np.array([sign * float(values[c][metric]) for c in names])
        entry: dict[str, object] = {"n": len(names), "kendall": math.nan, "spearman": math.nan}
        if len(names) >= 2:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # constant inputs come back as NaN
                entry["kendall"] = float(stats.kendalltau(reward, quality).statistic)
                entry["spearman"] = float(stats.spearmanr(reward, quality).statistic)
        discordant = []
        for i in range(len(names)):
            for j in range(i + 1, len(names)):
                reward_gap, quality_gap = reward[i] - reward[j], quality[i] - quality[j]
                if reward_gap * quality_gap < 0:
                    by_reward, by_metric = (names[i], names[j]) if reward_gap > 0 else (names[j], names[i])
                    discordant.append({"reward_prefers": by_reward, "metric_prefers": by_metric,
                                       "reward_gap": abs(float(reward_gap)), "metric_gap": abs(float(quality_gap))})
        entry["pairs"] = len(names) * (len(names) - 1) // 2
        entry["discordant"] = sorted(discordant, key=lambda d: -d["metric_gap"])
        out["production"][metric] = entry  # type: ignore[index]
    return out


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
