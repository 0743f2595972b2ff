"""Everything the comment-review metrics read for one sample, built once by `metrics.comment_review`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from metrics.grounding import Document, Grounding, ground
from metrics.parsing import ParseResult
from metrics.review_reference import ReviewReference
from metrics.review_spec import ReviewSpec


@dataclass(frozen=True)
class ReviewComment:
    excerpt: str
    risk: str
    assessment: str
    action: str
    rationale: str
    grounding: Grounding

    def to_dict(self) -> dict[str, Any]:
        return {
            "text_excerpt": self.excerpt,
            "risk": self.risk,
            "assessment": self.assessment,
            "action": self.action,
            "rationale": self.rationale,
            "grounded": self.grounding.grounded,
            "sentences": list(self.grounding.sentences),
            "grounding_reason": self.grounding.reason,
        }


@dataclass(frozen=True)
class ReviewContext:
    output_text: str
    spec: ReviewSpec
    reference: ReviewReference
    parse: ParseResult
    schema_errors: tuple[str, ...]
    comments: tuple[ReviewComment, ...]  # empty unless the answer parsed and passed the schema

    @property
    def answer_valid(self) -> bool:
        return self.parse.ok and not self.schema_errors


def _text(item: Mapping[str, Any], key: str) -> str:
    value = item.get(key, "")
    return value if isinstance(value, str) else ""


def read_comments(answer: Any, reference: ReviewReference, spec: ReviewSpec) -> tuple[ReviewComment, ...]:
    """The answer's comments, each grounded against the window. Defensive about shape: the task's schema
    may be looser than the one this reader expects."""
    items = answer.get("comments") if isinstance(answer, Mapping) else None
    if not isinstance(items, list):
        return ()
    document = Document.from_sentences(reference.sentences)
    comments = []
    for item in items:
        if not isinstance(item, Mapping):
            continue
        excerpt = _text(item, "text_excerpt")
        comments.append(
            ReviewComment(
                excerpt=excerpt,
                risk=_text(item, "risk"),
                assessment=_text(item, "assessment"),
                action=_text(item, "action"),
                rationale=_text(item, "rationale"),
                grounding=ground(excerpt, document, spec.min_excerpt_chars),
            )
        )
    return tuple(comments)
