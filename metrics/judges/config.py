"""Judges by kind (conf/judge/*.yaml `kind:`), built from a plain mapping. Standard library only.

A kind maps to a builder `cfg mapping -> Judge`; plug-ins add kinds through entry points in group
`rft_evals.judges`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from metrics.judges.base import Judge, JudgeConfigError
from metrics.plugin_registry import Registry

JudgeBuilder = Callable[[Mapping[str, Any]], Judge]

JUDGE_KINDS: Registry[JudgeBuilder] = Registry("judge kind", "rft_evals.judges", JudgeConfigError)
JUDGE_KINDS.register("rubric", "metrics.judges.rubric:RubricJudge.from_config")
JUDGE_KINDS.register("scale", "metrics.judges.scale:ScaleJudge.from_config")
JUDGE_KINDS.register("pairwise", "metrics.judges.pairwise:PairwiseJudge.from_config")


def judge_from_config(cfg: Mapping[str, Any]) -> Judge:
    if not isinstance(cfg, Mapping):
        raise JudgeConfigError(f"a judge config must be a mapping, got {type(cfg).__name__}")
    build = JUDGE_KINDS.lookup(cfg.get("kind"), f"judge config {cfg.get('name', '?')!r} (conf/judge/*.yaml)")
    return build(cfg)
