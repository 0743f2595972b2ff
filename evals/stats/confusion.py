"""Confusion matrix of a classification run, from the (gold, predicted) pair each scored record keeps in
`details["classification"]` (metrics/classification.py). Records without the pair (no generation, a bad
reference) are counted apart, never guessed."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from metrics.classification import DETAILS_KEY

INVALID = "<invalid>"  # the column of answers that named no class (parse or schema error)


@dataclass
class ConfusionMatrix:
    labels: list[str]  # gold rows and predicted columns, in this order; INVALID is an extra column
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # counts[gold][predicted]
    unpaired: int = 0  # records without a (gold, predicted) pair

    @property
    def n(self) -> int:
        return sum(sum(row.values()) for row in self.counts.values())

    def row(self, gold: str) -> list[int]:
        cells = self.counts.get(gold, {})
        return [cells.get(label, 0) for label in [*self.labels, INVALID]]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able: rows = gold labels, columns = predicted labels then INVALID."""
        return {"labels": list(self.labels), "columns": [*self.labels, INVALID],
                "matrix": [self.row(gold) for gold in self.labels], "n": self.n, "unpaired": self.unpaired}


def _pair(record: Any) -> tuple[str, str | None] | None:
    details = record.get("details") if isinstance(record, Mapping) else getattr(record, "details", None)
    pair = details.get(DETAILS_KEY) if isinstance(details, Mapping) else None
    if not isinstance(pair, Mapping) or not isinstance(pair.get("gold"), str):
        return None
    predicted = pair.get("predicted")
    return pair["gold"], predicted if isinstance(predicted, str) else None


def confusion_matrix(records: Iterable[Any], classes: Sequence[str] | None = None) -> ConfusionMatrix:
    """Records are SampleRecords or their JSON dicts. `classes` fixes the order (the task's class list);
    without it, the labels seen, sorted. A label outside `classes` gets its own row/column at the end."""
    pairs: list[tuple[str, str | None]] = []
    unpaired = 0
    for record in records:
        pair = _pair(record)
        if pair is None:
            unpaired += 1
        else:
            pairs.append(pair)
    seen = {g for g, _ in pairs} | {p for _, p in pairs if p is not None}
    labels = list(classes) if classes is not None else []
    labels += sorted(seen - set(labels))
    matrix = ConfusionMatrix(labels=labels, unpaired=unpaired)
    for gold, predicted in pairs:
        column = predicted if predicted is not None else INVALID
        row = matrix.counts.setdefault(gold, {})
        row[column] = row.get(column, 0) + 1
    return matrix


def read_confusion(records_path: Path, classes: Sequence[str] | None = None) -> ConfusionMatrix:
    """The matrix of one candidate's `records/<candidate>.jsonl`."""
    with records_path.open(encoding="utf-8") as handle:
        records = [json.loads(line) for line in handle if line.strip()]
    return confusion_matrix(records, classes)
