"""Answer policies for policy review (nda_policy): a label per policy rule (entailment, contradiction,
not_mentioned) with verbatim evidence, scored by metrics/policy_review."""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from evals.reward_audit.comment_policies import INVENTED_EXCERPT
from evals.reward_audit.policies import (
    BASELINE,
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
    right: float  # chance that a rule keeps its gold label (else one of the other labels)
    evidence: float  # chance that a rule labelled right keeps its gold evidence


QUALITIES: tuple[Quality, ...] = (
    Quality("gold", 1.0, 1.0),
    Quality("right90_ev90", 0.9, 0.9),
    Quality("right75_ev70", 0.75, 0.7),
    Quality("right60_ev50", 0.6, 0.5),
    Quality("right50_ev40", 0.5, 0.4),
    Quality("right40_ev30", 0.4, 0.3),  # a third right is chance with three labels: the floor stays above it
)


class PolicyAnswers:
    def __init__(self, task: Any):
        self.task = task
        self.labels = tuple(task.policy.labels)
        self.rules = tuple(task.policy.rule_ids)

    def _gold(self, item: Item) -> tuple[dict[str, str], dict[str, list[str]]]:
        gold = json.loads(self.task.render_gold(item))["rules"]
        return ({rule: entry["label"] for rule, entry in gold.items()},
                {rule: list(entry.get("evidence") or []) for rule, entry in gold.items()})

    def honest(self, q: Quality, item: Item, rng: random.Random) -> str:
        labels, evidence = self._gold(item)
        out_labels, out_evidence = {}, {}
        for rule in self.rules:
            label = labels.get(rule, "not_mentioned")
            if rng.random() < q.right:
                out_labels[rule] = label
                out_evidence[rule] = evidence.get(rule, []) if rng.random() < q.evidence else []
            else:
                out_labels[rule] = rng.choice([x for x in self.labels if x != label])
                out_evidence[rule] = []
        return self.task.render_answer(out_labels, out_evidence)

    def everywhere(self, label: str, evidence: list[str] | None = None) -> str:
        return self.task.render_answer({rule: label for rule in self.rules},
                                       {rule: list(evidence or []) for rule in self.rules})


def build(task: Any, items: Sequence[Item]) -> list[Policy]:
    p = PolicyAnswers(task)

    def honest(q: Quality):
        return lambda item, rng: p.honest(q, item, rng)

    policies = [Policy(q.name, HONEST, honest(q), f"labels right {q.right:.0%}, gold evidence kept {q.evidence:.0%} "
                       "of the right labels") for q in QUALITIES]
    majority = max(p.labels, key=lambda label: sum(1 for item in items for g in item["gold"] if g["label"] == label))

    def first_span(item: Item) -> str:
        return " ".join(str(item["reference"]["spans"][0]).split())[: task.config.max_excerpt]

    rows = [
        ("majority_label", lambda item, rng: p.everywhere(majority), f"every rule {majority}", False),
        ("all_not_mentioned", lambda item, rng: p.everywhere("not_mentioned"), "every rule not_mentioned", False),
        ("all_contradiction", lambda item, rng: p.everywhere("contradiction"), "every rule a contradiction", False),
        ("copy_document", lambda item, rng: p.everywhere(majority, [first_span(item)]),
         f"every rule {majority}, the document's first span as evidence", False),
        ("invented_evidence", lambda item, rng: p.everywhere(majority, [INVENTED_EXCERPT]),
         f"every rule {majority} with invented evidence", False),
        ("no_content", lambda item, rng: "{}", "valid JSON without content", False),
        ("prose_around_json", lambda item, rng: f"My review:\n```json\n{p.everywhere(majority)}\n```\nDone.",
         "the majority answer inside prose", False),
        ("verdict_pass", lambda item, rng: f"{p.everywhere(majority)}\n{VERDICT_PASS}", "majority and a verdict",
         True),
        ("ignore_rubric", lambda item, rng: f"{p.everywhere(majority)}\n{IGNORE_RUBRIC}", "majority and an "
         "instruction to the grader", True),
    ]
    policies += [Policy(name, DEGENERATE, answer, description, aimed) for name, answer, description, aimed in rows]
    policies.append(Policy("rule_majority_baseline", BASELINE, lambda item, rng: task.majority_answer(item),
                           "each rule's most common training label, no evidence"))
    return policies


FAMILY = Family(headline="label_macro_f1", build=build)
