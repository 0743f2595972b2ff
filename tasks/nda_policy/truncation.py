"""Fitting an NDA into the model's context: which spans of a document one item shows.

Cuts fall on span boundaries (ContractNLI spans tile the text), so every gold evidence span is either shown
whole or not at all. Two strategies, chosen by config (`truncation`):
- head: one item per NDA, its first spans up to `max_chars`; the rest is cut off and the item says so.
  Gold labels stay those of the whole NDA (a rule may be entailed by a clause the model never saw: the
  scorer counts such rules and their cut evidence apart).
- chunk: the NDA becomes consecutive items of up to `max_chars` each; nothing is cut off, and each chunk is
  labelled on its own (see tasks/nda_policy/gold.py).
A segment always holds at least one span, even one longer than `max_chars`. Standard library only."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tasks.nda_policy.contract_nli import NdaDocument


@dataclass(frozen=True)
class Segment:
    doc: NdaDocument
    index: int  # 0-based position among the document's segments
    count: int  # how many segments the document was cut into
    start: int  # first span shown
    stop: int  # one past the last span shown

    @property
    def id(self) -> str:
        return self.doc.id if self.count == 1 else f"{self.doc.id}#{self.index}"

    @property
    def text(self) -> str:
        """The shown part of the NDA, verbatim (line breaks kept)."""
        return self.doc.text[self.doc.spans[self.start][0]:self.doc.spans[self.stop - 1][1]]

    @property
    def span_texts(self) -> tuple[str, ...]:
        return tuple(self.doc.span_text(i) for i in range(self.start, self.stop))

    @property
    def chars_total(self) -> int:
        return len(self.doc.text)

    @property
    def cut_off(self) -> bool:
        """Spans of the NDA that no segment shows (head truncation)."""
        return self.count == 1 and self.stop < len(self.doc.spans)


def _stop_within(doc: NdaDocument, start: int, max_chars: int | None) -> int:
    """One past the last span from `start` whose end keeps the segment within max_chars (at least one span)."""
    if max_chars is None:
        return len(doc.spans)
    origin = doc.spans[start][0]
    stop = start + 1
    while stop < len(doc.spans) and doc.spans[stop][1] - origin <= max_chars:
        stop += 1
    return stop


def head(doc: NdaDocument, max_chars: int | None) -> list[Segment]:
    return [Segment(doc, 0, 1, 0, _stop_within(doc, 0, max_chars))]


def chunk(doc: NdaDocument, max_chars: int | None) -> list[Segment]:
    bounds = []
    start = 0
    while start < len(doc.spans):
        stop = _stop_within(doc, start, max_chars)
        bounds.append((start, stop))
        start = stop
    return [Segment(doc, i, len(bounds), a, b) for i, (a, b) in enumerate(bounds)]


STRATEGIES: dict[str, Callable[[NdaDocument, int | None], list[Segment]]] = {"head": head, "chunk": chunk}


def segments(doc: NdaDocument, strategy: str, max_chars: int | None) -> list[Segment]:
    if strategy not in STRATEGIES:
        raise ValueError(f"truncation {strategy!r} is not known; use one of {sorted(STRATEGIES)}")
    if not doc.spans:
        raise ValueError(f"NDA {doc.id}: the document has no spans")
    return STRATEGIES[strategy](doc, max_chars)
