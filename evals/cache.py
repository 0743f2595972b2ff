"""Content-addressed cache of generations in one SQLite file.

The key is the sha256 of canonical JSON over the provider's identity (model, weights hash, decoding) and
the request's cache payload (messages, schema, sampling parameters), so a rerun with the same inputs
makes no model call. Only successes are stored: errors are never cached, so a rerun retries them."""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Self

from evals.providers.base import Generation, GenerationRequest, Usage

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1  # part of every key: bump it when the key layout or the stored value changes


class CacheError(RuntimeError):
    pass


def _jsonable(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    if isinstance(value, Mapping):  # e.g. an OmegaConf DictConfig or MappingProxyType
        return dict(value)
    raise TypeError(f"cannot build a cache key from a {type(value).__name__} ({value!r}); "
                    "provider identity() and request fields must be plain JSON values")


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False, default=_jsonable)


def cache_key(identity: Mapping[str, Any], request: GenerationRequest) -> str:
    payload = {"v": SCHEMA_VERSION, "identity": identity, "request": request.cache_payload()}
    return hashlib.sha256(canonical_json(payload).encode("utf-8")).hexdigest()


def generation_to_json(generation: Generation) -> str:
    return json.dumps(dataclasses.asdict(generation), ensure_ascii=False)


def generation_from_json(text: str) -> Generation:
    data = json.loads(text)
    data["usage"] = Usage(**data.get("usage", {}))
    return Generation(**data)


class GenerationCache:
    """Thread-safe: one connection shared under a lock (SQLite calls are short next to model calls).
    WAL lets several processes (e.g. a Hydra multirun) read while one writes."""

    def __init__(self, path: str | Path):
        self.path = Path(path).expanduser()
        self._lock = threading.Lock()
        self._hits = self._misses = self._puts = self._bad_rows = 0
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=30.0,
                                       isolation_level=None)  # autocommit: each put is durable alone
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS generations ("
                " key TEXT PRIMARY KEY, value TEXT NOT NULL, created_at REAL NOT NULL)"
            )
            self._db.execute("SELECT count(*) FROM generations").fetchone()
        except (sqlite3.Error, OSError) as exc:
            raise CacheError(self._unreadable(exc)) from exc

    def _unreadable(self, exc: BaseException) -> str:
        return (f"generation cache {self.path} cannot be used ({exc}). It holds only cached model "
                f"outputs: delete it (and any {self.path.name}-wal / -shm files next to it) and rerun, "
                "or point the cache at another path.")

    def get(self, key: str) -> Generation | None:
        try:
            with self._lock:
                row = self._db.execute("SELECT value FROM generations WHERE key = ?", (key,)).fetchone()
        except sqlite3.Error as exc:
            raise CacheError(self._unreadable(exc)) from exc
        if row is None:
            with self._lock:
                self._misses += 1
            return None
        try:
            generation = generation_from_json(row[0])
        except (ValueError, TypeError) as exc:
            # A damaged row is a miss, not a failed run: the call is made again and the row replaced.
            log.warning("cache %s: unreadable entry %s (%s); treating it as a miss", self.path, key, exc)
            with self._lock:
                self._misses += 1
                self._bad_rows += 1
            return None
        with self._lock:
            self._hits += 1
        return generation

    def put(self, key: str, generation: Generation) -> None:
        if not isinstance(generation, Generation):
            raise TypeError(f"only Generation values are cached, got {type(generation).__name__}")
        value = generation_to_json(generation)
        try:
            with self._lock:
                self._db.execute(
                    "INSERT OR REPLACE INTO generations (key, value, created_at) VALUES (?, ?, ?)",
                    (key, value, time.time()),
                )
                self._puts += 1
        except sqlite3.Error as exc:
            raise CacheError(self._unreadable(exc)) from exc

    def __contains__(self, key: str) -> bool:
        with self._lock:
            return self._db.execute("SELECT 1 FROM generations WHERE key = ?", (key,)).fetchone() is not None

    def __len__(self) -> int:
        with self._lock:
            return self._db.execute("SELECT count(*) FROM generations").fetchone()[0]

    def stats(self) -> dict[str, Any]:
        """Counters for this process, plus the number of entries in the file."""
        entries = len(self)
        with self._lock:
            return {"path": str(self.path), "entries": entries, "hits": self._hits,
                    "misses": self._misses, "puts": self._puts, "bad_rows": self._bad_rows}

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
