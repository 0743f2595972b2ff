"""Contracts as the task sees them (units + gold per unit), the seeded train/test split by contract, and the
windows a model reviews in one call. Standard library only."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tasks.comment_review.window import SentenceWindow

SPLITS = ("train", "test")


@dataclass(frozen=True)
class Contract:
    name: str  # the text file's stem, e.g. "ACCURAYINC_09_01_2010-EX-10.31-DISTRIBUTOR AGREEMENT"
    key: str  # tasks.cuad_risks.cuad.file_key of the name
    units: tuple[str, ...]
    gold: Mapping[int, frozenset[str]]  # unit index -> risk ids

    def __len__(self) -> int:
        return len(self.units)


@dataclass(frozen=True)
class Window(SentenceWindow):  # the sentences are the contract's units (segment.py)
    gold: tuple[tuple[int, str], ...]  # (index within the window, risk id), sorted

    def to_row(self, levels: Mapping[str, int]) -> dict[str, Any]:
        """The dataset row; `levels` gives each risk's gold level (the playbook's severity)."""
        gold = [{"sentence": s, "risk": risk, "level": levels[risk]} for s, risk in self.gold]
        sentences = list(self.sentences)
        return {"id": self.id, "doc": self.doc, "start": self.start, "sentences": sentences,
                "document": self.text, "gold": gold, "fair": [],
                "reference": {"sentences": sentences, "gold": gold, "fair": []}}


def split_of(key: str, seed: int, test_fraction: float) -> str:
    """"test" for a seeded, hash-chosen `test_fraction` of contracts, else "train": stable per contract and
    independent of which other contracts are present."""
    digest = hashlib.sha256(f"cuad-split:{seed}:{key}".encode()).digest()
    return "test" if int.from_bytes(digest[:8], "big") / 2**64 < test_fraction else "train"


def hash_rank(key: str, seed: int) -> int:
    """A seeded order of contracts, used to take a subset without favouring any file name."""
    return int.from_bytes(hashlib.sha256(f"cuad-subset:{seed}:{key}".encode()).digest()[:8], "big")


def windows(contract: Contract, size: int, max_chars: int) -> list[Window]:
    """Consecutive, non-overlapping windows of at most `size` units and `max_chars` characters (a single
    longer unit makes a window of its own): every unit is reviewed exactly once."""
    if size < 1 or max_chars < 1:
        raise ValueError(f"window size and max_chars must be >= 1, got size={size}, max_chars={max_chars}")
    result: list[Window] = []
    start = 0
    while start < len(contract):
        stop, chars = start, 0
        while stop < len(contract) and stop - start < size:
            extra = len(contract.units[stop]) + (1 if stop > start else 0)
            if stop > start and chars + extra > max_chars:
                break
            chars += extra
            stop += 1
        gold = tuple(sorted((i - start, risk) for i in range(start, stop) for risk in contract.gold.get(i, ())))
        result.append(Window(contract.name, start, contract.units[start:stop], gold))
        start = stop
    return result
