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
