"""Everything the reward Lambda needs, resolved at build time into one JSON file: the reward config, the
scorer and its spec (categories, levels, allowed actions, output schema), and the Reference text the judge
reads. The Lambda thus needs no data files, no YAML and no task code: only metrics/ and boto3.

    bundle = RewardBundle.from_json(path)
    bundle.score(output_text, reference) -> SampleScore   # the same call evaluation makes"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from metrics.json_file import read_json_file
from metrics.review_spec import ReviewSpec
from metrics.reward.config import RewardConfig
from metrics.types import SampleScore

BUNDLE_VERSION = 1


def spec_to_dict(spec: ReviewSpec) -> dict[str, Any]:
    return {
        "categories": list(spec.categories),
        "assessments": dict(spec.assessments),
        "allowed_actions": [[risk, assessment, sorted(actions)]
                            for (risk, assessment), actions in sorted(spec.allowed_actions.items())],
        "output_schema": spec.output_schema,
        "min_excerpt_chars": spec.min_excerpt_chars,
        "max_output_chars": spec.max_output_chars,
        "prohibited_terms": list(spec.prohibited_terms),
        "language": spec.language,
        "extra": dict(spec.extra),
    }


def spec_from_dict(data: Mapping[str, Any]) -> ReviewSpec:
    return ReviewSpec(
        categories=tuple(data["categories"]),
        assessments={str(k): int(v) for k, v in data["assessments"].items()},
        allowed_actions={(risk, assessment): frozenset(actions)
                         for risk, assessment, actions in data["allowed_actions"]},
        output_schema=data["output_schema"],
        min_excerpt_chars=int(data["min_excerpt_chars"]),
        max_output_chars=int(data["max_output_chars"]),
        prohibited_terms=tuple(data["prohibited_terms"]),
        language=str(data["language"]),
        extra=dict(data.get("extra") or {}),
    )


def _comment_review(spec_data: Mapping[str, Any]) -> Callable[[str, Any], SampleScore]:
    from metrics import comment_review

    spec = spec_from_dict(spec_data)
    return lambda output_text, reference: comment_review.score(output_text, reference, spec)


# scorer name -> builder(spec dict) -> score(output_text, reference)
SCORERS: dict[str, Callable[[Mapping[str, Any]], Callable[[str, Any], SampleScore]]] = {
    "comment_review": _comment_review,
}


class BundleError(ValueError):
    """The reward bundle is missing or malformed."""


@dataclass
class RewardBundle:
    task: str
    scorer: str
    spec: Mapping[str, Any]
    reward: RewardConfig
    reference_text: str = ""  # the Reference as the judge reads it
    meta: Mapping[str, Any] = field(default_factory=dict)
    _score: Callable[[str, Any], SampleScore] | None = field(default=None, repr=False)

    def score(self, output_text: str, reference: Any) -> SampleScore:
        if self._score is None:
            self._score = SCORERS[self.scorer](self.spec)
        return self._score(output_text, reference)

    def to_dict(self) -> dict[str, Any]:
        return {"version": BUNDLE_VERSION, "task": self.task, "scorer": self.scorer, "spec": self.spec,
                "reward": self.reward.to_dict(), "reward_source": self.reward.source,
                "reference_text": self.reference_text, "meta": dict(self.meta)}

    def write(self, path: Path | str) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), ensure_ascii=False, indent=1, sort_keys=True), encoding="utf-8")
        return path

    @classmethod
    def from_dict(cls, data: Any, source: str = "<reward bundle>") -> RewardBundle:
        if not isinstance(data, Mapping) or data.get("version") != BUNDLE_VERSION:
            raise BundleError(f"{source}: not a reward bundle of version {BUNDLE_VERSION}; rebuild it with "
                              "scripts/build_lambda.sh or `rft-evals reward bundle`")
        scorer = data.get("scorer")
        if scorer not in SCORERS:
            raise BundleError(f"{source}: key scorer: {scorer!r} is not known; known: {sorted(SCORERS)}")
        reward = RewardConfig.from_mapping(data.get("reward"), str(data.get("reward_source") or source))
        return cls(str(data.get("task")), scorer, data["spec"], reward, str(data.get("reference_text") or ""),
                   dict(data.get("meta") or {}))

    @classmethod
    def from_json(cls, path: Path | str) -> RewardBundle:
        path = Path(path)
        data = read_json_file(path, "reward bundle",
                              "build it with scripts/build_lambda.sh or set REWARD_BUNDLE to its path", BundleError)
        return cls.from_dict(data, str(path))
