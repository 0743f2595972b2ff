"""The answer's JSON schema: one entry per policy rule, keyed by rule id, all required, so a constrained
decoder writes every rule once and in order. Strings and arrays are bounded (small models loop without
bounds). `assessment` and `action` are optional: they matter for contradictions only, and leaving them out
elsewhere saves the small model's token budget. Only keywords llama.cpp's schema-to-grammar converter and
metrics.json_schema both support. Standard library only."""

from __future__ import annotations

from typing import Any

from tasks.nda_policy.policy import Policy


def rule_answer_schema(policy: Policy, max_evidence: int, max_excerpt: int) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "label": {"type": "string", "enum": list(policy.labels)},
            "evidence": {"type": "array", "items": {"type": "string", "maxLength": max_excerpt},
                         "maxItems": max_evidence},
            "assessment": {"type": "string", "enum": list(policy.assessments)},
            "action": {"type": "string", "enum": list(policy.actions)},
        },
        "required": ["label", "evidence"],
        "additionalProperties": False,
    }


def output_schema(policy: Policy, max_evidence: int = 2, max_excerpt: int = 200) -> dict[str, Any]:
    rule = rule_answer_schema(policy, max_evidence, max_excerpt)
    rules = {
        "type": "object",
        "properties": {rule_id: rule for rule_id in policy.rule_ids},
        "required": list(policy.rule_ids),
        "additionalProperties": False,
    }
    return {"type": "object", "properties": {"rules": rules}, "required": ["rules"], "additionalProperties": False}
