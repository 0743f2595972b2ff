"""Training rows built by the task's own code, so the trained model sees exactly the prompt it is evaluated
with (task.messages) and learns the answer the task itself calls ideal (task.render_gold).

Rows come only from the task's `train` split (for contract_review: the fold's train documents); the
evaluated split's documents are never read here. `check_disjoint` proves it for a given task."""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

TRAIN_SPLIT = "train"


@dataclass(frozen=True)
class RowSelection:
    """How many train windows a stage uses, and the share of them that hold at least one risk (the rest hold
    none). GRPO learns nothing from a prompt whose sampled answers all earn the same reward, which is what a
    riskless window mostly gives, so the RFT stage asks for more risky windows than the data has."""

    count: int | None  # None = every train window
    risky_share: float | None = None  # None = the data's own share
    seed: int = 0


def pick_rows(rows: Sequence[Mapping[str, Any]], selection: RowSelection) -> list[Mapping[str, Any]]:
    """A seeded sample of `rows` with the requested share of risky ones (as close as the data allows)."""
    rng = random.Random(selection.seed)
    shuffled = list(rows)
    rng.shuffle(shuffled)
    if selection.count is None or selection.count >= len(shuffled) and selection.risky_share is None:
        return shuffled
    if selection.risky_share is None:
        return shuffled[: selection.count]
    risky = [r for r in shuffled if r["gold"]]
    clean = [r for r in shuffled if not r["gold"]]
    want_risky = min(len(risky), round(selection.count * selection.risky_share))
    want_clean = min(len(clean), selection.count - want_risky)
    chosen = risky[:want_risky] + clean[:want_clean]
    rng.shuffle(chosen)
    return chosen


def train_rows(task: Any, selection: RowSelection,
               keep: Callable[[Mapping[str, Any]], bool] | None = None) -> list[Mapping[str, Any]]:
    """The selection drawn from the train rows that `keep` accepts (all of them when it is None)."""
    rows = task.rows(TRAIN_SPLIT)
    return pick_rows([row for row in rows if keep(row)] if keep else rows, selection)


def gold_fits(task: Any, count_tokens: Callable[[str], int], max_tokens: int) -> Callable[[Mapping[str, Any]], bool]:
    """A row filter: the task's gold answer for the row takes at most `max_tokens` tokens."""
    return lambda row: count_tokens(task.render_gold(row)) <= max_tokens


def sft_records(task: Any, rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Prompt-completion records (TRL's conversational format): the loss falls on the gold answer only."""
    return [{"id": str(row["id"]), "prompt": task.messages(row),
             "completion": [{"role": "assistant", "content": task.render_gold(row)}]} for row in rows]


def rft_records(task: Any, rows: Sequence[Mapping[str, Any]],
                reference_column: str = "reference_answer") -> list[dict[str, Any]]:
    """GRPO prompts with the reference the reward scores against, as a JSON string (one column type for
    every row, whatever the reference holds)."""
    return [{"id": str(row["id"]), "prompt": task.messages(row),
             reference_column: json.dumps(task.reference(row), ensure_ascii=False)} for row in rows]


def document_ids(rows: Sequence[Mapping[str, Any]]) -> set[str]:
    return {str(row["doc"]) for row in rows}


def check_disjoint(task: Any, evaluated_split: str) -> None:
    """Raise when a document of the evaluated split also appears among the training documents."""
    shared = document_ids(task.rows(TRAIN_SPLIT)) & document_ids(task.rows(evaluated_split))
    if shared:
        raise ValueError(f"task {task.name}: documents {sorted(shared)[:5]} are in both the train split and the "
                         f"{evaluated_split} split; training on them would leak the evaluation items")
