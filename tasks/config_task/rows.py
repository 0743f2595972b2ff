"""Reading a config task's data file and mapping its rows to items (id, document, reference, gold).

Formats: `.jsonl` and `.json` (a list of objects) are read with the standard library, so a broken line is
reported with its line number and values keep their exact JSON shape; `.tsv` (tab-separated with a header row,
as LegalBench ships its tasks) is read with the standard library too, every value as text; `.parquet`, `.csv`
and a directory written by `datasets`' save_to_disk are read with `datasets`, offline.

A row that cannot be used (not an object, a mapped field missing or null, a document that is not text, a
repeated id, a gold label the classification metric does not know) becomes a BadRow naming its line or row
number, its id when it has one, and the reason. The task decides what to do with them (on_bad_rows)."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TEXT_FORMATS = (".jsonl", ".json", ".tsv")
DATASETS_FORMATS = (".parquet", ".csv")
MAX_LISTED = 20  # bad rows listed in one message; the rest are counted


class DataFileError(ValueError):
    pass


@dataclass(frozen=True)
class FieldMap:
    """Which column of a data row holds each part of an item."""

    id: str | None = "id"  # None: ids are "row-<n>" (1-based row number)
    document: str = "document"
    gold: str = "gold"
    reference: str | None = None  # None: no per-row reference (a task may still set reference_text)


@dataclass(frozen=True)
class BadRow:
    where: str  # "line 3" (JSONL) or "row 3"
    id: str | None
    reason: str

    def __str__(self) -> str:
        return f"{self.where}{f' (id {self.id!r})' if self.id is not None else ''}: {self.reason}"

    def to_dict(self) -> dict[str, Any]:
        return {"where": self.where, "id": self.id, "reason": self.reason}


def resolve_data_path(raw: str, root: Path, where: str) -> Path:
    path = Path(raw).expanduser()
    path = path if path.is_absolute() else root / path
    if not path.exists():
        raise DataFileError(f"{where}: data file {str(path)!r} does not exist; a relative path is read from the data "
                            f"root {str(root)!r} (the spec's `data_root:`, where `.` is the spec file's folder; else "
                            f"$RFT_DATA_DIR): fix the path, use an absolute one, or set data_root")
    suffix = path.suffix.lower()
    if path.is_file() and suffix not in TEXT_FORMATS + DATASETS_FORMATS:
        formats = ", ".join(TEXT_FORMATS + DATASETS_FORMATS)
        raise DataFileError(f"{where}: {path.name} has an unknown format; use {formats} or a directory written by "
                            f"datasets' save_to_disk")
    return path


def _jsonl_rows(path: Path) -> Iterable[tuple[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                yield f"line {number}", json.loads(line)
            except json.JSONDecodeError as exc:
                reason = f"not valid JSON ({exc.msg}, column {exc.colno})"
                yield f"line {number}", BadRow(f"line {number}", None, reason)


def _json_rows(path: Path) -> Iterable[tuple[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataFileError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno}); a .json data file holds a "
                            f"list of objects (one object per line: name it .jsonl)") from None
    if not isinstance(data, list):
        raise DataFileError(f"{path}: a .json data file must hold a list of row objects, got {type(data).__name__}")
    return ((f"row {i}", row) for i, row in enumerate(data, start=1))


def _tsv_rows(path: Path) -> Iterable[tuple[str, Any]]:
    """Rows of a tab-separated file with a header; a row with the wrong number of cells is a BadRow."""
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle, delimiter="\t")
        header = next(reader, None)
        if not header:
            raise DataFileError(f"{path}: empty; a .tsv data file starts with a header row of column names")
        for number, cells in enumerate(reader, start=2):
            if not cells:
                continue
            where = f"line {number}"
            if len(cells) != len(header):
                yield where, BadRow(where, None, f"{len(cells)} tab-separated cells, the header has {len(header)}")
            else:
                yield where, dict(zip(header, cells, strict=True))


def _datasets_rows(path: Path, split: str) -> Iterable[tuple[str, Any]]:
    import datasets  # heavy: only for the formats that need it

    if path.is_dir():
        loaded = datasets.load_from_disk(str(path))
        if isinstance(loaded, datasets.DatasetDict):
            if split not in loaded:
                raise DataFileError(f"{path}: the saved DatasetDict has splits {sorted(loaded)}, not {split!r}; name "
                                    f"the task's data by those splits")
            loaded = loaded[split]
    elif path.suffix.lower() == ".parquet":
        loaded = datasets.Dataset.from_parquet(str(path))
    else:
        loaded = datasets.Dataset.from_csv(str(path))
    return ((f"row {i}", row) for i, row in enumerate(loaded.to_list(), start=1))


def read_rows(path: Path, split: str) -> list[tuple[str, Any]]:
    """(where, row) pairs; a JSONL line that is not JSON comes back as a BadRow in place of the row."""
    if path.is_file() and path.suffix.lower() == ".jsonl":
        return list(_jsonl_rows(path))
    if path.is_file() and path.suffix.lower() == ".json":
        return list(_json_rows(path))
    if path.is_file() and path.suffix.lower() == ".tsv":
        return list(_tsv_rows(path))
    return list(_datasets_rows(path, split))


def _canonical(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def map_rows(raw: Iterable[tuple[str, Any]], fields: FieldMap, *, reference_text: str | None = None,
             gold_problem: Callable[[Any], str | None] = lambda gold: None,
             ) -> tuple[list[dict[str, Any]], list[BadRow]]:
    """Items {id, document, reference, gold (canonical JSON text)} and the rows that could not be used."""
    items: list[dict[str, Any]] = []
    bad: list[BadRow] = []
    seen: dict[str, str] = {}
    for number, (where, row) in enumerate(raw, start=1):
        if isinstance(row, BadRow):
            bad.append(row)
            continue
        if not isinstance(row, Mapping):
            bad.append(BadRow(where, None, f"expected an object, got {type(row).__name__}"))
            continue
        raw_id = row.get(fields.id) if fields.id is not None else f"row-{number}"
        item_id = str(raw_id) if isinstance(raw_id, (str, int)) and not isinstance(raw_id, bool) else None
        problem = _row_problem(row, fields, item_id, reference_text is not None)
        if problem is None and item_id in seen:
            problem = f"id repeats {seen[item_id]}"
        if problem is None:
            problem = gold_problem(row[fields.gold])
        if problem is None:
            try:
                gold = _canonical(row[fields.gold])
            except (TypeError, ValueError):
                problem = f"gold ({fields.gold}) is not a JSON value: {type(row[fields.gold]).__name__}"
        if problem is not None:
            bad.append(BadRow(where, item_id if item_id else None, problem))
            continue
        seen[item_id] = where  # type: ignore[index]
        reference = reference_text if reference_text is not None else (
            row[fields.reference] if fields.reference is not None else "")
        items.append({"id": item_id, "document": row[fields.document], "reference": reference, "gold": gold})
    return items, bad


def _row_problem(row: Mapping[str, Any], fields: FieldMap, item_id: str | None, fixed_reference: bool) -> str | None:
    def missing(key: str, role: str) -> str:
        return (f"missing field {key!r} (mapped as fields.{role}); the row has {sorted(row)[:10]}" if key not in row
                else f"field {key!r} (fields.{role}) is null")

    if item_id is None:
        if fields.id is not None and row.get(fields.id) is None:
            return missing(fields.id, "id")
        return f"id ({fields.id}) must be a string or an integer, got {type(row.get(fields.id)).__name__}"
    if not item_id.strip():
        return f"id ({fields.id}) is empty"
    document = row.get(fields.document)
    if document is None:
        return missing(fields.document, "document")
    if not isinstance(document, str) or not document.strip():
        return f"document ({fields.document}) must be non-empty text, got {type(document).__name__} {document!r:.40}"
    if row.get(fields.gold) is None:
        return missing(fields.gold, "gold")
    if fields.reference is not None and not fixed_reference:
        reference = row.get(fields.reference)
        if reference is None:
            return missing(fields.reference, "reference")
        if not isinstance(reference, str):
            return f"reference ({fields.reference}) must be text, got {type(reference).__name__}"
    return None


def describe_bad_rows(bad: list[BadRow], path: Path, total: int) -> str:
    listed = "\n".join(f"  {b}" for b in bad[:MAX_LISTED])
    more = f"\n  (+{len(bad) - MAX_LISTED} more)" if len(bad) > MAX_LISTED else ""
    return f"{len(bad)} of {total} rows of {path} cannot be used:\n{listed}{more}"
