"""The data files the project reads, pinned by sha256 and size, with where each comes from upstream
(tasks/data_pins.json, written by scripts/pin_data.py). Standard library only."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from tasks.data_derive import Derivation

PINS_PATH = Path(__file__).with_name("data_pins.json")


@dataclass(frozen=True)
class PinnedFile:
    path: str  # relative to the dataset folder (and to the mirror's dataset folder)
    sha256: str
    size: int
    upstream_path: str | None = None  # path in the upstream repository when it differs from `path`
    url: str | None = None  # resolved download URL; None = derived (see `derive`) or only from a mirror
    note: str = ""  # why there is no URL, or what differs upstream
    derive: Derivation | None = None  # made from a public source by a transformation (tasks/data_derive.py)
    verify: str = "sha256"  # "members": an archive whose files are pinned one by one (derive.options["members"])

    def relpath(self, dataset: str) -> str:
        """Path under the data root."""
        return f"{dataset}/{self.path}"


@dataclass(frozen=True)
class DataSource:
    name: str  # dataset folder under the data root, e.g. "claudette"
    license: str
    url_base: str | None  # raw-file base at a pinned commit; files append their (upstream) path
    attribution: str
    files: list[PinnedFile] = field(default_factory=list)
    title: str = ""
    repository: str = ""
    commit: str = ""

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)


class PinsError(ValueError):
    """The pins file is malformed."""


def _resolve(base: str | None, entry: dict[str, Any]) -> str | None:
    if entry.get("mirror_only") or entry.get("derive"):
        return None
    if entry.get("url"):
        return entry["url"]
    if base is None:
        return None
    # percent-encode odd characters (e.g. "LLMEval^2") but keep the slashes
    return base.rstrip("/") + "/" + quote(entry.get("upstream_path") or entry["path"])


def load_pins(path: Path | str | None = None) -> list[DataSource]:
    source = Path(path) if path is not None else PINS_PATH
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise PinsError(f"cannot read data pins {source}: {exc}; regenerate with scripts/pin_data.py") from None
    sources = []
    for s in data["sources"]:
        files = [
            PinnedFile(f["path"], f["sha256"], int(f["size"]), f.get("upstream_path"),
                       _resolve(s.get("url_base"), f), f.get("note", ""),
                       Derivation.from_mapping(f["derive"]) if f.get("derive") else None, f.get("verify", "sha256"))
            for f in s["files"]
        ]
        sources.append(DataSource(s["name"], s["license"], s.get("url_base"), s.get("attribution", ""), files,
                                  s.get("title", ""), s.get("repository", ""), s.get("commit", "")))
    names = [s.name for s in sources]
    if len(set(names)) != len(names):
        raise PinsError(f"{source}: dataset names repeat: {names}")
    return sources


def url(file: PinnedFile) -> str | None:
    """Where to download `file` as is, or None when it is derived from a source (`file.derive.url`) or only
    comes from a mirror (`rft-evals data fetch --from`)."""
    return file.url


def source_url(file: PinnedFile) -> str | None:
    """The public URL the file's bytes come from: its own, or its derivation's source."""
    return file.url or (file.derive.url if file.derive else None)
