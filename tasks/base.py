"""The contract every task keeps. A task says what is asked (messages, output schema) and what is right
(gold references, scoring through the shared metrics layer).

`Task` declares everything the harness calls on every task (runner, run command, batch jobs, export, the
reward bundle). Abilities only some tasks have (the ideal answer as text, a majority answer, a sentence-level
training set, a playbook text for judges, a load report) are capability protocols in tasks/capabilities.py:
callers ask `isinstance(task, RendersGold)`, never an attribute by name."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from metrics.aggregates import Aggregate
from metrics.types import SampleScore

if TYPE_CHECKING:  # heavy import kept out of module import time
    import datasets

Item = Mapping[str, Any]  # one row of the task's datasets.Dataset; always has "id"


@runtime_checkable
class Task(Protocol):
    name: str
    scorer_name: str  # a name in metrics.scorers.SCORERS: the scorer the reward bundle names

    def load(self, split: str) -> datasets.Dataset:
        """Items of a split, as a datasets.Dataset with at least `id`, `document`, `reference`."""

    def select(self, dataset: datasets.Dataset, limit: int | None, seed: int = 0) -> datasets.Dataset:
        """The items a run evaluates: `limit` of them by a seeded pick (tasks.selection.select), or all."""

    def messages(self, item: Item, examples: Sequence[Item] = ()) -> list[dict[str, str]]:
        """Chat messages asking for the item's answer; `examples` become in-context demonstrations."""

    def few_shot_examples(self, k: int, seed: int = 0) -> list[dict[str, Any]]:
        """`k` training items to show as demonstrations (a model config's `few_shot: k`)."""

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
