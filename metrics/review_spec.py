"""What a comment-review task expects of an answer: its categories, assessment levels, the actions the
playbook allows, and the output schema. Built by the task from its playbook; read by the scorer."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ReviewSpec:
    categories: tuple[str, ...]  # risk ids, e.g. "arbitration"
    assessments: Mapping[str, int]  # assessment id -> gold level, e.g. {"potentially_unfair": 2, "clearly_unfair": 3}
    allowed_actions: Mapping[tuple[str, str], frozenset[str]]  # (risk, assessment) -> actions the playbook allows
    output_schema: Mapping[str, Any]
    min_excerpt_chars: int = 12  # shorter quotes ("the") would match anything: they never count as grounded
    max_output_chars: int = 6000
    prohibited_terms: tuple[str, ...] = ()
    language: str = "en"
    extra: Mapping[str, Any] = field(default_factory=dict)


def review_spec_to_dict(spec: ReviewSpec) -> dict[str, Any]:
    """The spec as JSON (the reward bundle carries it; review_spec_from_dict reads it back)."""
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


def review_spec_from_dict(data: Mapping[str, Any]) -> ReviewSpec:
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
