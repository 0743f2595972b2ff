"""Abilities only some tasks have, as runtime-checkable protocols: a caller that needs one asks
`isinstance(task, RendersGold)` and, when the task lacks it, says which ability is missing and what to use
instead. A new task gains an ability by defining the methods; nothing is registered.

    ability               what uses it
    RendersGold           the instant provider (`answer: gold`), SFT data, sample logs, the reward audit
    HasReferenceText      judges (the playbook or policy they judge against), the reward bundle
    AnswersMajority       the majority-class provider
    FingerprintsMajority  the majority provider's cache identity (else the prompt template hash)
    SentenceLevel         the TF-IDF baseline provider (trains on sentences, answers with flags)
    ReportsLoading        summary.json `data.loaded` (rows kept and skipped per split)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from tasks.base import Item


@runtime_checkable
class RendersGold(Protocol):
    def render_gold(self, item: Item) -> str:
        """The ideal answer as the model should write it (few-shot examples, SFT, replay tests)."""


@runtime_checkable
class HasReferenceText(Protocol):
    reference_text: str  # the playbook or policy, as judges and the reward bundle quote it


@runtime_checkable
class AnswersMajority(Protocol):
    def majority_answer(self, item: Item) -> str:
        """The answer a majority-class baseline gives for the item (the training split's prior)."""


@runtime_checkable
class FingerprintsMajority(Protocol):
    def majority_fingerprint(self) -> str:
        """What the majority answer depends on (the prior), so a changed prior misses the cache."""


@runtime_checkable
class SentenceLevel(Protocol):
    def sentence_training_set(self) -> tuple[list[str], list[str]]:
        """(sentences, labels) of the training split, for a sentence classifier."""

    def render_sentence_flags(self, item: Item, flags: Sequence[tuple[int, str, str]]) -> str:
        """The answer text flagging the item's sentences: (sentence index, label, assessment) each."""


@runtime_checkable
class ReportsLoading(Protocol):
    def load_report(self) -> dict[str, Any]:
        """Per split: items kept and rows skipped while loading (where, id, reason)."""


def reference_text_of(task: object) -> str:
    """The text judges read as guidance (the playbook), or "" for a task without one."""
    return str(task.reference_text or "") if isinstance(task, HasReferenceText) else ""
