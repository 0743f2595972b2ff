"""Judges by kind (conf/judge/*.yaml `kind:`), built from a plain mapping. Standard library only."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from metrics.judges.base import Judge, JudgeConfigError
from metrics.judges.pairwise import PairwiseJudge
from metrics.judges.rubric import RubricJudge
from metrics.judges.scale import ScaleJudge

JUDGE_KINDS: dict[str, Callable[[Mapping[str, Any]], Judge]] = {
    "rubric": RubricJudge.from_config,
    "scale": ScaleJudge.from_config,
    "pairwise": PairwiseJudge.from_config,
}


def judge_from_config(cfg: Mapping[str, Any]) -> Judge:
    if not isinstance(cfg, Mapping):
        raise JudgeConfigError(f"a judge config must be a mapping, got {type(cfg).__name__}")
    kind = cfg.get("kind")
    if not isinstance(kind, str) or kind not in JUDGE_KINDS:
        raise JudgeConfigError(f"judge config {cfg.get('name', '?')!r}: kind {kind!r} is not known; "
                               f"use one of {sorted(JUDGE_KINDS)} in conf/judge/*.yaml")
    return JUDGE_KINDS[kind](cfg)
