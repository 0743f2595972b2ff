"""Scoring one comment-review answer: the composition the reward Lambda and evaluation both call.

    score(output_text, reference, spec) -> SampleScore
    aggregates(spec) -> list[Aggregate]

The answer is parsed, checked against the spec's output schema, its comments grounded against the window,
then every configured metric (REVIEW_METRICS, chosen by name: `metrics=` or spec.extra["metrics"]) adds
its values. A broken answer (not JSON, or not the schema) records its PARSE / SCHEMA error and is scored as
an answer without comments, so gold risks still count as misses: breaking the format must cost recall.
A malformed reference is the sample's fault: an INPUT error and no values, never an exception.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from metrics import aggregates as agg
from metrics.action_compliance import action_values, is_compliant
from metrics.aggregates import Aggregate
from metrics.assessment import assessment_values
from metrics.checked_output import cached_validator, check_output
from metrics.errors import ClassifiedError, ErrorKind
from metrics.language import language_check
from metrics.length import length_values
from metrics.registry import Metric, MetricRegistry
from metrics.review_context import ReviewContext, read_comments
from metrics.review_reference import ReviewReferenceError, parse_reference
from metrics.review_spec import ReviewSpec
from metrics.risk_detection import decide, risk_values
from metrics.safety import safety_findings
from metrics.steering import steering_phrases
from metrics.types import SampleScore

MAX_SCHEMA_MESSAGES = 5  # enough to see what went wrong; a 40-error answer should not bloat the record


# --- the metrics, each a small adapter from the context to a pure function ---------------------------


def _format(ctx: ReviewContext) -> dict[str, float]:
    return {
        "json_valid": float(ctx.parse.ok),
        "json_repaired": float(ctx.parse.ok and ctx.parse.repaired),
        "schema_valid": float(ctx.answer_valid),
    }


def _grounding(ctx: ReviewContext) -> dict[str, float]:
    grounded = sum(1 for c in ctx.comments if c.grounding.grounded)
    return {"grounded_excerpts": float(grounded), "total_excerpts": float(len(ctx.comments)),
            "ungrounded_excerpts": float(len(ctx.comments) - grounded)}  # a count a reward can charge for


def _risk(ctx: ReviewContext) -> dict[str, float]:
    decisions = decide(ctx.comments, ctx.reference.gold)
    return risk_values(decisions, ctx.spec.categories, flagged=bool(ctx.comments))


def _risk_aggregates(spec: ReviewSpec) -> list[Aggregate]:
    per_category = [
        agg.f1(f"risk_f1/{c}", f"risk_tp/{c}", f"risk_fp/{c}", f"risk_fn/{c}", f"F1 on {c} sentences")
        for c in spec.categories
    ]
    return [
        agg.ratio("risk_precision", "risk_tp", "risk_pred", "micro precision on (sentence, risk) pairs"),
        agg.ratio("risk_recall", "risk_tp", "risk_gold", "micro recall on (sentence, risk) pairs"),
        agg.f1("risk_f1", "risk_tp", "risk_fp", "risk_fn", "micro F1 on (sentence, risk) pairs"),
        *per_category,
        agg.mean("window_flag_accuracy", "window_flag_correct", "the window has a risk or not, right"),
    ]


def _assessment(ctx: ReviewContext) -> dict[str, float]:
    values = assessment_values(ctx.comments, ctx.reference.gold, ctx.spec.assessments)
    values["assessment_wrong"] = values["assessment_matched"] - values["assessment_correct"]  # chargeable count
    return values


def _actions(ctx: ReviewContext) -> dict[str, float]:
    values = action_values(ctx.comments, ctx.spec.allowed_actions)
    values["action_noncompliant"] = values["action_total"] - values["action_compliant"]  # chargeable count
    return values


def _length(ctx: ReviewContext) -> dict[str, float]:
    return length_values(ctx.output_text, ctx.spec.max_output_chars)


def _language_check(ctx: ReviewContext):
    return language_check(ctx.spec.language)(c.rationale for c in ctx.comments)


def _language(ctx: ReviewContext) -> dict[str, float]:
    return {"language_ok": float(_language_check(ctx).ok)}


def _language_details(ctx: ReviewContext) -> dict[str, Any]:
    check = _language_check(ctx)
    return {"language": {"words": check.words, "ascii_share": check.ascii_share,
                         "function_word_share": check.function_word_share}}


def _findings(ctx: ReviewContext):
    return safety_findings(ctx.output_text, ctx.reference.document, ctx.spec.prohibited_terms)


def _safety(ctx: ReviewContext) -> dict[str, float]:
    return {"safety_ok": float(not _findings(ctx))}


def _safety_details(ctx: ReviewContext) -> dict[str, Any]:
    return {"safety": [f.to_dict() for f in _findings(ctx)]}


def _comments_details(ctx: ReviewContext) -> dict[str, Any]:
    allowed = ctx.spec.allowed_actions
    return {"comments": [{**c.to_dict(), "action_allowed": is_compliant(c, allowed)} for c in ctx.comments]}


REVIEW_METRICS: MetricRegistry[ReviewContext] = MetricRegistry(
    [
        Metric(
            "format",
            _format,
            lambda spec: [agg.mean("json_valid"), agg.mean("schema_valid")],
            description="the answer is JSON, and passes the output schema",
        ),
        Metric(
            "grounding",
            _grounding,
            lambda spec: [agg.ratio("grounding", "grounded_excerpts", "total_excerpts",
                                    "share of excerpts found verbatim in the window")],
        ),
        Metric("risk_detection", _risk, _risk_aggregates),
        Metric(
            "assessment",
            _assessment,
            lambda spec: [agg.ratio("assessment_accuracy", "assessment_correct", "assessment_matched",
                                    "level right on matched risks")],
        ),
        Metric(
            "action_compliance",
            _actions,
            lambda spec: [agg.ratio("action_compliance", "action_compliant", "action_total",
                                    "actions the playbook allows for the comment's risk and level")],
        ),
        Metric("length", _length, lambda spec: [agg.mean("length_ok")]),
        Metric("language", _language, lambda spec: [agg.mean("language_ok")], _language_details),
        Metric("safety", _safety, lambda spec: [agg.mean("safety_ok")], _safety_details),
        Metric(
            "steering",
            lambda ctx: {"steering_phrases": float(steering_phrases(ctx.output_text))},
            lambda spec: [agg.mean("steering_phrases", higher_is_better=False)],
            description="phrases aimed at a grader (metrics/steering.py)",
        ),
        Metric(
            "n_comments",
            lambda ctx: {"n_comments": float(len(ctx.comments))},
            lambda spec: [agg.mean("n_comments", higher_is_better=False)],
        ),
    ]
)

DEFAULT_METRICS: tuple[str, ...] = REVIEW_METRICS.names()


# --- composition --------------------------------------------------------------------------------------


def _metric_names(spec: ReviewSpec, metrics: Sequence[str] | None) -> Sequence[str]:
    if metrics is not None:
        return metrics
    configured = spec.extra.get("metrics") if isinstance(spec.extra, Mapping) else None
    return tuple(configured) if configured else DEFAULT_METRICS


def build_context(
    output_text: str, reference: Any, spec: ReviewSpec
) -> tuple[ReviewContext, list[ClassifiedError]]:
    """Parse, validate and ground once. Raises ReviewReferenceError on a malformed reference."""
    ref = parse_reference(reference, spec)
    checked = check_output(output_text, cached_validator(spec.output_schema), MAX_SCHEMA_MESSAGES)
    comments = read_comments(checked.parsed.value, ref, spec) if checked.valid else ()
    ctx = ReviewContext(output_text, spec, ref, checked.parsed, checked.schema_errors, comments)
    return ctx, checked.errors


def score(output_text: str, reference: Mapping[str, Any], spec: ReviewSpec,
          metrics: Sequence[str] | None = None) -> SampleScore:
    names = _metric_names(spec, metrics)
    if output_text is None:
        output_text = ""  # a generation that produced nothing: scored as an empty answer (PARSE error)
    if not isinstance(output_text, str):
        error = ClassifiedError(ErrorKind.INPUT, f"output must be text, got {type(output_text).__name__}",
                                stage="parse")
        return SampleScore(errors=[error])
    try:
        ctx, errors = build_context(output_text, reference, spec)
    except ReviewReferenceError as exc:
        error = ClassifiedError(ErrorKind.INPUT, f"bad reference: {exc}", stage="reference")
        return SampleScore(errors=[error], details={"reference_error": str(exc)})
    values, details = REVIEW_METRICS.run(names, ctx)
    details = {
        "json_repaired": ctx.parse.repaired,
        "schema_errors": list(ctx.schema_errors),
        **_comments_details(ctx),  # always: the record shows what was scored, whichever metrics ran
        **details,
    }
    return SampleScore(values=values, errors=errors, details=details)


def aggregates(spec: ReviewSpec, metrics: Sequence[str] | None = None) -> list[Aggregate]:
    return REVIEW_METRICS.aggregates(_metric_names(spec, metrics), spec)
