"""The audit of one task and reward: build the task and the Lambda bundle, write every policy's answers,
score them through the handler, and compute the figures and the gate."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from evals.reward_audit import figures
from evals.reward_audit.policies import RUN, Policy, family_for
from evals.reward_audit.scoring import PolicyScores, audit_bundle, score_policy
from metrics.reward.bundle import RewardBundle


@dataclass
class PolicySummary:
    name: str
    kind: str
    n: int
    reward: float
    ci: tuple[float, float]
    metrics: dict[str, float]
    components: dict[str, float]  # mean value of each Reward component
    attribution: dict[str, float]  # each component's share of the mean reward (weighted configs)
    gated: float  # share of samples a gate decided
    neutral: float  # share of samples with the neutral reward
    judge_aimed: bool = False
    description: str = ""


@dataclass
class AuditResult:
    task: str
    reward: str
    headline: str
    items: int
    policies: list[PolicySummary]
    agreement: list[figures.RankAgreement]
    gate: figures.GateResult
    judge: Mapping[str, Any] | None = None  # the judge-path audit, when the reward has judge criteria
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.gate.passed and (self.judge is None or bool(self.judge.get("passed")))

    @property
    def reasons(self) -> list[str]:
        reasons = list(self.gate.reasons)
        if self.judge is not None and not self.judge.get("passed"):
            reasons.append(f"judge-aimed policy {self.judge['best']!r} earns {self.judge['best_reward']:.4f} with a "
                           f"judge it fools, not less than the weakest honest policy at "
                           f"{self.judge['weakest_honest']:.4f}")
        return reasons


def summarize(scores: PolicyScores, bundle: RewardBundle, seed: int = 0) -> PolicySummary:
    means = {name: (sum(v) / len(v) if v else math.nan) for name, v in scores.components.items()}
    n = max(1, scores.n)
    return PolicySummary(scores.policy, scores.kind, scores.n, scores.mean_reward,
                         figures.mean_ci(scores.rewards, seed=seed), scores.metrics, means,
                         figures.attribution(means, bundle.reward), scores.gated / n, scores.neutral / n,
                         scores.judge_aimed, scores.description)


def agreement_table(summaries: Sequence[PolicySummary]) -> list[figures.RankAgreement]:
    names = sorted({k for s in summaries for k in s.metrics})
    rewards = [s.reward for s in summaries]
    return [figures.rank_agreement(name, rewards, [s.metrics.get(name, math.nan) for s in summaries])
            for name in names]


def audit(task: Any, bundle: RewardBundle, items: Sequence[Mapping[str, Any]], *, headline: str | None = None,
          policies: Sequence[Policy] | None = None, runs: Mapping[str, Mapping[str, str]] | None = None,
          judge: Any = None, seed: int = 0, thresholds: Any = None) -> AuditResult:
    """`runs`: recorded answers, policy name -> {item id -> answer text}. `thresholds` replaces the reward
    config's `audit:` gate (AuditThresholds)."""
    from evals.inference.progress import ProgressBar

    family = family_for(bundle.scorer)
    chosen = list(policies) if policies is not None else family.build(task, items)
    bar = ProgressBar("reward audit: policies", len(chosen) + len(runs or {}))
    try:
        scored = []
        for p in chosen:
            scored.append(score_policy(p, items, task, bundle, judge))
            bar.advance()
        for name, answers in (runs or {}).items():
            run_policy = Policy(name, RUN, lambda item, rng: "", "recorded answers of an earlier run")
            scored.append(score_policy(run_policy, items, task, bundle, judge, answers=answers))
            bar.advance()
    finally:
        bar.close()
    summaries = [summarize(s, bundle, seed) for s in scored]
    metric = headline or family.headline
    points = [figures.PolicyPoint(s.name, s.kind, s.reward, s.metrics.get(metric, math.nan), tuple(p.rewards))
              for s, p in zip(summaries, scored, strict=True)]
    result = figures.gate(points, metric, thresholds or bundle.reward.audit)
    return AuditResult(bundle.task, bundle.reward.name, metric, len(items), summaries, agreement_table(summaries),
                       result)


def build_audit(task_cfg: Mapping[str, Any], reward: Any, *, limit: int | None = None, seed: int = 0,
                data_root: str | None = None) -> tuple[Any, RewardBundle, list[dict[str, Any]]]:
    """The task, its bundle and the audited items (a seeded sample of `limit`, or the whole split)."""
    from tasks.registry import build_task

    task = build_task(task_cfg, data_root=data_root)
    bundle = audit_bundle(task, reward)
    split = str(task_cfg.get("split") or getattr(getattr(task, "config", None), "split", None) or "test")
    dataset = task.load(split)
    if limit is not None:
        dataset = task.select(dataset, limit, seed)
    return task, bundle, [dict(row) for row in dataset]
