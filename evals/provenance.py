"""What makes a run reproducible: the code version and a fingerprint of the data it saw."""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent


def git_commit(repo: Path = REPO_ROOT) -> str:
    """The commit of the code that ran, with '+dirty' when the tree has changes; 'unknown' outside git."""
    try:
        commit = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True,
                                text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return commit + ("+dirty" if dirty else "")


def data_fingerprint(items: Iterable[Mapping[str, Any]], fields: tuple[str, ...] = ("id", "document", "gold")) -> str:
    """sha256 over the items as the run used them (order included)."""
    digest = hashlib.sha256()
    for item in items:
        digest.update(json.dumps({k: item.get(k) for k in fields}, sort_keys=True, default=str).encode())
        digest.update(b"\n")
    return digest.hexdigest()[:16]
