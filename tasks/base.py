"""The contract every task keeps. A task says what is asked (messages, output schema) and what is right
(gold references, scoring through the shared metrics layer)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from metrics.aggregates import Aggregate
from metrics.types import SampleScore

Item = Mapping[str, Any]  # one row of the task's datasets.Dataset; always has "id"


class Task(Protocol):
    name: str
    scorer_name: str  # a key of metrics.scorers.SCORERS: the scorer the reward bundle names

    def load(self, split: str) -> datasets.Dataset:  # noqa: F821 - heavy import kept out of this module
        """Items of a split, as a datasets.Dataset with at least `id`, `document`, `reference`."""

    def messages(self, item: Item, examples: Sequence[Item] = ()) -> list[dict[str, str]]:
        """Chat messages asking for the item's answer; `examples` become in-context demonstrations."""

    def output_schema(self) -> dict[str, Any]:
        """The bounded JSON schema of the answer."""

    def prompt_template_hash(self) -> str:
        """A short hash of everything in the prompt that is not the item (template, playbook, schema)."""

    def reference(self, item: Item) -> dict[str, Any]:
        """The JSON-able reference the scorer needs: what goes into the Nova RFT `reference_answer`."""

    def scorer_spec(self) -> dict[str, Any]:
        """The scorer's JSON-able spec: with scorer_name, everything the reward Lambda needs to score."""

    def score(self, output_text: str, reference: Mapping[str, Any]) -> SampleScore:
        """Score one answer with the shared metrics layer (the same call the reward Lambda makes)."""

    def aggregates(self) -> list[Aggregate]:
        """How per-sample values combine into run-level metrics."""

    def render_gold(self, item: Item) -> str:
        """The ideal answer as the model should write it (few-shot examples, replay tests)."""
