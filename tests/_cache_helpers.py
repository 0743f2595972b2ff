"""Looking into a generation cache's SQLite file from outside, as another process would."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def committed_keys(path: Path) -> set[str]:
    """The keys another connection sees: what has been committed."""
    db = sqlite3.connect(path)
    try:
        return {row[0] for row in db.execute("SELECT key FROM generations")}
    finally:
        db.close()
