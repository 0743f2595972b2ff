"""Reader for the CLAUDETTE English corpus: one sentence per line, with a line-aligned tag file
(space-separated tags such as `ltd2 ter3`; an empty line means no tag) and 5 document-level folds."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from tasks.data_root import require

DATASET = "claudette"
SENTENCES_DIR = f"{DATASET}/corpus/sentences/en/original"
TAGS_DIR = f"{DATASET}/corpus/tags/en/original"
LISTS_DIR = f"{DATASET}/corpus/lists"
FOLDS = range(5)
SPLITS = ("train", "test")

# CLAUDETTE category codes and the risk ids the project uses for them.
RISK_IDS: dict[str, str] = {
    "a": "arbitration",
    "ch": "unilateral_change",
    "cr": "content_removal",
    "j": "jurisdiction",
    "law": "choice_of_law",
    "ltd": "limitation_of_liability",
    "ter": "unilateral_termination",
    "use": "contract_by_using",
    "pinc": "privacy_included",
}
# Tags that annotate something other than fairness (country-specific wording): skipped.
MARKERS = frozenset({"countrym"})
FAIR, POTENTIALLY_UNFAIR, CLEARLY_UNFAIR = 1, 2, 3
_TAG = re.compile(r"^([a-z]+)([123])$")


class Tag(NamedTuple):
    category: str  # CLAUDETTE code, e.g. "ltd"
    level: int  # 1 clearly fair, 2 potentially unfair, 3 clearly unfair


class ClaudetteFormatError(ValueError):
    """A corpus file does not have the expected shape."""


@dataclass(frozen=True)
class Document:
    name: str  # file stem, e.g. "Amazon"
    sentences: tuple[str, ...]
    tags: tuple[tuple[Tag, ...], ...]  # one tuple per sentence, empty when untagged

    def __len__(self) -> int:
        return len(self.sentences)


@dataclass(frozen=True)
class Fold:
    k: int
    train: tuple[str, ...]  # document names
    test: tuple[str, ...]

    def split(self, name: str) -> tuple[str, ...]:
        if name not in SPLITS:
            raise ValueError(f"split {name!r} is not known: use one of {SPLITS}")
        return self.train if name == "train" else self.test


def parse_tags(line: str, where: str = "") -> tuple[Tag, ...]:
    tags = []
    for token in line.split():
        if token in MARKERS:
            continue
        match = _TAG.match(token)
        if not match or match.group(1) not in RISK_IDS:
            raise ClaudetteFormatError(f"{where}: unknown tag {token!r}; expected <category><level> with category "
                                       f"in {sorted(RISK_IDS)} and level 1-3, or a marker in {sorted(MARKERS)}")
        tags.append(Tag(match.group(1), int(match.group(2))))
    return tuple(tags)


def _lines(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    if lines and lines[-1] == "":  # the final newline ends the last line, it does not start a new one
        lines.pop()
    return lines


def read_document(name: str, root: Path | str | None = None) -> Document:
    stem = name.removesuffix(".txt")
    sentence_path = require(f"{SENTENCES_DIR}/{stem}.txt", root)
    tag_path = require(f"{TAGS_DIR}/{stem}.txt", root)
    sentences = _lines(sentence_path)
    tag_lines = _lines(tag_path)
    if len(sentences) != len(tag_lines):
        raise ClaudetteFormatError(
            f"{tag_path}: {len(tag_lines)} tag lines but {sentence_path.name} has {len(sentences)} sentences; "
            "the files must be line-aligned (re-fetch them with `rft-evals data fetch`)")
    tags = tuple(parse_tags(line, f"{tag_path}:{i + 1}") for i, line in enumerate(tag_lines))
    # stripped: the model sees and quotes the stripped sentence
    return Document(stem, tuple(s.strip() for s in sentences), tags)


def _names(relpath: str, root: Path | str | None) -> tuple[str, ...]:
    return tuple(line.strip().removesuffix(".txt") for line in _lines(require(relpath, root)) if line.strip())


def read_fold(k: int, root: Path | str | None = None) -> Fold:
    if k not in FOLDS:
        raise ValueError(f"fold {k!r} is not known: CLAUDETTE has folds {list(FOLDS)}")
    train = _names(f"{LISTS_DIR}/LIST_TRAIN_{k}.txt", root)
    test = _names(f"{LISTS_DIR}/LIST_TEST_{k}.txt", root)
    overlap = set(train) & set(test)
    if overlap:
        raise ClaudetteFormatError(f"fold {k}: documents in both train and test: {sorted(overlap)}")
    return Fold(k, train, test)


def all_document_names(root: Path | str | None = None) -> tuple[str, ...]:
    return _names(f"{LISTS_DIR}/LIST_ALL.txt", root)


def read_documents(names: tuple[str, ...] | list[str], root: Path | str | None = None) -> list[Document]:
    return [read_document(name, root) for name in names]
