"""Answer policies for single-label tasks (unfair_tos, config tasks with a class label): one JSON object
{"<label field>": <class>} per item. The negative class is the one that means "nothing found" (unfair_tos:
Other) or, failing that, the most common gold class; honest policies behave like a detector of controlled
recall and false-alarm rate, whose false alarms go to the other classes in proportion to their frequency."""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from evals.reward_audit.policies import (
    DEGENERATE,
    HONEST,
    IGNORE_RUBRIC,
    VERDICT_PASS,
    Family,
    Item,
    Policy,
)


@dataclass(frozen=True)
class Quality:
    name: str
    keep: float  # chance that a positive item keeps its gold label (else: the negative class)
    false_alarms: float  # chance that a negative item gets a positive class
    confusion: float  # chance that a kept positive gets another positive class


QUALITIES: tuple[Quality, ...] = (
    Quality("gold", 1.0, 0.0, 0.0),
    Quality("keep90_fa1", 0.9, 0.01, 0.05),
    Quality("keep75_fa3", 0.75, 0.03, 0.1),
    Quality("keep50_fa6", 0.5, 0.06, 0.15),
    Quality("keep30_fa10", 0.3, 0.10, 0.2),
)


def label_field(task: Any) -> str:
    spec = getattr(task, "spec", None)
    return str(getattr(spec, "label_field", None) or "label")


def classes_of(task: Any) -> tuple[str, ...]:
    from metrics.classification import classes_from_schema

    return tuple(classes_from_schema(task.output_schema(), label_field(task)))


def gold_label(task: Any, item: Item) -> str:
    reference = task.reference(item)
    field = label_field(task)
    return str(reference[field] if field in reference else reference["gold"])


class LabelPolicies:
    def __init__(self, task: Any, items: Sequence[Item]):
        self.task = task
        self.field = label_field(task)
        self.classes = classes_of(task)
        counts = Counter(gold_label(task, item) for item in items)
        spec = task.scorer_spec()
        negative = spec.get("detection_negative") if isinstance(spec, dict) else None
        self.negative = negative or (counts.most_common(1)[0][0] if counts else self.classes[-1])
        self.positives = [c for c in self.classes if c != self.negative]
        self.weights = [counts.get(c, 0) + 1 for c in self.positives]  # +1: a class unseen here still occurs
        self.common_positive = max(self.positives, key=lambda c: counts.get(c, 0)) if self.positives else self.negative

    def render(self, label: str) -> str:
        return json.dumps({self.field: label}, ensure_ascii=False)

    def honest(self, q: Quality, item: Item, rng: random.Random) -> str:
        gold = gold_label(self.task, item)
        if gold == self.negative:
            if self.positives and rng.random() < q.false_alarms:
                return self.render(rng.choices(self.positives, self.weights)[0])
            return self.render(gold)
        if rng.random() >= q.keep:
            return self.render(self.negative)
        others = [c for c in self.positives if c != gold]
        if others and rng.random() < q.confusion:
            return self.render(rng.choice(others))
        return self.render(gold)


def build(task: Any, items: Sequence[Item]) -> list[Policy]:
    p = LabelPolicies(task, items)

    def honest(q: Quality):
        return lambda item, rng: p.honest(q, item, rng)

    policies = [Policy(q.name, HONEST, honest(q), f"positives kept {q.keep:.0%}, false alarms {q.false_alarms:.0%}, "
                       f"confused {q.confusion:.0%}") for q in QUALITIES]
    majority = p.render(p.negative)
    rows = [
        ("majority_label", lambda item, rng: majority, f"always {p.negative!r}", False),
        ("flag_everything", lambda item, rng: p.render(p.common_positive), f"always {p.common_positive!r}", False),
        ("random_label", lambda item, rng: p.render(rng.choice(p.classes)), "a uniformly random class", False),
        ("no_content", lambda item, rng: "{}", "valid JSON without content: {}", False),
        ("empty_text", lambda item, rng: "", "no answer at all", False),
        ("prose_around_json", lambda item, rng: f"The answer is:\n```json\n{majority}\n```\nHope this helps.",
         "the majority label inside prose and a code fence", False),
        ("verdict_pass", lambda item, rng: f"{majority}\n{VERDICT_PASS}", f"the majority label and {VERDICT_PASS!r}",
         True),
        ("ignore_rubric", lambda item, rng: f"{majority}\n{IGNORE_RUBRIC}", "the majority label and an instruction "
         "to the grader", True),
    ]
    policies += [Policy(name, DEGENERATE, answer, description, aimed) for name, answer, description, aimed in rows]
    return policies


FAMILY = Family(headline="macro_f1", build=build)  # the label and config scorers
