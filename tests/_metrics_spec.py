"""The comment-review spec the metrics tests use, built here (the real one comes from the task's playbook)."""

from __future__ import annotations

import json
from typing import Any

from metrics.review_spec import ReviewSpec

CATEGORIES = (
    "arbitration",
    "unilateral_change",
    "content_removal",
    "jurisdiction",
    "choice_of_law",
    "limitation_of_liability",
    "unilateral_termination",
    "contract_by_using",
    "privacy_included",
)
ASSESSMENTS = {"potentially_unfair": 2, "clearly_unfair": 3}
ACTIONS = ("accept", "negotiate", "escalate_to_counsel", "reject")


def comment_schema(max_items: int = 8, max_len: int = 300) -> dict[str, Any]:
    comment = {
        "type": "object",
        "properties": {
            "text_excerpt": {"type": "string", "maxLength": max_len},
            "risk": {"type": "string", "enum": list(CATEGORIES)},
            "assessment": {"type": "string", "enum": list(ASSESSMENTS)},
            "action": {"type": "string", "enum": list(ACTIONS)},
            "rationale": {"type": "string", "maxLength": max_len},
        },
        "required": ["text_excerpt", "risk", "assessment", "action", "rationale"],
        "additionalProperties": False,
    }
    return {
        "type": "object",
        "properties": {"comments": {"type": "array", "maxItems": max_items, "items": comment}},
        "required": ["comments"],
        "additionalProperties": False,
    }


def build_spec(**overrides: Any) -> ReviewSpec:
    # potentially unfair: negotiate or escalate; clearly unfair: escalate or reject (a test playbook)
    allowed = {}
    for cat in CATEGORIES:
        allowed[(cat, "potentially_unfair")] = frozenset({"negotiate", "escalate_to_counsel"})
        allowed[(cat, "clearly_unfair")] = frozenset({"escalate_to_counsel", "reject"})
    fields: dict[str, Any] = {
        "categories": CATEGORIES,
        "assessments": ASSESSMENTS,
        "allowed_actions": allowed,
        "output_schema": comment_schema(),
    }
    fields.update(overrides)
    return ReviewSpec(**fields)


def comment(excerpt: str, risk: str, assessment: str = "clearly_unfair", action: str = "reject",
            rationale: str = "The provider can act alone and the user has no remedy against it.") -> dict:
    return {"text_excerpt": excerpt, "risk": risk, "assessment": assessment, "action": action,
            "rationale": rationale}


def answer(*comments: dict) -> str:
    return json.dumps({"comments": list(comments)})


# A window of five sentences: 1 is arbitration (clearly unfair), 3 unilateral change (potentially unfair).
SENTENCES = [
    "Welcome to Example Service.",
    "Any dispute will be resolved by binding arbitration in San Francisco.",
    "Please read these terms carefully.",
    "We may modify these Terms at any time without notice to you.",
    "Contact us at support@example.com or +1 415-555-0100.",
]
REFERENCE = {
    "sentences": SENTENCES,
    "gold": [
        {"sentence": 1, "risk": "arbitration", "level": 3},
        {"sentence": 3, "risk": "unilateral_change", "level": 2},
    ],
}
