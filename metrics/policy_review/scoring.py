"""Scoring one NDA-policy answer: the composition evaluation and the reward Lambda both call.

    score(output_text, reference, spec) -> SampleScore
    aggregates(spec) -> list[Aggregate]

The answer is parsed (metrics.parsing), checked against the spec's schema (metrics.json_schema), each
excerpt grounded against the shown document (metrics.grounding), then every configured metric (POLICY_METRICS,
by name: spec.metrics) adds its values. An answer that is not JSON or not the schema records its PARSE /
SCHEMA error and is scored as answering no rule: every rule counts as wrong and every gold evidence span as
missed, so breaking the format costs. A malformed reference is an INPUT error with no values.

Standard library only (metrics/ only), like metrics.comment_review."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from metrics import aggregates as agg
from metrics import policy_nli
from metrics.aggregates import Aggregate
from metrics.checked_output import cached_validator, check_output
from metrics.errors import ClassifiedError, ErrorKind
from metrics.evidence import RuleEvidence, evidence_aggregates, evidence_values
from metrics.grounding import Document, Grounding, ground
from metrics.parsing import ParseResult
from metrics.registry import Metric, MetricRegistry
from metrics.types import SampleScore
from metrics.policy_review.reference import PolicyReference, PolicyReferenceError, parse_reference
from metrics.policy_review.spec import PolicyReviewSpec

MAX_SCHEMA_MESSAGES = 5


@dataclass(frozen=True)
class Excerpt:
    text: str
    grounding: Grounding


@dataclass(frozen=True)
class RuleAnswer:
    label: str | None
    evidence: tuple[Excerpt, ...] = ()
    assessment: str | None = None
    action: str | None = None


@dataclass(frozen=True)
class PolicyContext:
    output_text: str
    spec: PolicyReviewSpec
    reference: PolicyReference
    parse: ParseResult
    schema_errors: tuple[str, ...]
    answers: Mapping[str, RuleAnswer]  # empty unless the answer parsed and passed the schema

    @property
    def answer_valid(self) -> bool:
        return self.parse.ok and not self.schema_errors

    @property
    def predicted(self) -> dict[str, str | None]:
        return {rule: answer.label for rule, answer in self.answers.items()}

    def excerpts(self) -> list[Excerpt]:
        return [e for answer in self.answers.values() for e in answer.evidence]


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def read_answers(answer: Any, reference: PolicyReference, spec: PolicyReviewSpec) -> dict[str, RuleAnswer]:
    """Each rule's answer, excerpts grounded against the shown spans. Defensive about shape: the scorer may
    be given a looser schema than the task's."""
    rules = answer.get("rules") if isinstance(answer, Mapping) else None
    if not isinstance(rules, Mapping):
        return {}
    document = Document.from_sentences(reference.spans)
    answers = {}
    for rule in spec.rule_ids:
        entry = rules.get(rule)
        if not isinstance(entry, Mapping):
            continue
        quotes = entry.get("evidence") if isinstance(entry.get("evidence"), list) else []
        evidence = tuple(Excerpt(q, ground(q, document, spec.min_excerpt_chars)) for q in quotes if isinstance(q, str))
        answers[rule] = RuleAnswer(_text(entry.get("label")), evidence, _text(entry.get("assessment")),
                                   _text(entry.get("action")))
    return answers


# --- the metrics: small adapters from the context to the pure functions in metrics/ ----------------------


def _format(ctx: PolicyContext) -> dict[str, float]:
    return {"json_valid": float(ctx.parse.ok), "json_repaired": float(ctx.parse.ok and ctx.parse.repaired),
            "schema_valid": float(ctx.answer_valid)}


def _labels(ctx: PolicyContext) -> dict[str, float]:
    return policy_nli.label_values(ctx.predicted, ctx.reference.labels, ctx.spec.labels)


def _per_rule(ctx: PolicyContext) -> dict[str, float]:
    return policy_nli.per_rule_values(ctx.predicted, ctx.reference.labels, ctx.spec.labels)


def _evidence(ctx: PolicyContext) -> dict[str, float]:
    rules = []
    for rule, gold in ctx.reference.rules.items():
        answer = ctx.answers.get(rule)
        excerpts = [frozenset(e.grounding.sentences) for e in answer.evidence] if answer else []
        rules.append(RuleEvidence(excerpts, gold.evidence, gold.evidence_total))
    values = evidence_values(rules, ctx.spec.max_evidence)
    # counts a reward can charge for: gold spans asked for and not quoted, excerpts off the gold spans
    values["evidence_missed"] = values["evidence_gold"] - values["evidence_found"]
    values["evidence_wrong"] = values["evidence_pred"] - values["evidence_correct"]
    return values


def _grounding(ctx: PolicyContext) -> dict[str, float]:
    excerpts = ctx.excerpts()
    grounded = float(sum(e.grounding.grounded for e in excerpts))
    return {"grounded_excerpts": grounded, "total_excerpts": float(len(excerpts)),
            "ungrounded_excerpts": float(len(excerpts)) - grounded}


def _contradictions(ctx: PolicyContext) -> dict[str, float]:
    answers = {rule: (a.label, a.assessment, a.action) for rule, a in ctx.answers.items()}
    return policy_nli.contradiction_values(answers, ctx.spec.assessments, ctx.spec.allowed_actions)


def _truncation(ctx: PolicyContext) -> dict[str, float]:
    ref = ctx.reference
    values = policy_nli.visible_label_values(ctx.predicted, ref.labels, ref.unseen)
    values["truncated"] = float(ref.truncated)
    values["chars_cut_fraction"] = ref.chars_cut / ref.chars_total if ref.chars_total else 0.0
    return values


def _truncation_aggregates(spec: PolicyReviewSpec) -> list[Aggregate]:
    return [
        agg.mean("truncated_fraction", "truncated", "items whose NDA was cut to fit the context",
                 higher_is_better=False),
        agg.mean("chars_cut_fraction", description="mean share of the NDA's characters cut off",
                 higher_is_better=False),
        *policy_nli.visible_aggregates(),
    ]


POLICY_METRICS: MetricRegistry[PolicyContext] = MetricRegistry([
    Metric("format", _format, lambda spec: [agg.mean("json_valid"), agg.mean("schema_valid")],
           description="the answer is JSON, and passes the output schema"),
    Metric("labels", _labels, lambda spec: policy_nli.label_aggregates(spec.rule_ids, spec.labels)),
    Metric("per_rule_f1", _per_rule, lambda spec: policy_nli.per_rule_aggregates(spec.rule_ids, spec.labels)),
    Metric("evidence", _evidence, lambda spec: evidence_aggregates()),
    Metric("grounding", _grounding,
           lambda spec: [agg.ratio("grounding", "grounded_excerpts", "total_excerpts",
                                   "share of excerpts found verbatim in the shown document")]),
    Metric("contradictions", _contradictions, lambda spec: policy_nli.contradiction_aggregates()),
    Metric("truncation", _truncation, _truncation_aggregates),
])

DEFAULT_METRICS: tuple[str, ...] = POLICY_METRICS.names()


# --- composition -----------------------------------------------------------------------------------------

def build_context(output_text: str, reference: Any,
                  spec: PolicyReviewSpec) -> tuple[PolicyContext, list[ClassifiedError]]:
    """Parse, validate and ground once. Raises PolicyReferenceError on a malformed reference."""
    ref = parse_reference(reference, spec)
    checked = check_output(output_text, cached_validator(spec.output_schema), MAX_SCHEMA_MESSAGES)
    answers = read_answers(checked.parsed.value, ref, spec) if checked.valid else {}
    return PolicyContext(output_text, spec, ref, checked.parsed, checked.schema_errors, answers), checked.errors


def _details(ctx: PolicyContext) -> dict[str, Any]:
    rules = {}
    for rule, gold in ctx.reference.rules.items():
        answer = ctx.answers.get(rule)
        rules[rule] = {
            "gold": gold.label, "label": answer.label if answer else None,
            "gold_evidence": sorted(gold.evidence), "gold_evidence_cut": gold.evidence_total - len(gold.evidence),
            "evidence": [{"text": e.text, "grounded": e.grounding.grounded, "spans": list(e.grounding.sentences),
                          "matches_gold": bool(set(e.grounding.sentences) & gold.evidence)}
                         for e in (answer.evidence if answer else ())],
            "assessment": answer.assessment if answer else None, "action": answer.action if answer else None,
        }
    ref = ctx.reference
    return {"json_repaired": ctx.parse.repaired, "schema_errors": list(ctx.schema_errors), "rules": rules,
            "truncation": {"truncated": ref.truncated, "chars_cut": ref.chars_cut, "chars_total": ref.chars_total,
                           "rules_unseen": ref.unseen,
                           "gold_spans_cut": sum(g.evidence_total - len(g.evidence) for g in ref.rules.values())}}


def score(output_text: Any, reference: Mapping[str, Any], spec: PolicyReviewSpec) -> SampleScore:
    names = spec.metrics if spec.metrics is not None else DEFAULT_METRICS
    if output_text is None:
        output_text = ""  # nothing generated: scored as an empty answer (a PARSE error)
    if not isinstance(output_text, str):
        return SampleScore(errors=[ClassifiedError(ErrorKind.INPUT, f"output must be text, got "
                                                   f"{type(output_text).__name__}", stage="parse")])
    try:
        ctx, errors = build_context(output_text, reference, spec)
    except PolicyReferenceError as exc:
        error = ClassifiedError(ErrorKind.INPUT, f"bad reference: {exc}", stage="reference")
        return SampleScore(errors=[error], details={"reference_error": str(exc)})
    values, details = POLICY_METRICS.run(names, ctx)
    return SampleScore(values=values, errors=errors, details={**_details(ctx), **details})


def aggregates(spec: PolicyReviewSpec) -> list[Aggregate]:
    return POLICY_METRICS.aggregates(spec.metrics if spec.metrics is not None else DEFAULT_METRICS, spec)
