"""The comment answer's JSON schema (contract_review, cuad_risks). Every string and array is bounded: small
models under constrained decoding otherwise loop until the token budget. Only keywords llama.cpp's
schema-to-grammar converter supports (type, properties, required, additionalProperties, enum, maxLength,
maxItems). Standard library only."""

from __future__ import annotations

from typing import Any

from tasks.comment_review.playbook import ReviewPlaybook


def output_schema(playbook: ReviewPlaybook[Any], max_comments: int = 8, max_excerpt: int = 300,
                  max_rationale: int = 300) -> dict[str, Any]:
    comment = {
        "type": "object",
        "properties": {
            "text_excerpt": {"type": "string", "maxLength": max_excerpt},
            "risk": {"type": "string", "enum": list(playbook.category_ids)},
            "assessment": {"type": "string", "enum": list(playbook.assessment_ids)},
            "action": {"type": "string", "enum": list(playbook.action_ids)},
            "rationale": {"type": "string", "maxLength": max_rationale},
        },
        "required": ["text_excerpt", "risk", "assessment", "action", "rationale"],
        "additionalProperties": False,
    }
    return {
        "type": "object",
        "properties": {"comments": {"type": "array", "items": comment, "maxItems": max_comments}},
        "required": ["comments"],
        "additionalProperties": False,
    }
