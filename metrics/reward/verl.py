"""The reward as a verl custom reward function. In the verl trainer config:

    custom_reward_function:
      path: <site-packages or checkout>/metrics/reward/verl.py
      name: compute_score
      reward_kwargs: {reward_bundle: /abs/path/reward_bundle.json}   # or $REWARD_BUNDLE, or extra_info

`compute_score(data_source, solution_str, ground_truth, extra_info=None, **kwargs)` scores one response with
the bundle's scorer and compute_reward, through the reward Lambda's own batch code, and returns
`{"score": float, <component>: float, ..., "neutral": 0.0|1.0}`; verl logs every key besides "score".
Every configured component is always a key (verl collects the keys per sample into equal-length lists): a
component the reward did not compute for this response (a gate failed, the sample was unscorable) is NaN.

The bundle: kwargs["reward_bundle"] (verl's reward_kwargs), else extra_info["reward_bundle"], else
$REWARD_BUNDLE, else the module default (set_default_bundle). The reference: `ground_truth` (a JSON string
as `rft-evals export-rft format=verl` writes it, or an object), read by metrics/reward/reference.py like every
runtime. No torch / verl import."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Any

from metrics.reward.batch import score_event
from metrics.reward.bundle import RewardBundle
from metrics.reward.judge import JudgeClient
from metrics.reward.lambda_handler import BUNDLE_ENV

BUNDLE_KEY = "reward_bundle"
_default: RewardBundle | str | None = None


def set_default_bundle(bundle: RewardBundle | str | os.PathLike[str] | None) -> None:
    """The bundle used when neither the call nor $REWARD_BUNDLE names one."""
    global _default
    _default = bundle if bundle is None or isinstance(bundle, RewardBundle) else os.fspath(bundle)


def _bundle(extra_info: Any, kwargs: Mapping[str, Any]) -> tuple[RewardBundle, JudgeClient | None]:
    from metrics.reward.trl import load_bundle

    info = extra_info if isinstance(extra_info, Mapping) else {}
    chosen = kwargs.get(BUNDLE_KEY) or info.get(BUNDLE_KEY) or os.environ.get(BUNDLE_ENV) or _default
    if chosen is None:
        raise ValueError(f"verl compute_score: no reward bundle; set custom_reward_function.reward_kwargs."
                         f"{BUNDLE_KEY}, ${BUNDLE_ENV}, extra_info.{BUNDLE_KEY} or call set_default_bundle()")
    return load_bundle(chosen)


def compute_score(data_source: Any, solution_str: str, ground_truth: Any, extra_info: Any = None,
                  **kwargs: Any) -> dict[str, float]:
    bundle, judge = _bundle(extra_info, kwargs)
    sample = {"id": "0", "messages": [{"role": "assistant", "content": solution_str}],
              "reward_model": {"ground_truth": ground_truth}}
    result = score_event([sample], bundle, judge).rewards[0]
    computed = {c.name: c.value for c in result.components}
    out = {"score": result.score}
    out.update({c.name: computed.get(c.name, math.nan) for c in bundle.reward.components})
    out["neutral"] = 1.0 if result.neutral else 0.0
    return out
