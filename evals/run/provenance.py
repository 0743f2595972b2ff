"""What makes a run reproducible: the code version, a fingerprint of the data it saw, and where it ran."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]


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


def ray_node() -> dict[str, str]:
    """{"ray_node_id": ...} when this process is a Ray worker or driver (a job sent by the Ray launcher or the
    nightly's Ray executor), else {}. Ray is never imported here: only a process that already uses it asks."""
    ray = sys.modules.get("ray")
    if ray is None or not ray.is_initialized():
        return {}
    return {"ray_node_id": ray.get_runtime_context().get_node_id()}
