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
from metrics.review_spec import review_spec_from_dict as spec_from_dict  # noqa: F401 - the names importers know
from metrics.review_spec import review_spec_to_dict as spec_to_dict  # noqa: F401
from metrics.reward.config import RewardConfig
from metrics.scorers import SCORERS, ScorerSpecError, build_scorer
from metrics.types import SampleScore

BUNDLE_VERSION = 1


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
            self._score = build_scorer(self.scorer, self.spec)
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
        if not isinstance(data.get("spec"), Mapping):
            raise BundleError(f"{source}: key spec: the scorer's spec must be an object; rebuild the bundle")
        bundle = cls(str(data.get("task")), scorer, data["spec"], reward, str(data.get("reference_text") or ""),
                     dict(data.get("meta") or {}))
        try:  # built now: a malformed spec is the bundle's error, not every sample's
            bundle._score = build_scorer(scorer, data["spec"])
        except ScorerSpecError as exc:
            raise BundleError(f"{source}: {exc}") from None
        return bundle

    @classmethod
    def from_json(cls, path: Path | str) -> RewardBundle:
        path = Path(path)
        data = read_json_file(path, "reward bundle",
                              "build it with scripts/build_lambda.sh or set REWARD_BUNDLE to its path", BundleError)
        return cls.from_dict(data, str(path))
