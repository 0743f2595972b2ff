"""The reward of one sample on the evaluation side (`rft-evals run`), through the very functions the Lambda
uses: the task's scorer, needs_judge, the judge's criterion scores, compute_reward."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from metrics.errors import ClassifiedError
from metrics.reward.compute import ErrorLike, RewardResult, compute_reward, needs_judge
from metrics.reward.config import RewardConfig
from metrics.reward.judge import JudgeClient, judge_sample
from metrics.types import SampleScore


def reward_from_record(values: Mapping[str, float], errors: Sequence[ErrorLike], config: RewardConfig,
                       judge: JudgeClient | None = None, output_text: str | None = None, reference: Any = None,
                       deadline: float | None = None) -> RewardResult:
    """The reward of an already-scored record (its values and errors). With judge components, `judge`,
    `output_text` and `reference` must be given; the judge is called only when no gate fails."""
    judge_scores: dict[str, float] | None = None
    judge_error: ClassifiedError | None = None
    if needs_judge(values, errors, config):
        if judge is None:
            from metrics.errors import ErrorKind

            judge_error = ClassifiedError(ErrorKind.JUDGE, "the reward config has judge components but no judge "
                                          "is configured", "judge")
        else:
            judge_scores, judge_error = judge_sample(judge, config.criteria, output_text or "", reference, deadline)
    return compute_reward(values, errors, judge_scores, judge_error, config)


def reward_for_sample(output_text: str, reference: Any, score: Callable[[str, Any], SampleScore],
                      config: RewardConfig, judge: JudgeClient | None = None) -> tuple[SampleScore, RewardResult]:
    sample_score = score(output_text, reference)
    return sample_score, reward_from_record(sample_score.values, sample_score.errors, config, judge, output_text,
                                            reference)
