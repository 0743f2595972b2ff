"""Labelling a document rule by rule (NLI against a policy): per-sample counts that aggregate into label
accuracy, per-label and macro F1, per-rule accuracy and per-rule macro F1, and the compliance of what an
answer says about each contradiction with the policy.

Conventions:
- A rule the answer leaves out (or an answer that could not be read: label None) is unanswered: it is wrong,
  a miss (fn) for its gold label, and a false positive for no label.
- Per-rule values are named `correct/<rule>` and `rule/<rule>_{tp,fp,fn}/<label>`; per-label counts
  `label_{tp,fp,fn}/<label>` (the shape `metrics.aggregates.macro_f1` reads).

Pure functions, standard library only."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

from metrics import aggregates as agg
from metrics.aggregates import Aggregate

LABELS: tuple[str, ...] = ("entailment", "contradiction", "not_mentioned")
CONTRADICTION = "contradiction"


def _counts(predicted: Mapping[str, str | None], gold: Mapping[str, str], labels: Sequence[str],
            prefix: str) -> dict[str, float]:
    values = {f"{prefix}_{count}/{label}": 0.0 for label in labels for count in ("tp", "fp", "fn")}
    for rule, truth in gold.items():
        guess = predicted.get(rule)
        if guess == truth:
            values[f"{prefix}_tp/{truth}"] += 1
            continue
        values[f"{prefix}_fn/{truth}"] += 1
        if guess in labels:
            values[f"{prefix}_fp/{guess}"] += 1
    return values


def label_values(predicted: Mapping[str, str | None], gold: Mapping[str, str],
                 labels: Sequence[str] = LABELS) -> dict[str, float]:
    """label_correct / label_total, per-label tp/fp/fn, and correct/<rule> for every gold rule."""
    values = {"label_correct": 0.0, "label_total": float(len(gold))}
    for rule, truth in gold.items():
        right = predicted.get(rule) == truth
        values[f"correct/{rule}"] = float(right)
        values["label_correct"] += right
    values.update(_counts(predicted, gold, labels, "label"))
    return values


def per_rule_values(predicted: Mapping[str, str | None], gold: Mapping[str, str],
                    labels: Sequence[str] = LABELS) -> dict[str, float]:
    """tp/fp/fn per label within each rule, for a macro F1 per rule across samples."""
    values: dict[str, float] = {}
    for rule, truth in gold.items():
        values.update(_counts({rule: predicted.get(rule)}, {rule: truth}, labels, f"rule/{rule}"))
    return values


def visible_label_values(predicted: Mapping[str, str | None], gold: Mapping[str, str],
                         unseen: Iterable[str]) -> dict[str, float]:
    """Accuracy over the rules the shown text can decide. A rule is unseen when its gold label rests on
    evidence that was cut off (truncation): the model cannot see why it is entailed or contradicted."""
    hidden = set(unseen) & set(gold)
    seen = [rule for rule in gold if rule not in hidden]
    return {
        "label_correct_visible": float(sum(predicted.get(rule) == gold[rule] for rule in seen)),
        "label_total_visible": float(len(seen)),
        "rules_unseen": float(len(hidden)),
        "rules_checked": float(len(gold)),
    }


def contradiction_values(answers: Mapping[str, tuple[str | None, str | None, str | None]],
                         assessments: Mapping[str, str],
                         allowed_actions: Mapping[str, frozenset[str]]) -> dict[str, float]:
    """For every rule the answer labels a contradiction: is its assessment the one the policy gives that
    rule, and is its action one the policy allows? `answers` maps rule -> (label, assessment, action);
    a missing assessment or action is not compliant."""
    answered = compliant_assessment = compliant_action = 0
    for rule, (label, assessment, action) in answers.items():
        if label != CONTRADICTION:
            continue
        answered += 1
        compliant_assessment += assessment is not None and assessment == assessments.get(rule)
        compliant_action += action is not None and action in allowed_actions.get(rule, frozenset())
    return {"contradictions_answered": float(answered), "assessment_compliant": float(compliant_assessment),
            "action_compliant": float(compliant_action)}


def majority_labels(golds: Iterable[Mapping[str, str]], rule_ids: Sequence[str],
                    labels: Sequence[str] = LABELS) -> dict[str, str]:
    """The most frequent gold label of each rule over `golds` (the majority-class baseline); ties go to the
    label listed first in `labels`; a rule never seen gets the overall majority label."""
    per_rule: dict[str, Counter[str]] = {rule: Counter() for rule in rule_ids}
    overall: Counter[str] = Counter()
    for gold in golds:
        for rule, label in gold.items():
            if rule in per_rule:
                per_rule[rule][label] += 1
                overall[label] += 1

    def best(counts: Counter[str]) -> str:
        return max(labels, key=lambda label: (counts[label], -labels.index(label)))

    fallback = best(overall)
    return {rule: best(counts) if counts else fallback for rule, counts in per_rule.items()}


# --- aggregates -------------------------------------------------------------------------------------------


def label_aggregates(rule_ids: Sequence[str], labels: Sequence[str] = LABELS) -> list[Aggregate]:
    return [
        agg.ratio("label_accuracy", "label_correct", "label_total", "share of (document, rule) labels right"),
        agg.macro_f1("label_macro_f1", labels, "label", "unweighted mean of the per-label F1"),
        *(agg.f1(f"label_f1/{label}", f"label_tp/{label}", f"label_fp/{label}", f"label_fn/{label}",
                 f"F1 of the label {label}") for label in labels),
        *(agg.mean(f"accuracy/{rule}", f"correct/{rule}", f"label accuracy on rule {rule}") for rule in rule_ids),
    ]


def per_rule_aggregates(rule_ids: Sequence[str], labels: Sequence[str] = LABELS) -> list[Aggregate]:
    return [agg.macro_f1(f"macro_f1/{rule}", labels, f"rule/{rule}", f"macro F1 over labels on rule {rule}")
            for rule in rule_ids]


def visible_aggregates() -> list[Aggregate]:
    return [
        agg.ratio("label_accuracy_visible", "label_correct_visible", "label_total_visible",
                  "label accuracy on rules whose evidence was not cut off"),
        Aggregate("unseen_rule_fraction", agg.AggregateKind.RATIO, ("rules_unseen", "rules_checked"),
                  "share of rules whose gold evidence was all cut off by truncation", higher_is_better=False),
    ]


def contradiction_aggregates() -> list[Aggregate]:
    return [
        agg.ratio("assessment_compliance", "assessment_compliant", "contradictions_answered",
                  "contradictions given the assessment the policy sets for the rule"),
        agg.ratio("action_compliance", "action_compliant", "contradictions_answered",
                  "contradictions given an action the policy allows for the rule"),
    ]
