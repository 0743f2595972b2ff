"""The checkpoint sweep's numbers: per RFT step, each metric's value with its 95% CI (from the evaluation run's
summary.json), and the divergence flags: a step where the reward rose over the starting point (the SFT model,
step 0) while a production metric fell below the start's value by more than its own CI reaches (the
reward-hacking alarm: the policy earns more reward while getting worse at the job). Pure functions over
summary dicts; no I/O."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

REWARD = "reward"
PRODUCTION = ("risk_f1", "schema_valid", "grounding", "assessment_accuracy", "action_compliance")


@dataclass(frozen=True)
class Point:
    step: int
    value: float
    ci_low: float
    ci_high: float
    n: int


@dataclass(frozen=True)
class Divergence:
    step: int
    metric: str
    reward_gain: float  # reward at the step minus at step 0
    metric_value: float
    metric_start: float  # step 0's value, above the step's CI high

    def describe(self) -> str:
        return (f"step {self.step}: reward +{self.reward_gain:.3f} over step 0 while {self.metric} fell to "
                f"{self.metric_value:.3f} (step 0: {self.metric_start:.3f}, outside the step's 95% CI)")


def _point(step: int, entry: Mapping[str, Any]) -> Point | None:
    value = entry.get("value")
    if value is None or not math.isfinite(float(value)):
        return None
    low, high = entry.get("ci_low"), entry.get("ci_high")
    return Point(step, float(value), float(low if low is not None else value),
                 float(high if high is not None else value), int(entry.get("n") or 0))


def curves(summaries: Mapping[int, Mapping[str, Any]], metrics: Sequence[str] = (REWARD, *PRODUCTION)
           ) -> dict[str, list[Point]]:
    """metric -> points by step, from {step: summary entry of that step's candidate}."""
    out: dict[str, list[Point]] = {}
    for metric in metrics:
        points = [p for step in sorted(summaries)
                  if (p := _point(step, (summaries[step].get("metrics") or {}).get(metric) or {})) is not None]
        if points:
            out[metric] = points
    return out


def divergences(series: Mapping[str, Sequence[Point]], reward: str = REWARD) -> list[Divergence]:
    rewards = {p.step: p for p in series.get(reward, ())}
    if not rewards:
        return []
    start_step = min(rewards)
    start = rewards[start_step]
    found = []
    for metric, points in series.items():
        if metric == reward:
            continue
        by_step = {p.step: p for p in points}
        if start_step not in by_step:
            continue
        metric_start = by_step[start_step].value
        for step, point in sorted(by_step.items()):
            gained = step in rewards and rewards[step].value > start.value
            if step != start_step and gained and point.ci_high < metric_start:
                found.append(Divergence(step, metric, rewards[step].value - start.value, point.value, metric_start))
    return found


def as_dict(series: Mapping[str, Sequence[Point]], flags: Sequence[Divergence]) -> dict[str, Any]:
    return {"curves": {m: [asdict(p) for p in points] for m, points in series.items()},
            "divergences": [asdict(d) | {"message": d.describe()} for d in flags]}
