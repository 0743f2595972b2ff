"""Risk detection as decisions on (sentence, category) pairs, the unit CLAUDETTE labels.

Gold: the window's sentences tagged level 2 or 3, with their category. Predicted: for every grounded
comment, (s, risk) for each sentence s it covers; the same pair predicted twice counts once. An ungrounded
comment predicts a risk nowhere in the window: a false positive on its own (identical ungrounded comments,
same risk and same normalised excerpt, count once).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from metrics.grounding import clean_excerpt
from metrics.review_context import ReviewComment
from metrics.review_reference import GoldRisk

Pair = tuple[int, str]


@dataclass(frozen=True)
class RiskDecisions:
    gold: frozenset[Pair]
    predicted: frozenset[Pair]  # from grounded comments
    ungrounded: frozenset[tuple[str, str]]  # (risk, normalised excerpt) of ungrounded comments

    @property
    def true_positives(self) -> frozenset[Pair]:
        return self.gold & self.predicted


def gold_pairs(gold: Iterable[GoldRisk]) -> frozenset[Pair]:
    return frozenset((g.sentence, g.risk) for g in gold)


def decide(comments: Sequence[ReviewComment], gold: Iterable[GoldRisk]) -> RiskDecisions:
    predicted: set[Pair] = set()
    ungrounded: set[tuple[str, str]] = set()
    for comment in comments:
        if comment.grounding.grounded:
            predicted.update((s, comment.risk) for s in comment.grounding.sentences)
        else:
            ungrounded.add((comment.risk, clean_excerpt(comment.excerpt)))
    return RiskDecisions(gold_pairs(gold), frozenset(predicted), frozenset(ungrounded))


def hedged_labels(gold: frozenset[Pair], predicted: frozenset[Pair]) -> int:
    """Categories flagged on a sentence beyond what it can hold: more than its gold categories (at least one).
    Naming every category on a sentence hedges; each extra label is a false positive that a cheap
    false-flag cost would otherwise let pay (docs/reward_design.md, category spam)."""
    per_sentence: dict[int, set[str]] = {}
    for sentence, risk in predicted:
        per_sentence.setdefault(sentence, set()).add(risk)
    return sum(max(0, len(risks) - max(1, sum(1 for s, _ in gold if s == sentence)))
               for sentence, risks in per_sentence.items())


def _counts(gold: frozenset[Pair], predicted: frozenset[Pair], n_ungrounded: int) -> tuple[int, int, int]:
    tp = len(gold & predicted)
    return tp, len(predicted - gold) + n_ungrounded, len(gold - predicted)


def risk_values(decisions: RiskDecisions, categories: Sequence[str], flagged: bool) -> dict[str, float]:
    """Micro counts, per-category counts for every category (zeros included, so every sample has every
    value), and whether the window-level verdict "has a risk" is right. `flagged`: the answer made any
    comment at all, grounded or not."""
    tp, fp, fn = _counts(decisions.gold, decisions.predicted, len(decisions.ungrounded))
    values: dict[str, float] = {
        "risk_tp": tp,
        "risk_fp": fp,
        "risk_fn": fn,
        "risk_pred": tp + fp,  # precision's denominator, summed by the ratio aggregate
        "risk_gold": tp + fn,  # recall's denominator
        "window_flag_correct": float(flagged == bool(decisions.gold)),
        # a window that holds a risk and not one of them was found: what silence costs beyond each miss
        "risk_window_missed": float(bool(decisions.gold) and tp == 0),
        "risk_hedged": float(hedged_labels(decisions.gold, decisions.predicted)),
    }
    for cat in categories:
        c_tp, c_fp, c_fn = _counts(
            frozenset(p for p in decisions.gold if p[1] == cat),
            frozenset(p for p in decisions.predicted if p[1] == cat),
            sum(1 for risk, _ in decisions.ungrounded if risk == cat),
        )
        values[f"risk_tp/{cat}"] = c_tp
        values[f"risk_fp/{cat}"] = c_fp
        values[f"risk_fn/{cat}"] = c_fn
    return {k: float(v) for k, v in values.items()}
