"""The reference of one NDA-policy sample, checked: a malformed reference is the sample's fault (an INPUT
error naming the field), never an exception that sinks the batch. Standard library only.

    {"spans": [str, ...],                      # the TargetDocument as shown, span by span
     "rules": [{"rule": "nda-1", "label": "entailment", "evidence": [3, 7], "evidence_total": 2}, ...],
     "truncation": {"truncated": false, "chars_cut": 0, "chars_total": 9614}}   # optional
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from metrics.policy_review.spec import PolicyReviewSpec


class PolicyReferenceError(ValueError):
    """The sample's reference does not have the documented shape."""


@dataclass(frozen=True)
class GoldRule:
    label: str
    evidence: frozenset[int]  # indices into PolicyReference.spans
    evidence_total: int


@dataclass(frozen=True)
class PolicyReference:
    spans: tuple[str, ...]
    rules: Mapping[str, GoldRule]  # in the spec's rule order
    truncated: bool = False
    chars_cut: int = 0
    chars_total: int = 0

    @property
    def labels(self) -> dict[str, str]:
        return {rule: gold.label for rule, gold in self.rules.items()}

    @property
    def unseen(self) -> list[str]:
        return [r for r, g in self.rules.items() if g.label != "not_mentioned" and not g.evidence and g.evidence_total]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _list(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str)


def _rule(entry: Any, i: int, n_spans: int, spec: PolicyReviewSpec) -> tuple[str, GoldRule]:
    where = f"reference.rules[{i}]"
    if not isinstance(entry, Mapping):
        raise PolicyReferenceError(f"{where} must be an object with rule, label, evidence, evidence_total")
    rule, label, evidence = entry.get("rule"), entry.get("label"), entry.get("evidence", [])
    if rule not in spec.rule_ids:
        raise PolicyReferenceError(f"{where}.rule {rule!r} is not a rule of the spec {list(spec.rule_ids)}")
    if label not in spec.labels:
        raise PolicyReferenceError(f"{where}.label {label!r} is not one of {list(spec.labels)}")
    if not _list(evidence) or not all(_is_int(e) and 0 <= e < n_spans for e in evidence):
        raise PolicyReferenceError(f"{where}.evidence must list indices into reference.spans (0..{n_spans - 1})")
    total = entry.get("evidence_total", len(evidence))
    if not _is_int(total) or total < len(set(evidence)):
        raise PolicyReferenceError(f"{where}.evidence_total must be an integer >= the evidence shown, got {total!r}")
    return rule, GoldRule(label, frozenset(evidence), total)


def parse_reference(reference: Any, spec: PolicyReviewSpec) -> PolicyReference:
    if not isinstance(reference, Mapping):
        raise PolicyReferenceError(f"reference must be an object, got {type(reference).__name__}")
    spans = reference.get("spans")
    if not _list(spans) or not spans or not all(isinstance(s, str) for s in spans):
        raise PolicyReferenceError("reference.spans must be a non-empty list of strings (the document shown)")
    raw_rules = reference.get("rules")
    if not _list(raw_rules):
        raise PolicyReferenceError("reference.rules must be a list of {rule, label, evidence, evidence_total}")
    parsed = dict(_rule(entry, i, len(spans), spec) for i, entry in enumerate(raw_rules))
    if len(parsed) != len(raw_rules) or set(parsed) != set(spec.rule_ids):
        missing = sorted(set(spec.rule_ids) - set(parsed))
        raise PolicyReferenceError(f"reference.rules must give every rule of the spec once (missing {missing}, "
                                   f"{len(raw_rules)} entries for {len(spec.rule_ids)} rules)")
    truncation = reference.get("truncation") or {}
    if not isinstance(truncation, Mapping):
        raise PolicyReferenceError("reference.truncation, when present, must be an object")
    cut, total = truncation.get("chars_cut", 0), truncation.get("chars_total", 0)
    if not (_is_int(cut) and _is_int(total) and 0 <= cut <= total):
        raise PolicyReferenceError("reference.truncation.chars_cut / chars_total must be integers, cut <= total")
    rules = {rule: parsed[rule] for rule in spec.rule_ids}
    return PolicyReference(tuple(spans), rules, bool(truncation.get("truncated", False)), cut, total)
