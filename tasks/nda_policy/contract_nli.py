"""Reader for ContractNLI v1 (one JSON file per split): NDAs whose text is tiled by spans (sentences or list
items, as character offsets), each annotated for the 17 fixed hypotheses with a choice (Entailment /
Contradiction / NotMentioned) and the indices of its evidence spans.

Standard library only. A file that does not have the documented shape raises ContractNliFormatError naming
the file and the key, never a bare KeyError."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tasks.data_root import require

DATASET = "contract_nli"
# The project's split names -> the files of the release (train.json is not in the mirror: only its first 50
# documents, train_truncated.json).
SPLIT_FILES: dict[str, str] = {
    "test": f"{DATASET}/test.json",
    "dev": f"{DATASET}/dev.json",
    "train": f"{DATASET}/train_truncated.json",
}
# ContractNLI's choices -> the labels answers use.
CHOICES: dict[str, str] = {
    "Entailment": "entailment",
    "Contradiction": "contradiction",
    "NotMentioned": "not_mentioned",
}


class ContractNliFormatError(ValueError):
    """A ContractNLI file does not have the expected shape."""


@dataclass(frozen=True)
class Annotation:
    label: str  # entailment | contradiction | not_mentioned
    spans: tuple[int, ...]  # indices into NdaDocument.spans, ascending


@dataclass(frozen=True)
class NdaDocument:
    id: str
    file_name: str
    text: str
    spans: tuple[tuple[int, int], ...]  # (start, end) character offsets into text
    annotations: Mapping[str, Annotation]  # rule (hypothesis) id -> annotation

    def span_text(self, index: int) -> str:
        start, end = self.spans[index]
        return self.text[start:end]


@dataclass(frozen=True)
class Split:
    name: str
    path: Path
    documents: tuple[NdaDocument, ...]
    hypotheses: Mapping[str, str]  # rule id -> hypothesis text (the dataset's `labels`)


def split_path(split: str, root: Path | str | None = None) -> Path:
    if split not in SPLIT_FILES:
        raise ValueError(f"ContractNLI split {split!r} is not known; use one of {sorted(SPLIT_FILES)}")
    return require(SPLIT_FILES[split], root)


def _get(data: Any, key: str, kind: type, where: str) -> Any:
    if not isinstance(data, Mapping) or key not in data:
        raise ContractNliFormatError(f"{where}: missing key {key!r}")
    value = data[key]
    if not isinstance(value, kind):
        raise ContractNliFormatError(f"{where}.{key}: expected {kind.__name__}, got {type(value).__name__}")
    return value


def _spans(raw: list[Any], text_length: int, where: str) -> tuple[tuple[int, int], ...]:
    spans = []
    for i, pair in enumerate(raw):
        ok = (isinstance(pair, list) and len(pair) == 2 and all(isinstance(p, int) for p in pair)
              and 0 <= pair[0] <= pair[1] <= text_length)
        if not ok:
            raise ContractNliFormatError(f"{where}.spans[{i}]: expected [start, end] within the text, got {pair!r}")
        spans.append((pair[0], pair[1]))
    return tuple(spans)


def _annotation(raw: Any, n_spans: int, where: str) -> Annotation:
    choice = _get(raw, "choice", str, where)
    if choice not in CHOICES:
        raise ContractNliFormatError(f"{where}.choice: {choice!r} is not one of {sorted(CHOICES)}")
    indices = _get(raw, "spans", list, where)
    if not all(isinstance(i, int) and 0 <= i < n_spans for i in indices):
        raise ContractNliFormatError(f"{where}.spans: expected indices into the document's {n_spans} spans")
    return Annotation(CHOICES[choice], tuple(sorted(set(indices))))


def _document(raw: Any, hypotheses: Mapping[str, str], where: str) -> NdaDocument:
    text = _get(raw, "text", str, where)
    spans = _spans(_get(raw, "spans", list, where), len(text), where)
    sets = _get(raw, "annotation_sets", list, where)
    if not sets:
        raise ContractNliFormatError(f"{where}.annotation_sets: empty; every document has one annotation set")
    raw_annotations = _get(sets[0], "annotations", Mapping, f"{where}.annotation_sets[0]")
    if set(raw_annotations) != set(hypotheses):
        missing, extra = sorted(set(hypotheses) - set(raw_annotations)), sorted(set(raw_annotations) - set(hypotheses))
        raise ContractNliFormatError(f"{where}: annotations must cover the file's hypotheses exactly "
                                     f"(missing {missing}, unknown {extra})")
    annotations = {rule: _annotation(raw_annotations[rule], len(spans), f"{where}.annotations.{rule}")
                   for rule in hypotheses}
    return NdaDocument(str(_get(raw, "id", int, where)), str(raw.get("file_name", "")), text, spans, annotations)


def read_split(split: str, root: Path | str | None = None) -> Split:
    path = split_path(split, root)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ContractNliFormatError(f"{path}: not valid JSON ({exc}); re-fetch it with `rft-evals data fetch`"
                                     ) from None
    where = str(path)
    labels = _get(data, "labels", Mapping, where)
    hypotheses = {rule: _get(entry, "hypothesis", str, f"{where}: labels.{rule}") for rule, entry in labels.items()}
    documents = tuple(_document(doc, hypotheses, f"{where}: documents[{i}]")
                      for i, doc in enumerate(_get(data, "documents", list, where)))
    ids = [d.id for d in documents]
    if len(set(ids)) != len(ids):
        raise ContractNliFormatError(f"{where}: document ids repeat")
    return Split(split, path, documents, hypotheses)
