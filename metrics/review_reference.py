"""The reference of one comment-review sample, checked: a bad reference is the sample's fault (INPUT error),
named precisely, never an exception that sinks the batch."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from metrics.review_spec import ReviewSpec

RISK_LEVELS = (2, 3)  # CLAUDETTE levels: 1 clearly fair, 2 potentially unfair, 3 clearly unfair


class ReviewReferenceError(ValueError):
    """The sample's reference does not have the documented shape."""


@dataclass(frozen=True)
class GoldRisk:
    sentence: int
    risk: str
    level: int


@dataclass(frozen=True)
class ReviewReference:
    sentences: tuple[str, ...]
    gold: tuple[GoldRisk, ...]  # levels 2 and 3 only
    fair: tuple[Any, ...] = ()  # kept for judges and reports; not scored here

    @property
    def document(self) -> str:
        return " ".join(self.sentences)


def parse_reference(reference: Any, spec: ReviewSpec) -> ReviewReference:
    """{"sentences": [str, ...], "gold": [{"sentence": int, "risk": str, "level": 2|3}], "fair": [...]}."""
    if not isinstance(reference, Mapping):
        raise ReviewReferenceError(f"reference must be an object, got {type(reference).__name__}")
    sentences = reference.get("sentences")
    if not isinstance(sentences, Sequence) or isinstance(sentences, str) or not sentences:
        raise ReviewReferenceError("reference.sentences must be a non-empty list of strings (the window)")
    if not all(isinstance(s, str) for s in sentences):
        raise ReviewReferenceError("reference.sentences must hold strings only")
    gold_raw = reference.get("gold", [])
    if not isinstance(gold_raw, Sequence) or isinstance(gold_raw, str):
        raise ReviewReferenceError("reference.gold must be a list of {sentence, risk, level} objects")
    gold = tuple(_gold_entry(entry, i, len(sentences), spec) for i, entry in enumerate(gold_raw))
    fair = reference.get("fair") or ()
    if not isinstance(fair, Sequence) or isinstance(fair, str):
        raise ReviewReferenceError("reference.fair, when present, must be a list")
    return ReviewReference(tuple(sentences), tuple(g for g in gold if g.level in RISK_LEVELS), tuple(fair))


def _gold_entry(entry: Any, i: int, n_sentences: int, spec: ReviewSpec) -> GoldRisk:
    where = f"reference.gold[{i}]"
    if not isinstance(entry, Mapping):
        raise ReviewReferenceError(f"{where} must be an object with sentence, risk, level")
    sentence, risk, level = entry.get("sentence"), entry.get("risk"), entry.get("level")
    if isinstance(sentence, bool) or not isinstance(sentence, int) or not 0 <= sentence < n_sentences:
        raise ReviewReferenceError(
            f"{where}.sentence must be an index into reference.sentences "
            f"(0..{n_sentences - 1}), got {sentence!r}"
        )
    if risk not in spec.categories:
        raise ReviewReferenceError(
            f"{where}.risk {risk!r} is not a category of the spec {list(spec.categories)}"
        )
    if isinstance(level, bool) or not isinstance(level, int) or level not in (1, *RISK_LEVELS):
        raise ReviewReferenceError(f"{where}.level must be 1, 2 or 3, got {level!r}")
    return GoldRisk(sentence, risk, level)
