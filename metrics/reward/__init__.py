"""The reward: a gated, weighted (or formula) scalar over named components, shared by the Nova RFT reward
Lambda (lambda_handler.py) and evaluation (`rft-evals run`). Standard library only; boto3 only in
bedrock_judge.py, imported when a judge is configured.

    config = RewardConfig.from_mapping(data, source)          # config.py (formula.py for `formula:`)
    reward_judge(config.judge) -> rubric | scale | preference  # judge_kinds/: the judge a reward reads
    needs_judge(values, errors, config) -> bool                # compute.py: gates run before any judge call
    compute_reward(values, errors, judge_scores, judge_error, config) -> RewardResult
    reward_for_sample(output_text, reference, score, config, judge) -> (SampleScore, RewardResult)  # run path
"""

from metrics.reward.compute import Component, RewardResult, compute_reward, needs_judge
from metrics.reward.config import RewardConfig, RewardConfigError
from metrics.reward.sample import reward_for_sample, reward_from_record

__all__ = ["Component", "RewardConfig", "RewardConfigError", "RewardResult", "compute_reward", "needs_judge",
           "reward_for_sample", "reward_from_record"]
