"""Per-sample records: what one candidate answered for one item and how it scored. Appended to a JSONL
file in the run folder as they are produced, before anything is sent to MLflow."""

from __future__ import annotations

import json
import logging
import math
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field, is_dataclass
from dataclasses import fields as dataclass_fields
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


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

    def slim(self) -> SampleRecord:
        """The record without its output text and details: what a large run keeps in memory once the full
        record is on disk (the statistics need only the values and errors)."""
        return SampleRecord(candidate=self.candidate, role=self.role, item_id=self.item_id, output=None,
                            values=compact_values(self.values), errors=self.errors, stop_reason=self.stop_reason,
                            truncated=self.truncated, input_tokens=self.input_tokens,
                            output_tokens=self.output_tokens, latency_ms=self.latency_ms, cached=self.cached,
                            attempts=self.attempts)

    def to_json(self) -> str:
        # The fields as they are, not asdict(): asdict deep-copies every nested value first, which cost more
        # than the encoding itself on large runs. Nested dataclasses (rare, in details) go through _plain.
        fields = {name: getattr(self, name) for name in _FIELD_NAMES}
        return json.dumps(fields, ensure_ascii=False, sort_keys=True, default=_plain)


_FIELD_NAMES = tuple(f.name for f in dataclass_fields(SampleRecord))


def _plain(value: Any) -> Any:
    """Nested dataclasses as dicts, as asdict() wrote them."""
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    raise TypeError(f"a record holds a {type(value).__name__} ({value!r:.80}), which is not JSON")


# Shared objects for what repeats across records: metric names (built per record by f-strings in the metrics)
# and small whole numbers (most values are 0/1 flags and counts). A 47-value dict then costs about 1.6 KB
# instead of 4.5 KB, which is most of what a 100,000-item run keeps in memory.
_NAMES: dict[str, str] = {}
_NUMBERS: dict[float, float] = {}
_SHARED_NUMBER_LIMIT = 1024.0


def compact_values(values: dict[str, float]) -> dict[str, float]:
    """The same values (equal dict, same types) built from shared key strings and shared float objects."""
    compact = {}
    for key, value in values.items():
        key = _NAMES.setdefault(key, key) if type(key) is str else key
        if type(value) is float and value.is_integer() and abs(value) <= _SHARED_NUMBER_LIMIT \
                and not (value == 0.0 and math.copysign(1.0, value) < 0):  # keep -0.0 as it is
            value = _NUMBERS.setdefault(value, value)
        compact[key] = value
    return compact


class RecordWriter:
    """Append-only JSONL, one record per line.

    By default every record is written and flushed at once, so a crash loses at most the record being
    written. With `batch_size` > 1, lines are written together when `batch_size` wait, when
    `flush_interval_s` has passed since the last write to the file (so a slow model's records still land
    one by one), and on flush() and close(); a kill then loses at most the records since the last write,
    which a resumed run scores again. `before_flush` runs before each write to the file: the runner commits
    the generation cache there, so a record on disk always has its model call in the cache."""

    def __init__(self, path: Path, *, batch_size: int = 1, flush_interval_s: float = 0.0,
                 before_flush: Callable[[], object] | None = None):
        self.path = path
        self.batch_size = max(1, batch_size)
        self.flush_interval_s = flush_interval_s
        self.before_flush = before_flush
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._lines: list[str] = []
        self._last_write = float("-inf")
        # A model can emit a lone surrogate (the JSON escape \ud800); written back as that escape, the line
        # stays valid JSON instead of the write failing.
        self._file = path.open("a", encoding="utf-8", errors="backslashreplace")

    def write(self, record: SampleRecord) -> None:
        line = record.to_json() + "\n"
        with self._lock:
            self._lines.append(line)
            if (len(self._lines) >= self.batch_size
                    or time.monotonic() - self._last_write >= self.flush_interval_s):
                self._write_lines()

    def flush(self) -> None:
        with self._lock:
            self._write_lines()

    def _write_lines(self) -> None:
        if not self._lines:
            return
        if self.before_flush is not None:
            self.before_flush()
        self._file.write("".join(self._lines))
        self._file.flush()
        self._lines.clear()
        self._last_write = time.monotonic()

    def close(self) -> None:
        with self._lock:
            try:
                self._write_lines()
            finally:
                self._file.close()

    def __enter__(self) -> RecordWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_records(path: Path) -> Iterator[SampleRecord]:
    """Every well-formed record of a JSONL file. A line that is not a record (a write torn by a crash) is
    skipped with a warning: its item has no record and a resumed run asks for it again."""
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                yield SampleRecord(**json.loads(line))
            except (ValueError, TypeError) as exc:
                log.warning("%s line %d is not a record (%s); skipped", path, number, exc)


def repair_tail(path: Path) -> int:
    """Cut a partial last line (the process died mid-write) so appends start on a fresh line; returns the
    number of bytes removed."""
    if not path.exists():
        return 0
    size = path.stat().st_size
    if size == 0:
        return 0
    with path.open("rb+") as handle:
        handle.seek(max(0, size - 1))
        if handle.read(1) == b"\n":
            return 0
        # Walk back to the last newline; records are small, so read the tail in blocks.
        end = size
        while end > 0:
            start = max(0, end - 65536)
            handle.seek(start)
            block = handle.read(end - start)
            cut = block.rfind(b"\n")
            if cut >= 0:
                keep = start + cut + 1
                break
            end = start
        else:
            keep = 0
        handle.truncate(keep)
        handle.flush()
        os.fsync(handle.fileno())
    log.warning("%s: removed a partial last record (%d bytes) left by an interrupted run", path, size - keep)
    return size - keep


def completed_records(path: Path) -> dict[str, SampleRecord]:
    """The records an interrupted run already wrote, by item id (the file's tail repaired first)."""
    if not path.exists():
        return {}
    repair_tail(path)
    return {record.item_id: record for record in read_records(path)}


def error_counts(records: Iterable[SampleRecord]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for record in records:
        for error in record.errors:
            counts[error["kind"]] = counts.get(error["kind"], 0) + 1
    return counts
