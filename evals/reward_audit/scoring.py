"""Scoring policies through the reward Lambda's own code path: every answer becomes a Nova reward event
sample, the events go through metrics.reward.lambda_handler.handle with the bundle built in-process, and the
rewards and components are read from aggregate_reward_score and metrics_list. Production metrics come from
the task's evaluation scorer (task.score, task.aggregates), as `rft-evals run` computes them."""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from evals.reward_audit.policies import Item, Policy
from metrics.aggregates import Aggregate, run_value
from metrics.reward.bundle import RewardBundle

EVENT_BATCH = 64  # samples per invocation, as SageMaker training jobs send them


def audit_bundle(task: Any, reward: Any) -> RewardBundle:
    """The Lambda bundle of a task and reward config, built as `rft-evals reward bundle` builds it."""
    from evals.rft.bundle import build_bundle

    return build_bundle(task, reward)


@dataclass
class PolicyScores:
    """One policy's answers, scored."""

    policy: str
    kind: str
    rewards: list[float]
    components: dict[str, list[float]]  # Reward-type component -> per-sample values
    gated: int = 0  # samples whose reward a gate set
    neutral: int = 0  # samples that got the neutral reward (an error)
    metrics: dict[str, float] = field(default_factory=dict)  # production aggregates over the samples
    judge_aimed: bool = False
    description: str = ""

    @property
    def n(self) -> int:
        return len(self.rewards)

    @property
    def mean_reward(self) -> float:
        return sum(self.rewards) / len(self.rewards) if self.rewards else math.nan


def event_sample(sample_id: str, item: Item, answer: str, reference: Any) -> dict[str, Any]:
    return {"id": sample_id, "messages": [{"role": "user", "content": str(item.get("document", ""))[:200]},
                                          {"role": "assistant", "content": answer}],
            "reference_answer": reference}


def handler_rewards(bundle: RewardBundle, samples: Sequence[Mapping[str, Any]], judge: Any = None,
                    ) -> list[dict[str, Any]]:
    """The handler's results for the samples, invoked in batches of EVENT_BATCH."""
    from evals.rft.bundle import LocalContext
    from metrics.reward.lambda_handler import handle

    results: list[dict[str, Any]] = []
    for start in range(0, len(samples), EVENT_BATCH):
        event = list(samples[start:start + EVENT_BATCH])
        results.extend(handle(event, LocalContext(), bundle, judge, log_stream=io.StringIO()))
    return results


def corpus_value(aggregate: Aggregate, records: Sequence[Mapping[str, float]]) -> float:
    """The run-level value of an aggregate (the point estimate evals/stats/estimate.py computes), NaN when
    undefined: metrics/aggregates.py RULES."""
    return run_value(aggregate, records)


def score_policy(policy: Policy, items: Sequence[Item], task: Any, bundle: RewardBundle, judge: Any = None,
                 answers: Mapping[str, str] | None = None) -> PolicyScores:
    """`answers` (item id -> text) replaces the policy's own answers (recorded runs)."""
    samples, values = [], []
    for item in items:
        item_id = str(item["id"])
        if answers is not None and item_id not in answers:
            continue
        text = answers[item_id] if answers is not None else policy.write(item)
        reference = task.reference(item)
        samples.append(event_sample(f"{policy.name}:{item_id}", item, text, reference))
        values.append(task.score(text, reference).values)
    results = handler_rewards(bundle, samples, judge)
    reward_names = {c.name for c in bundle.reward.components if c.report == "Reward"}
    components: dict[str, list[float]] = {name: [] for name in sorted(reward_names)}
    neutral = 0
    for result in results:
        metrics = {m["name"]: m["value"] for m in result["metrics_list"]}
        for name in components:
            if name in metrics:
                components[name].append(float(metrics[name]))
        neutral += metrics.get("neutral", 0.0) >= 1.0
    rewards = [float(r["aggregate_reward_score"]) for r in results]
    gated = sum(1 for r, result in zip(rewards, results, strict=True) if _gated(result, bundle))
    production = {a.name: corpus_value(a, values) for a in task.aggregates()}
    return PolicyScores(policy.name, policy.kind, rewards, components, gated, int(neutral), production,
                        policy.judge_aimed, policy.description)


def _gated(result: Mapping[str, Any], bundle: RewardBundle) -> bool:
    metrics = {m["name"]: m["value"] for m in result["metrics_list"]}
    return any(g.component in metrics and metrics[g.component] < g.min for g in bundle.reward.gates)
