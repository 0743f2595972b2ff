"""Is a quoted excerpt really in the document, and which of the window's sentences does it cover?

An excerpt is grounded when, after `metrics.text.normalize`, it occurs in the document (the window's
sentences joined by single spaces) and is at least `min_chars` long: a short quote such as "the" would match
anything. Wrapping quote marks and a leading/trailing ellipsis are dropped first (a model marks an elided
start or end that way); an ellipsis in the middle is an elision, hence not verbatim.

Coverage: sentence i is covered when the excerpt lies inside it, when it lies wholly inside the excerpt (a
quote spanning sentences), or, for a quote that straddles a boundary, when the overlap with it is at least
`min_chars` long (a few trailing characters of the previous sentence do not make it a prediction about that
sentence). Every occurrence of the excerpt counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from metrics.text import normalize

_WRAPPERS = "\"' "


@dataclass(frozen=True)
class Grounding:
    grounded: bool
    sentences: tuple[int, ...] = ()  # indices of the covered window sentences, ascending
    reason: str = ""  # why not grounded: empty, too_short, not_found


def clean_excerpt(excerpt: str) -> str:
    text = normalize(excerpt)
    previous = None
    while previous != text:  # peel in any order: '"...text..."', '...text', '"text"'
        previous = text
        text = text.strip(_WRAPPERS)
        text = text.removeprefix("...").removesuffix("...")
    return text


@dataclass(frozen=True)
class Document:
    """The window's sentences, normalised and joined, with each sentence's span in the joined text."""

    text: str
    spans: tuple[tuple[int, int, int], ...]  # (sentence index, start, end) for non-empty sentences

    @classmethod
    def from_sentences(cls, sentences: Sequence[str]) -> Document:
        parts: list[str] = []
        spans: list[tuple[int, int, int]] = []
        pos = 0
        for index, sentence in enumerate(sentences):
            norm = normalize(sentence)
            if not norm:
                continue  # an empty line must not leave a double space that breaks a spanning quote
            if parts:
                pos += 1  # the joining space
            spans.append((index, pos, pos + len(norm)))
            parts.append(norm)
            pos += len(norm)
        return cls(" ".join(parts), tuple(spans))

    def occurrences(self, needle: str) -> list[int]:
        found = []
        start = self.text.find(needle)
        while start != -1:
            found.append(start)
            start = self.text.find(needle, start + 1)
        return found


def ground(excerpt: str, document: Document, min_chars: int) -> Grounding:
    needle = clean_excerpt(excerpt) if isinstance(excerpt, str) else ""
    if not needle:
        return Grounding(False, reason="empty")
    if len(needle) < min_chars:
        return Grounding(False, reason="too_short")
    starts = document.occurrences(needle)
    if not starts:
        return Grounding(False, reason="not_found")
    covered: set[int] = set()
    for start in starts:
        covered.update(_covered(document, start, start + len(needle), min_chars))
    return Grounding(True, tuple(sorted(covered)))


def _covered(document: Document, start: int, end: int, min_chars: int) -> list[int]:
    overlaps = []
    for index, s_start, s_end in document.spans:
        overlap = min(end, s_end) - max(start, s_start)
        if overlap > 0:
            overlaps.append((index, overlap, s_end - s_start))
    chosen = [i for i, overlap, length in overlaps if overlap >= min(length, min_chars)]
    if not chosen and overlaps:  # a short quote straddling a boundary: keep its larger side
        chosen = [max(overlaps, key=lambda o: o[1])[0]]
    return chosen
