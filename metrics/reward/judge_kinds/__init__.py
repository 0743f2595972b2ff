"""Judge kinds a reward may use (`judge.kind:` in conf/reward/*.yaml), one module each:

    rubric      metrics/judges/rubric.py    pass/fail criteria -> 1.0 / 0.0 each
    scale       metrics/judges/scale.py     1-5 per comment and dimension -> [0, 1]
    preference  metrics/judges/pairwise.py  the answer vs a reference answer, both orders -> 1 / 0.5 / 0

`reward_judge(config, source)` builds the kind a reward config's `judge:` section names. Standard library
only."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from metrics.reward.judge_kinds.base import RewardJudgeKind, Send, ask, check_mapping
from metrics.reward.judge_kinds.preference import PreferenceKind
from metrics.reward.judge_kinds.rubric import RubricKind
from metrics.reward.judge_kinds.scale import ScaleKind

DEFAULT_KIND = "rubric"
REWARD_JUDGE_KINDS: dict[str, Callable[[Mapping[str, Any], str], RewardJudgeKind]] = {
    "rubric": RubricKind.from_config,
    "scale": ScaleKind.from_config,
    "preference": PreferenceKind.from_config,
}
ALIASES = {"pairwise": "preference"}  # the kind conf/judge/pairwise.yaml names


def kind_name(config: Mapping[str, Any]) -> str:
    kind = config.get("kind", DEFAULT_KIND)
    return ALIASES.get(kind, kind) if isinstance(kind, str) else kind


def reward_judge(config: Any, source: str = "<reward config>") -> RewardJudgeKind:
    """The judge kind of a reward config's `judge:` section; raises ValueError naming the key and the fix."""
    config = check_mapping(config, source)
    kind = kind_name(config)
    if kind not in REWARD_JUDGE_KINDS:
        raise ValueError(f"{source}: key judge.kind: {kind!r} is not a reward judge kind; use one of "
                         f"{sorted(REWARD_JUDGE_KINDS)}")
    return REWARD_JUDGE_KINDS[kind](config, source)


__all__ = ["REWARD_JUDGE_KINDS", "RewardJudgeKind", "Send", "ask", "kind_name", "reward_judge"]
