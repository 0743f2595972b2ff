"""A window: consecutive sentences (or units) of one document, the part a model reviews in one call. Each task
adds its own gold to it. Standard library only."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SentenceWindow:
    doc: str
    start: int  # index of the first sentence in the document
    sentences: tuple[str, ...]

    @property
    def id(self) -> str:
        return f"{self.doc}:{self.start}"

    @property
    def text(self) -> str:
        """The TargetDocument as the model sees it: one sentence per line, nothing added to quote by mistake."""
        return "\n".join(self.sentences)
