"""Deterministic reward components: each reads the per-sample values that metrics.comment_review.score
produced and returns a number in [0, 1]. A component whose denominator is zero is vacuous and takes its
`empty` value (e.g. grounding of an answer without comments: nothing was ungrounded). Standard library only.

Add a component by adding an entry to DETERMINISTIC; reward configs name components by these keys.

One parametric component, `cost_credit`, takes its inputs from the config: `costs` (value name -> cost per
unit) and `budget`. It is 1 - sum(cost * value) / budget, clipped to [0, 1]: a sample loses credit in
proportion to its errors (misses, false flags, wrong levels), so an answer that says nothing is charged for
what it misses, and the corpus mean is linear in the corpus error counts (docs/reward_design.md)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass


class MissingValueError(KeyError):
    """The scorer did not produce a value a reward component needs."""

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True)
class Deterministic:
    inputs: tuple[str, ...]  # the SampleScore values it reads
    compute: Callable[..., float | None]  # inputs in order -> value, None when vacuous
    empty: float  # the value when vacuous
    description: str


def _flag(x: float) -> float:
    return 1.0 if x >= 1.0 else 0.0


def _ratio(num: float, den: float) -> float | None:
    return None if den <= 0 else num / den


def _f1(tp: float, fp: float, fn: float) -> float | None:
    denominator = 2 * tp + fp + fn
    return None if denominator <= 0 else 2 * tp / denominator


def _flag_component(name: str, description: str) -> Deterministic:
    return Deterministic((name,), _flag, 0.0, description)


DETERMINISTIC: dict[str, Deterministic] = {
    "json_valid": _flag_component("json_valid", "the answer is JSON"),
    "schema_valid": _flag_component("schema_valid", "the answer is JSON and passes the output schema"),
    "json_clean": Deterministic(("json_repaired",), lambda r: 1.0 - _flag(r), 1.0,
                                "the JSON needed no repair (no fence or surrounding prose)"),
    "safety_ok": _flag_component("safety_ok", "no leaked personal data, secrets or prohibited terms"),
    "steering_free": Deterministic(("steering_phrases",), lambda n: 0.0 if n > 0 else 1.0, 1.0,
                                   "no text aimed at a grader (metrics/steering.py)"),
    "language_ok": _flag_component("language_ok", "the rationales are in the task's language"),
    "length_ok": _flag_component("length_ok", "the answer is within the length bound"),
    "window_flag_correct": _flag_component("window_flag_correct", "'this window has a risk' is right"),
    "grounding": Deterministic(("grounded_excerpts", "total_excerpts"), _ratio, 1.0,
                               "share of excerpts found verbatim in the window"),
    "risk_precision": Deterministic(("risk_tp", "risk_pred"), _ratio, 1.0, "precision on (sentence, risk)"),
    "risk_recall": Deterministic(("risk_tp", "risk_gold"), _ratio, 1.0, "recall on (sentence, risk)"),
    "risk_f1": Deterministic(("risk_tp", "risk_fp", "risk_fn"), _f1, 1.0,
                             "F1 on (sentence, risk) pairs; 1 when the window is clean and nothing is flagged"),
    "assessment_accuracy": Deterministic(("assessment_correct", "assessment_matched"), _ratio, 1.0,
                                         "level right on matched risks"),
    "action_compliance": Deterministic(("action_compliant", "action_total"), _ratio, 1.0,
                                       "actions the playbook allows"),
    # single-label classification (metrics/classification.py: unfair_tos, config tasks)
    "label_accuracy": Deterministic(("accuracy",), _flag, 0.0, "the label is the gold class"),
    "unfair_f1": Deterministic(("unfair_tp", "unfair_fp", "unfair_fn"), _f1, 1.0,
                               "unfair (any type) vs fair; 1 when both say fair"),
    # policy review (tasks/nda_policy: metrics/policy_nli.py, metrics/evidence.py)
    "rule_accuracy": Deterministic(("label_correct", "label_total"), _ratio, 0.0,
                                   "policy rules labelled right (entailment / contradiction / not mentioned)"),
    "evidence_precision": Deterministic(("evidence_correct", "evidence_pred"), _ratio, 1.0,
                                        "quoted evidence that matches a gold span"),
    "evidence_recall": Deterministic(("evidence_found", "evidence_gold"), _ratio, 1.0,
                                     "gold evidence spans (within the shown text) that were quoted"),
}


COST_CREDIT = "cost_credit"


def cost_credit(values: Mapping[str, float], costs: Mapping[str, float], budget: float) -> float:
    """1 - sum(cost * value) / budget, clipped to [0, 1]; raises MissingValueError when a value is absent."""
    missing = [key for key in costs if key not in values]
    if missing:
        raise MissingValueError(f"reward component {COST_CREDIT!r} charges the values {missing}, which the scorer "
                                f"did not produce; fix the names under `costs:` or enable the metric")
    charged = sum(weight * float(values[key]) for key, weight in costs.items())
    return min(1.0, max(0.0, 1.0 - charged / budget))


def compute_component(name: str, values: Mapping[str, float], empty: float | None = None,
                      costs: Mapping[str, float] | None = None, budget: float | None = None) -> float:
    """The value of deterministic component `name`; raises MissingValueError when an input is absent.
    `costs` and `budget` are the parameters of `cost_credit` (and only of it)."""
    if name == COST_CREDIT:
        if not costs or budget is None:
            raise ValueError(f"{COST_CREDIT} needs `costs` and `budget`")
        return cost_credit(values, costs, budget)
    component = DETERMINISTIC[name]
    missing = [key for key in component.inputs if key not in values]
    if missing:
        raise MissingValueError(f"reward component {name!r} needs the values {missing}, which the scorer did "
                                f"not produce; enable the metric that produces them or drop the component")
    value = component.compute(*(float(values[key]) for key in component.inputs))
    if value is None:
        return component.empty if empty is None else empty
    return min(1.0, max(0.0, value))
