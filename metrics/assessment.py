"""Assessment accuracy on matched risks: for each true-positive (sentence, risk) pair, is the predicted
level (potentially vs clearly unfair) the gold level?

When several grounded comments predict the same pair, the pair is matched once and counts as correct only
if all of them give the gold level: hedging between two levels earns nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from metrics.review_context import ReviewComment
from metrics.review_reference import GoldRisk
from metrics.risk_detection import Pair


def assessment_values(
    comments: Sequence[ReviewComment], gold: Iterable[GoldRisk], levels: Mapping[str, int]
) -> dict[str, float]:
    gold_level = {(g.sentence, g.risk): g.level for g in gold}
    predicted: dict[Pair, set[int | None]] = {}
    for comment in comments:
        if not comment.grounding.grounded:
            continue
        for s in comment.grounding.sentences:
            pair = (s, comment.risk)
            if pair in gold_level:
                predicted.setdefault(pair, set()).add(levels.get(comment.assessment))
    correct = sum(1 for pair, given in predicted.items() if given == {gold_level[pair]})
    return {"assessment_correct": float(correct), "assessment_matched": float(len(predicted))}
