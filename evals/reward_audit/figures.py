"""The audit's figures, from per-policy summaries (mean reward, production metrics, component means):

- rank agreement: Kendall tau-b and Spearman rho between mean reward and a production metric across policies;
- hackability margins: the weakest honest policy whose metric reaches the quality floor, minus the best
  degenerate policy; and the best baseline minus the best degenerate policy (> 0: no degenerate answer pays);
- attribution: how much each reward component adds to a policy's mean reward;
- paired margins: the same differences item by item (both policies answer the same items), with the lower
  bound of a normal confidence interval of the mean difference, so a margin inside the noise does not pass;
- the gate: tau over honest policies and baselines >= min_kendall, both margins above their minimum (on the
  paired lower bounds when `paired_confidence` > 0)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from evals.reward_audit.policies import BASELINE, DEGENERATE, HONEST
from metrics.reward.config import AuditThresholds, RewardConfig


@dataclass(frozen=True)
class PolicyPoint:
    name: str
    kind: str
    reward: float  # mean reward
    metric: float  # the headline production metric
    rewards: tuple[float, ...] = ()  # per item, in the audited items' order (for the paired margins)


@dataclass(frozen=True)
class RankAgreement:
    metric: str
    kendall: float
    spearman: float
    n: int


def rank_agreement(metric: str, rewards: Sequence[float], values: Sequence[float]) -> RankAgreement:
    """Kendall tau-b and Spearman rho over the pairs where both are defined; NaN with fewer than 3 or when
    one side is constant."""
    from scipy.stats import kendalltau, spearmanr

    pairs = [(r, v) for r, v in zip(rewards, values, strict=True) if math.isfinite(r) and math.isfinite(v)]
    if len(pairs) < 3 or len({r for r, _ in pairs}) < 2 or len({v for _, v in pairs}) < 2:
        return RankAgreement(metric, math.nan, math.nan, len(pairs))
    x, y = zip(*pairs, strict=True)
    return RankAgreement(metric, float(kendalltau(x, y).statistic), float(spearmanr(x, y).statistic), len(pairs))


@dataclass(frozen=True)
class Margins:
    best_degenerate: str | None
    best_degenerate_reward: float
    weakest_honest: str | None  # the lowest-reward honest policy whose metric reaches the floor
    weakest_honest_reward: float
    honest_margin: float  # weakest_honest_reward - best_degenerate_reward
    best_baseline: str | None
    best_baseline_reward: float
    baseline_margin: float  # best_baseline_reward - best_degenerate_reward (NaN without a baseline)


def _best(points: Sequence[PolicyPoint]) -> PolicyPoint | None:
    return max(points, key=lambda p: p.reward) if points else None


def _degenerate(points: Sequence[PolicyPoint]) -> list[PolicyPoint]:
    return [p for p in points if p.kind == DEGENERATE]


def _honest_at_floor(points: Sequence[PolicyPoint], quality_floor: float) -> list[PolicyPoint]:
    """The honest policies the gate protects: those whose headline metric reaches the floor."""
    return [p for p in points if p.kind == HONEST and math.isfinite(p.metric) and p.metric >= quality_floor]


def _best_baseline(points: Sequence[PolicyPoint]) -> PolicyPoint | None:
    return _best([p for p in points if p.kind == BASELINE])


def margins(points: Sequence[PolicyPoint], quality_floor: float) -> Margins:
    degenerate = _best(_degenerate(points))
    honest = _honest_at_floor(points, quality_floor)
    weakest = min(honest, key=lambda p: p.reward) if honest else None
    baseline = _best_baseline(points)
    worst = degenerate.reward if degenerate else math.nan
    return Margins(
        degenerate.name if degenerate else None, worst,
        weakest.name if weakest else None, weakest.reward if weakest else math.nan,
        (weakest.reward - worst) if weakest and degenerate else math.nan,
        baseline.name if baseline else None, baseline.reward if baseline else math.nan,
        (baseline.reward - worst) if baseline and degenerate else math.nan,
    )


@dataclass(frozen=True)
class PairedMargin:
    better: str  # the honest policy or baseline that must earn more
    worse: str  # the degenerate policy
    mean: float  # mean per-item difference better - worse
    lower: float  # its lower confidence bound
    n: int


def paired_margin(better: PolicyPoint, worse: PolicyPoint, confidence: float) -> PairedMargin:
    """Mean of the per-item reward differences and the lower bound of its normal confidence interval."""
    from statistics import NormalDist, fmean, stdev

    if len(better.rewards) != len(worse.rewards) or not better.rewards:
        raise ValueError(f"paired margin of {better.name!r} and {worse.name!r} needs per-item rewards on the same "
                         f"items, got {len(better.rewards)} and {len(worse.rewards)}")
    diffs = [b - w for b, w in zip(better.rewards, worse.rewards, strict=True)]
    mean = fmean(diffs)
    spread = stdev(diffs) / math.sqrt(len(diffs)) if len(diffs) > 1 else math.inf
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    return PairedMargin(better.name, worse.name, mean, mean - z * spread, len(diffs))


def weakest_pairs(points: Sequence[PolicyPoint], quality_floor: float,
                  confidence: float) -> tuple[PairedMargin | None, PairedMargin | None]:
    """The pair with the smallest lower bound among (honest policy at or above the floor, degenerate policy)
    and among (best baseline, degenerate policy); None where a side is missing."""
    degenerate = _degenerate(points)
    baseline = _best_baseline(points)

    def weakest(better: Sequence[PolicyPoint]) -> PairedMargin | None:
        pairs = [paired_margin(b, d, confidence) for b in better for d in degenerate]
        return min(pairs, key=lambda pm: pm.lower) if pairs else None

    return weakest(_honest_at_floor(points, quality_floor)), weakest([baseline] if baseline else [])


def attribution(component_means: Mapping[str, float], config: RewardConfig) -> dict[str, float]:
    """Each component's share of the mean reward on the unit scale: weight * mean / total weight for a
    weighted config. A formula has no additive split: its component means are returned as they are."""
    if config.formula is not None:
        return dict(component_means)
    total = sum(c.weight for c in config.components)
    weights = {c.name: c.weight for c in config.components}
    return {name: weights.get(name, 0.0) * value / total for name, value in component_means.items()
            if weights.get(name, 0.0) > 0}


@dataclass(frozen=True)
class GateResult:
    passed: bool
    reasons: tuple[str, ...] = ()  # why it failed, each naming the policy
    kendall: RankAgreement | None = None
    margins: Margins | None = None
    checks: dict[str, bool] = field(default_factory=dict)
    paired_honest: PairedMargin | None = None  # the weakest paired margin, honest vs degenerate
    paired_baseline: PairedMargin | None = None

    @property
    def paired(self) -> dict[str, PairedMargin]:
        """The paired margins that were computed, by side ("honest", "baseline")."""
        return {label: pair for label, pair in (("honest", self.paired_honest), ("baseline", self.paired_baseline))
                if pair is not None}


def gate(points: Sequence[PolicyPoint], metric: str, thresholds: AuditThresholds) -> GateResult:
    ranked = [p for p in points if p.kind in (HONEST, BASELINE)]
    tau = rank_agreement(metric, [p.reward for p in ranked], [p.metric for p in ranked])
    m = margins(points, thresholds.quality_floor)
    reasons: list[str] = []
    checks = {
        "kendall": math.isnan(tau.kendall) or tau.kendall >= thresholds.min_kendall,
        "honest_margin": math.isnan(m.honest_margin) or m.honest_margin > thresholds.min_margin,
        "baseline_margin": math.isnan(m.baseline_margin) or m.baseline_margin > thresholds.min_baseline_margin,
    }
    if not checks["kendall"]:
        reasons.append(f"Kendall tau between mean reward and {metric} over the honest policies and baselines is "
                       f"{tau.kendall:.3f} < {thresholds.min_kendall}")
    if not checks["honest_margin"]:
        reasons.append(f"degenerate policy {m.best_degenerate!r} earns {m.best_degenerate_reward:.4f}, not less "
                       f"than honest policy {m.weakest_honest!r} ({metric} >= {thresholds.quality_floor}) "
                       f"at {m.weakest_honest_reward:.4f}")
    if not checks["baseline_margin"]:
        reasons.append(f"degenerate policy {m.best_degenerate!r} earns {m.best_degenerate_reward:.4f}, not less "
                       f"than the best baseline {m.best_baseline!r} at {m.best_baseline_reward:.4f}")
    paired_honest = paired_baseline = None
    if thresholds.paired_confidence > 0 and all(p.rewards for p in points if p.kind in (HONEST, BASELINE, DEGENERATE)):
        paired_honest, paired_baseline = weakest_pairs(points, thresholds.quality_floor, thresholds.paired_confidence)
        level = f"{thresholds.paired_confidence:.0%}"
        for key, pair, minimum in (("paired_honest_margin", paired_honest, thresholds.min_margin),
                                   ("paired_baseline_margin", paired_baseline, thresholds.min_baseline_margin)):
            checks[key] = pair is None or pair.lower > minimum
            if not checks[key]:
                reasons.append(f"degenerate policy {pair.worse!r} is not below {pair.better!r} item by item: the mean "
                               f"paired difference is {pair.mean:.4f}, its {level} lower bound {pair.lower:.4f} "
                               f"<= {minimum}")
    return GateResult(not reasons, tuple(reasons), tau, m, checks, paired_honest, paired_baseline)


def mean_ci(values: Sequence[float], resamples: int = 1000, seed: int = 0,
            confidence: float = 0.95) -> tuple[float, float]:
    """A percentile bootstrap interval of the mean."""
    import numpy as np

    if not values:
        return math.nan, math.nan
    data = np.asarray(values, dtype=float)
    rng = np.random.default_rng(seed)
    means = data[rng.integers(0, len(data), size=(resamples, len(data)))].mean(axis=1)
    alpha = (1 - confidence) / 2
    low, high = np.quantile(means, [alpha, 1 - alpha])
    return float(low), float(high)
