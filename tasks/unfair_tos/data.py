"""Reading the LegalBench UNFAIR-ToS files (tab-separated, one sentence per row, header line first).

    test.tsv                            index, text, label      3,841 sentences (the evaluated split)
    train_fewshot_legalbench_HEAD.tsv   text, answer, index     9 sentences, one per class (demonstrations)

Every row is checked: a missing column, an empty sentence or a label outside the 9 classes is an error
naming the file and the line, never a silently dropped row. Standard library only."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from tasks.data_root import require
from tasks.unfair_tos.classes import LABELS

DATASET_DIR = "unfair_tos"


@dataclass(frozen=True)
class SplitFile:
    relpath: str
    text_column: str
    label_column: str
    index_column: str


SPLITS: dict[str, SplitFile] = {
    "test": SplitFile(f"{DATASET_DIR}/test.tsv", "text", "label", "index"),
    # The only labelled rows outside the test split: LegalBench's few-shot examples.
    "train": SplitFile(f"{DATASET_DIR}/train_fewshot_legalbench_HEAD.tsv", "text", "answer", "index"),
}


@dataclass(frozen=True)
class Sentence:
    index: int  # the file's own index column
    text: str
    label: str


class UnfairTosDataError(ValueError):
    pass


def split_file(split: str) -> SplitFile:
    try:
        return SPLITS[split]
    except KeyError:
        raise UnfairTosDataError(f"unfair_tos has no split {split!r}; use one of {sorted(SPLITS)} "
                                 f"(task.split in conf/task/unfair_tos.yaml)") from None


def parse_rows(path: Path | str, spec: SplitFile) -> list[Sentence]:
    # QUOTE_NONE: the sentences hold `` and '' marks and stray quotes that are text, not CSV quoting.
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = reader.fieldnames or []
        missing = [c for c in (spec.text_column, spec.label_column, spec.index_column) if c not in header]
        if missing:
            raise UnfairTosDataError(f"{path}: missing column(s) {missing}; the header has {header}. "
                                     f"Re-fetch the file with `rft-evals data fetch`")
        sentences = []
        for line, row in enumerate(reader, start=2):
            text = (row.get(spec.text_column) or "").strip()
            label = (row.get(spec.label_column) or "").strip()
            raw_index = (row.get(spec.index_column) or "").strip()
            if not text:
                raise UnfairTosDataError(f"{path}:{line}: empty sentence")
            if label not in LABELS:
                raise UnfairTosDataError(f"{path}:{line}: label {label!r} is not one of {list(LABELS)}")
            if not raw_index.isdigit():
                raise UnfairTosDataError(f"{path}:{line}: index {raw_index!r} is not a number")
            sentences.append(Sentence(int(raw_index), text, label))
    indices = [s.index for s in sentences]
    if len(set(indices)) != len(indices):
        raise UnfairTosDataError(f"{path}: the index column repeats values; ids would clash")
    return sentences


def read_split(split: str, root: Path | str | None = None) -> list[Sentence]:
    spec = split_file(split)
    return parse_rows(require(spec.relpath, root), spec)
