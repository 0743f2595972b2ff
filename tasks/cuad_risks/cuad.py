"""Readers for CUAD v1 as the data root holds it (`cuad/`): `master_clauses.csv` (one row per contract: per
category the clause texts as a Python list literal and an answer column `<category>-Answer`),
`category_descriptions.csv`, and `full_contract_txt.tar.gz` (read in place with `tarfile`, never extracted).

The CSV names each contract by its PDF file name; the text files differ in small ways (".PDF" vs ".txt",
"&" and "'" written "_", a trailing space or dash, a stray quote): `file_key` maps both to the same key.
Standard library only.
"""

from __future__ import annotations

import ast
import csv
import re
import sys
import tarfile
import unicodedata
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path

from tasks.data_root import require

DATASET = "cuad"
MASTER_CLAUSES = f"{DATASET}/master_clauses.csv"
DESCRIPTIONS = f"{DATASET}/category_descriptions.csv"
TEXTS = f"{DATASET}/full_contract_txt.tar.gz"
ANSWER_SUFFIX = "-Answer"
FILENAME_COLUMN = "Filename"
_EXTENSION = re.compile(r"\.(pdf|txt)'?\s*$", re.IGNORECASE)
_NOT_ALNUM = re.compile(r"[\W_]+")


class CuadFormatError(ValueError):
    """A CUAD file does not have the expected shape."""


@dataclass(frozen=True)
class ContractLabels:
    filename: str  # as in master_clauses.csv (a PDF name)
    clauses: Mapping[str, tuple[str, ...]]  # CUAD category -> clause texts (may contain "<omitted>")
    answers: Mapping[str, str]  # CUAD category -> answer column ("Yes"/"No" for the yes/no categories)


@dataclass(frozen=True)
class CategoryInfo:
    name: str  # CUAD category, e.g. "Uncapped Liability"
    description: str
    answer_format: str
    group: str


def file_key(name: str) -> str:
    """The matching key of a contract file name: no extension, NFC, casefolded, letters and digits only."""
    stem = _EXTENSION.sub("", name.rsplit("/", 1)[-1])
    return _NOT_ALNUM.sub("", unicodedata.normalize("NFC", stem).casefold())


def _csv_rows(path: Path) -> list[dict[str, str]]:
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))  # some clause cells are long
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def read_master_clauses(root: Path | str | None = None, only: Collection[str] | None = None
                        ) -> tuple[list[str], list[ContractLabels]]:
    """(every category in column order, one ContractLabels per contract row). With `only`, the rows hold the
    clauses and answers of those categories alone (parsing all 41 list columns is most of the time)."""
    path = require(MASTER_CLAUSES, root)
    rows = _csv_rows(path)
    if not rows or FILENAME_COLUMN not in rows[0]:
        raise CuadFormatError(f"{path}: expected a header with {FILENAME_COLUMN!r} and <category>/<category>-Answer "
                              "columns (re-fetch it with `rft-evals data fetch`)")
    columns = list(rows[0])
    categories = [c for c in columns if c != FILENAME_COLUMN and not c.endswith(ANSWER_SUFFIX)
                  and f"{c}{ANSWER_SUFFIX}" in columns]
    contracts = []
    for line, row in enumerate(rows, start=2):
        clauses, answers = {}, {}
        for category in categories if only is None else [c for c in categories if c in only]:
            try:
                texts = ast.literal_eval(row[category] or "[]")
            except (ValueError, SyntaxError) as exc:
                raise CuadFormatError(f"{path}:{line}: column {category!r} is not a list literal: {exc}") from None
            if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
                raise CuadFormatError(f"{path}:{line}: column {category!r} must be a list of strings")
            clauses[category] = tuple(texts)
            answers[category] = (row[f"{category}{ANSWER_SUFFIX}"] or "").strip()
        contracts.append(ContractLabels(row[FILENAME_COLUMN], clauses, answers))
    return categories, contracts


def _strip_label(value: str, label: str) -> str:
    value = (value or "").strip()
    return value[len(label):].strip() if value.startswith(label) else value


def read_descriptions(root: Path | str | None = None) -> dict[str, CategoryInfo]:
    """CUAD category -> its description (the cells read "Category: X", "Description: ...": labels dropped)."""
    path = require(DESCRIPTIONS, root)
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    if not rows or len(rows[0]) < 4:
        raise CuadFormatError(f"{path}: expected 4 columns (category, description, answer format, group)")
    info = {}
    for row in rows[1:]:
        if not row or not row[0].strip():
            continue
        name = _strip_label(row[0], "Category:")
        info[name] = CategoryInfo(name, " ".join(_strip_label(row[1], "Description:").split()),
                                  _strip_label(row[2], "Answer Format:"), _strip_label(row[3], "Group:"))
    return info


def read_texts(keys: set[str] | None = None, root: Path | str | None = None) -> dict[str, tuple[str, str]]:
    """file_key -> (text file stem, contract text), read from the tar.gz in place; only `keys` when given."""
    path = require(TEXTS, root)
    texts: dict[str, tuple[str, str]] = {}
    with tarfile.open(path, mode="r:gz") as archive:
        for member in archive:
            if not member.isfile() or not member.name.lower().endswith(".txt"):
                continue
            key = file_key(member.name)
            if keys is not None and key not in keys:
                continue
            if key in texts:
                raise CuadFormatError(f"{path}: two text files map to the contract key {key!r} ({member.name})")
            handle = archive.extractfile(member)
            assert handle is not None  # a regular file member always has data
            stem = member.name.rsplit("/", 1)[-1][: -len(".txt")]
            texts[key] = (stem, handle.read().decode("utf-8", errors="replace"))
    return texts
