"""Evidence precision and recall: do an answer's quoted excerpts point at the gold evidence spans?

Inputs are positions, not text: each excerpt arrives as the set of document spans it covers, as
`metrics.grounding.ground` computes them (after normalisation, a span is covered when the excerpt lies inside
it, when it lies wholly inside the excerpt, or when a quote straddling its boundary overlaps it by at least
the minimum excerpt length). An ungrounded excerpt covers nothing.

Rules, per rule of the policy (evidence is compared within the rule it was given for):
- precision: an excerpt is correct when it covers at least one gold span of its rule; every excerpt counts,
  whatever label it came with (evidence for a `not_mentioned` rule has no gold span: a false positive).
- recall: a gold span is found when some excerpt of its rule covers it. The schema allows at most `cap`
  excerpts per rule, so a rule asks for min(gold spans, cap) of them, and at most that many count as found.
- truncation: gold spans cut off from what the model saw are not asked for (`evidence_gold`) but counted
  apart (`evidence_gold_cut`, capped the same way), so `evidence_recall_all` shows the recall the cut costs.

Pure functions, standard library only."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from metrics import aggregates as agg
from metrics.aggregates import Aggregate


@dataclass(frozen=True)
class RuleEvidence:
    excerpts: Sequence[frozenset[int]]  # per excerpt: the spans it covers (empty when not grounded)
    gold: frozenset[int]  # gold spans the model could see
    gold_total: int  # gold spans in the whole document, cut ones included (>= len(gold))


def evidence_values(rules: Iterable[RuleEvidence], cap: int) -> dict[str, float]:
    if cap < 1:
        raise ValueError(f"evidence cap must be >= 1, got {cap}")
    pred = correct = asked = found = cut = 0
    for rule in rules:
        pred += len(rule.excerpts)
        correct += sum(1 for covered in rule.excerpts if covered & rule.gold)
        hit = set().union(*rule.excerpts) & rule.gold if rule.excerpts else set()
        asked_here = min(len(rule.gold), cap)
        asked += asked_here
        found += min(len(hit), asked_here)
        cut += min(max(rule.gold_total, len(rule.gold)), cap) - asked_here
    return {"evidence_pred": float(pred), "evidence_correct": float(correct), "evidence_gold": float(asked),
            "evidence_found": float(found), "evidence_gold_cut": float(cut),
            "evidence_gold_all": float(asked + cut)}


def evidence_aggregates() -> list[Aggregate]:
    return [
        agg.ratio("evidence_precision", "evidence_correct", "evidence_pred",
                  "excerpts covering a gold evidence span of their rule"),
        agg.ratio("evidence_recall", "evidence_found", "evidence_gold",
                  "gold evidence spans (of the text shown) covered by an excerpt of their rule"),
        agg.ratio("evidence_recall_all", "evidence_found", "evidence_gold_all",
                  "as evidence_recall, counting gold spans cut off by truncation as missed"),
    ]
