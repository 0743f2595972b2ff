"""`judge.kind: scale`: the case study's 1-5 judge (metrics/judges/scale.py) as reward scores.

The judge scores each comment 1-5 on each dimension d. With s(i, d) the score of comment i on d and n the
number of comments judged:

    <d>   = (mean_i s(i, d) - 1) / 4                      one score per dimension, in [0, 1]
    scale = (mean_i mean_d s(i, d) - 1) / 4               the judge's judge_score, in [0, 1]

(5 -> 1.0, 3 -> 0.5, 1 -> 0.0.) An empty answer scores 1 everywhere without a call (0.0); an answer with an
empty comment list has nothing to score and gets the judge's `neutral_score` (default 0.5) on every score,
without a call; an unreadable verdict is re-asked once, then fails the part (judge_parse_error: the neutral
reward). Standard library only."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from metrics.judges.base import JudgeConfigError
from metrics.judges.scale import HIGH, LOW, ScaleJudge
from metrics.judges.types import JudgeSample
from metrics.reward.judge_kinds.base import SAMPLE_ID, Send, ask_all, unknown_part

OVERALL = "scale"
PART = "all"


def unit(mean_score: float) -> float:
    """A mean 1-5 score mapped linearly onto [0, 1]."""
    return (mean_score - LOW) / (HIGH - LOW)


class ScaleKind:
    kind = "scale"

    def __init__(self, judge: ScaleJudge):
        if OVERALL in {d.name for d in judge.dimensions}:
            raise JudgeConfigError(f"judge {judge.settings.name!r}: {OVERALL!r} names the overall score; "
                                   "rename that dimension")
        self.judge = judge

    @classmethod
    def from_config(cls, config: Mapping[str, Any], source: str = "<reward config>") -> ScaleKind:
        if not isinstance(config.get("dimensions"), list):
            raise ValueError(f"{source}: key judge.dimensions: a scale judge needs a list of {{name, question}} "
                             "as in conf/judge/contract_review_scale.yaml")
        try:
            return cls(ScaleJudge.from_config({"name": "reward_judge", **config, "kind": "scale"}))
        except JudgeConfigError as exc:
            raise ValueError(f"{source}: key judge: {exc}") from None

    @property
    def criteria(self) -> tuple[str, ...]:
        return (OVERALL, *(d.name for d in self.judge.dimensions))

    def parts_for(self, criteria: tuple[str, ...]) -> tuple[str, ...]:
        return (PART,)  # every comment on every dimension in one call

    def score_part(self, part: str, output_text: str, reference: Any, document: str, reference_text: str,
                   send: Send) -> dict[str, float]:
        if part != PART:
            raise unknown_part(part, self.kind, [PART])
        sample = JudgeSample(SAMPLE_ID, output_text, document, reference_text)
        requests, decided = self.judge.plan(sample)
        verdicts = [*decided, *ask_all(self.judge, requests, send)]
        values = self.judge.combine(sample, verdicts).values
        comments = values.get("judge_scale_comments", 0.0)
        neutral = self.judge.settings.neutral_score
        out = {OVERALL: values["judge_score"]}
        for d in self.judge.dimensions:
            out[d.name] = unit(values[f"judge_scale/{d.name}_sum"] / comments) if comments else neutral
        return out
