"""Judge kinds a reward may use (`judge.kind:` in conf/reward/*.yaml), one module each:

    rubric      metrics/judges/rubric.py    pass/fail criteria -> 1.0 / 0.0 each
    scale       metrics/judges/scale.py     1-5 per comment and dimension -> [0, 1]
    preference  metrics/judges/pairwise.py  the answer vs a reference answer, both orders -> 1 / 0.5 / 0

`reward_judge(config, source)` builds the kind a reward config's `judge:` section names; a kind is a builder
`(judge mapping, source) -> RewardJudgeKind`, and plug-ins add kinds through entry points in group
`rft_evals.reward_judges`. Standard library only."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from metrics.plugin_registry import Registry
from metrics.reward.judge_kinds.base import RewardJudgeKind, Send, ask, check_mapping

DEFAULT_KIND = "rubric"
RewardJudgeBuilder = Callable[[Mapping[str, Any], str], RewardJudgeKind]

REWARD_JUDGE_KINDS: Registry[RewardJudgeBuilder] = Registry("reward judge kind", "rft_evals.reward_judges")
REWARD_JUDGE_KINDS.register("rubric", "metrics.reward.judge_kinds.rubric:RubricKind.from_config")
REWARD_JUDGE_KINDS.register("scale", "metrics.reward.judge_kinds.scale:ScaleKind.from_config")
REWARD_JUDGE_KINDS.register("preference", "metrics.reward.judge_kinds.preference:PreferenceKind.from_config")
ALIASES = {"pairwise": "preference"}  # the kind conf/judge/pairwise.yaml names


def kind_name(config: Mapping[str, Any]) -> str:
    kind = config.get("kind", DEFAULT_KIND)
    return ALIASES.get(kind, kind) if isinstance(kind, str) else kind


def reward_judge(config: Any, source: str = "<reward config>") -> RewardJudgeKind:
    """The judge kind of a reward config's `judge:` section; raises ValueError naming the key and the fix."""
    config = check_mapping(config, source)
    build = REWARD_JUDGE_KINDS.lookup(kind_name(config), f"{source}: key judge.kind")
    return build(config, source)


__all__ = ["REWARD_JUDGE_KINDS", "RewardJudgeKind", "Send", "ask", "kind_name", "reward_judge"]
