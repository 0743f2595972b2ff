"""Cut a document into windows of consecutive sentences: the unit a model reviews in one call."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tasks.comment_review.window import SentenceWindow
from tasks.contract_review.claudette import FAIR, RISK_IDS, Document


@dataclass(frozen=True)
class Labelled:
    sentence: int  # index within the window
    risk: str  # risk id, e.g. "arbitration"
    level: int  # 2|3 in `gold`, 1 in `fair`

    def to_dict(self) -> dict[str, Any]:
        return {"sentence": self.sentence, "risk": self.risk, "level": self.level}


@dataclass(frozen=True)
class Window(SentenceWindow):
    gold: tuple[Labelled, ...]  # potentially (2) or clearly (3) unfair: the risks to find
    fair: tuple[Labelled, ...]  # clearly fair (1): tagged but not a risk, kept so metrics can tell


def _window(doc: Document, start: int, stop: int) -> Window:
    gold, fair = [], []
    for offset, index in enumerate(range(start, stop)):
        for tag in doc.tags[index]:
            labelled = Labelled(offset, RISK_IDS[tag.category], tag.level)
            (fair if tag.level == FAIR else gold).append(labelled)
    return Window(doc.name, start, doc.sentences[start:stop], tuple(gold), tuple(fair))


def windows(doc: Document, size: int = 8, stride: int | None = None) -> list[Window]:
    """Windows starting every `stride` sentences (default: `size`, no overlap). The last window may be
    shorter; with stride < size, cutting stops once a window reaches the end of the document."""
    stride = size if stride is None else stride
    if size < 1 or stride < 1:
        raise ValueError(f"window size and stride must be >= 1, got size={size}, stride={stride}")
    result = []
    for start in range(0, len(doc), stride):
        stop = min(start + size, len(doc))
        result.append(_window(doc, start, stop))
        if stop == len(doc):
            break
    return result
