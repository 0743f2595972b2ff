"""The gold answer of one segment, rule by rule: label, the evidence spans the model can see (indices into
the segment's spans) and how many evidence spans the whole NDA has.

A whole NDA or its head keeps the NDA's labels (ContractNLI labels documents). A chunk among several is
labelled on its own: a rule keeps the NDA's label when one of its evidence spans lies in the chunk, else it
is not_mentioned there (ContractNLI gives every entailment and contradiction its evidence spans, so a chunk
without any says nothing the annotators relied on). Standard library only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from metrics.policy_nli import LABELS
from tasks.nda_policy.truncation import Segment

NOT_MENTIONED = LABELS[2]


@dataclass(frozen=True)
class RuleGold:
    rule: str
    label: str
    evidence: tuple[int, ...]  # indices into the segment's spans
    evidence_total: int  # evidence spans of this rule in what the item stands for (the NDA, or the chunk)

    @property
    def unseen(self) -> bool:
        """Entailed or contradicted, but every evidence span was cut off."""
        return self.label != NOT_MENTIONED and not self.evidence and self.evidence_total > 0

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "label": self.label, "evidence": list(self.evidence),
                "evidence_total": self.evidence_total}


def segment_gold(segment: Segment, rule_ids: Sequence[str]) -> list[RuleGold]:
    golds = []
    for rule in rule_ids:
        annotation = segment.doc.annotations[rule]
        shown = tuple(i - segment.start for i in annotation.spans if segment.start <= i < segment.stop)
        if segment.count > 1:  # a chunk: its own labels
            golds.append(RuleGold(rule, annotation.label if shown else NOT_MENTIONED, shown, len(shown)))
        else:
            golds.append(RuleGold(rule, annotation.label, shown, len(annotation.spans)))
    return golds


def truncation_report(segment: Segment, golds: Sequence[RuleGold]) -> dict[str, Any]:
    """What the item shows of its NDA, and what the cut cost the gold."""
    shown = len(segment.text)
    return {
        "truncated": segment.cut_off,  # spans of the NDA that no item shows
        "chars_shown": shown,
        "chars_total": segment.chars_total,
        "chars_cut": segment.chars_total - shown if segment.cut_off else 0,
        "spans_shown": segment.stop - segment.start,
        "spans_total": len(segment.doc.spans),
        "segment": segment.index,
        "segments": segment.count,
        "gold_spans_cut": sum(g.evidence_total - len(g.evidence) for g in golds),
        "rules_unseen": [g.rule for g in golds if g.unseen],
    }
