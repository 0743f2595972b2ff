"""Per-sample records: what one candidate answered for one item and how it scored. Appended to a JSONL
file in the run folder as they are produced, before anything is sent to MLflow."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class SampleRecord:
    candidate: str
    role: str
    item_id: str
    output: str | None  # None when no generation was obtained
    values: dict[str, float] = field(default_factory=dict)
    errors: list[dict[str, str]] = field(default_factory=list)
    stop_reason: str = ""
    truncated: bool = False
    input_tokens: int = 0
    output_tokens: int = 0
    latency_ms: float = 0.0
    cached: bool = False
    attempts: int = 0
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def scored(self) -> bool:
        return bool(self.values)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)


class RecordWriter:
    """Append-only JSONL, flushed per record, so a crash loses at most the record being written."""

    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._file = path.open("a", encoding="utf-8")

    def write(self, record: SampleRecord) -> None:
        with self._lock:
            self._file.write(record.to_json() + "\n")
            self._file.flush()

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> RecordWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_records(path: Path) -> Iterator[SampleRecord]:
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield SampleRecord(**json.loads(line))


def error_counts(records: Iterable[SampleRecord]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for record in records:
        for error in record.errors:
            counts[error["kind"]] = counts.get(error["kind"], 0) + 1
    return counts
