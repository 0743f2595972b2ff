"""Action compliance: each comment's action must be one the playbook allows for its (risk, assessment).
Every comment is judged, grounded or not: the advice is given either way."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from metrics.review_context import ReviewComment


def is_compliant(comment: ReviewComment, allowed: Mapping[tuple[str, str], frozenset[str]]) -> bool:
    return comment.action in allowed.get((comment.risk, comment.assessment), frozenset())


def action_values(
    comments: Sequence[ReviewComment], allowed: Mapping[tuple[str, str], frozenset[str]]
) -> dict[str, float]:
    compliant = sum(1 for c in comments if is_compliant(c, allowed))
    return {"action_compliant": float(compliant), "action_total": float(len(comments))}
