"""What an NDA-policy answer is scored against, besides the item's reference: the rules, what the policy
says about a contradiction of each, the schema and its bounds. Built by the task from its policy; JSON-able
(to_dict / from_dict) so the reward Lambda can carry it in its bundle. Standard library only."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from metrics.policy_nli import LABELS


@dataclass(frozen=True)
class PolicyReviewSpec:
    rule_ids: tuple[str, ...]
    assessments: Mapping[str, str]  # rule -> the assessment the policy gives a contradiction of it
    allowed_actions: Mapping[str, frozenset[str]]  # rule -> actions the policy allows on a contradiction
    output_schema: Mapping[str, Any]
    max_evidence: int  # excerpts allowed per rule (the schema's maxItems): recall asks for no more
    labels: tuple[str, ...] = LABELS
    min_excerpt_chars: int = 12  # shorter quotes would match anything: never grounded
    metrics: tuple[str, ...] | None = None  # metric names to run; None = all

    def to_dict(self) -> dict[str, Any]:
        return {"rule_ids": list(self.rule_ids), "assessments": dict(self.assessments),
                "allowed_actions": {r: sorted(a) for r, a in self.allowed_actions.items()},
                "output_schema": self.output_schema, "max_evidence": self.max_evidence,
                "labels": list(self.labels), "min_excerpt_chars": self.min_excerpt_chars,
                "metrics": list(self.metrics) if self.metrics is not None else None}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PolicyReviewSpec:
        metrics = data.get("metrics")
        return cls(tuple(data["rule_ids"]), dict(data["assessments"]),
                   {r: frozenset(a) for r, a in data["allowed_actions"].items()}, data["output_schema"],
                   int(data["max_evidence"]), tuple(data.get("labels", LABELS)),
                   int(data.get("min_excerpt_chars", 12)), tuple(metrics) if metrics is not None else None)
