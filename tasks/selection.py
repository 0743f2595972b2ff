"""Which items of a task's dataset a run evaluates: every task's `select` calls `select` here, so a given
(limit, seed) picks the same way whatever the task."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # heavy imports stay out of module import time
    import datasets


def select(dataset: datasets.Dataset, limit: int | None, seed: int = 0) -> datasets.Dataset:
    """`limit` items picked by a seeded shuffle (kept in dataset order); all items when limit is None."""
    if limit is None or limit >= len(dataset):
        return dataset
    if limit < 0:
        raise ValueError(f"limit must be >= 0 or null, got {limit}")
    indices = list(range(len(dataset)))
    random.Random(seed).shuffle(indices)
    return dataset.select(sorted(indices[:limit]))
