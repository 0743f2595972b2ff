"""Where a sample's reference is, for every runtime: the one function the Lambda, the TRL adapter and the verl
adapter call, so a reference found by one is found by all.

Looked up in this order: `reference_answer` at the top level (Nova on SageMaker, the TRL column), under
`metadata` (Bedrock, HyperPod), verl's `reward_model.ground_truth`, a bare `ground_truth`. A string is
decoded as JSON (exports write references as JSON text: Arrow would merge differently shaped objects).

    reference_from(sample) -> the decoded reference, or MissingReferenceError naming where it looked"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

REFERENCE_KEY = "reference_answer"


class MissingReferenceError(ValueError):
    """The sample has no usable reference; the message says where it was looked for."""


def _raw(sample: Mapping[str, Any], key: str) -> tuple[bool, Any]:
    if key in sample:
        return True, sample[key]
    metadata = sample.get("metadata")
    if isinstance(metadata, Mapping) and key in metadata:
        return True, metadata[key]
    reward_model = sample.get("reward_model")
    if isinstance(reward_model, Mapping) and "ground_truth" in reward_model:
        return True, reward_model["ground_truth"]
    if "ground_truth" in sample:
        return True, sample["ground_truth"]
    return False, None


def reference_from(sample: Mapping[str, Any], key: str = REFERENCE_KEY) -> Any:
    found, reference = _raw(sample, key)
    if not found:
        raise MissingReferenceError(f"no {key} at the top level nor under metadata, and no "
                                    "reward_model.ground_truth")
    if reference is None:
        raise MissingReferenceError(f"{key} is null")
    if isinstance(reference, (str, bytes)):
        try:
            reference = json.loads(reference)
        except (ValueError, RecursionError):  # not JSON, nested too deeply, or an integer past 4,300 digits
            raise MissingReferenceError(f"{key} is a string that is not JSON") from None
    return reference
