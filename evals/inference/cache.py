"""Content-addressed cache of generations in one SQLite file.

The key is the sha256 of canonical JSON over the provider's identity (model, weights hash, decoding) and
the request's cache payload (messages, schema, sampling parameters), so a rerun with the same inputs
makes no model call. Only successes are stored: errors are never cached, so a rerun retries them."""

from __future__ import annotations

import atexit
import dataclasses
import enum
import functools
import hashlib
import json
import logging
import sqlite3
import threading
import time
import weakref
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Self

from evals.providers.base import Generation, GenerationRequest, Usage

log = logging.getLogger(__name__)

_FLUSHER_POLL_S = 0.5  # longest a close() waits for the flusher to notice it
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
    WAL lets several processes (e.g. a Hydra multirun) read while one writes.

    Writes are batched when they come fast: a put() is committed at once when the last commit is older
    than `flush_interval_s` (so slow, expensive calls are each durable as soon as they return); otherwise it
    is queued (get() and `in` see it at once) and the queue is committed in one transaction when
    `batch_size` entries wait, when `flush_interval_s` has passed since the last commit (a background thread
    sees to that), on flush() and on close(). One commit per put cost more than the rest of the cache on a
    100,000-item run with an instant model.

    Durability: a committed entry survives the process being killed (synchronous=NORMAL in WAL mode: a power
    cut may lose the last commits, a crash of the process does not). A kill loses at most the entries queued
    since the last commit: fewer than `batch_size`, all put within `flush_interval_s` of it. That costs only
    those model calls again when the run is resumed. Callers that must not lose an entry call flush()."""

    def __init__(self, path: str | Path, *, batch_size: int = 256, flush_interval_s: float = 0.2):
        if batch_size < 1 or flush_interval_s < 0:
            raise ValueError(f"cache batch_size must be >= 1 and flush_interval_s >= 0, got {batch_size} and "
                             f"{flush_interval_s}")
        self.path = Path(path).expanduser()
        self.batch_size = batch_size
        self.flush_interval_s = flush_interval_s
        self._lock = threading.Lock()
        self._hits = self._misses = self._puts = self._bad_rows = 0
        self._pending: dict[str, tuple[str, float]] = {}  # key -> (value, created_at), not yet committed
        self._last_commit = time.monotonic()  # of the last commit (opening counts: puts right after it queue)
        self._queued = threading.Event()  # set while entries wait for the flusher
        self._closing = threading.Event()
        self._flusher: threading.Thread | None = None
        self._closed = False
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=30.0,
                                       isolation_level=None)  # transactions are explicit (see _commit)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS generations ("
                " key TEXT PRIMARY KEY, value TEXT NOT NULL, created_at REAL NOT NULL)"
            )
            self._db.execute("SELECT count(*) FROM generations").fetchone()
        except (sqlite3.Error, OSError) as exc:
            raise CacheError(self._unreadable(exc)) from exc
        # A script that forgets close() still gets its queued entries committed at interpreter exit.
        self._at_exit = functools.partial(_flush_at_exit, weakref.ref(self))
        atexit.register(self._at_exit)

    def _unreadable(self, exc: BaseException) -> str:
        return (f"generation cache {self.path} cannot be used ({exc}). It holds only cached model "
                f"outputs: delete it (and any {self.path.name}-wal / -shm files next to it) and rerun, "
                "or point the cache at another path.")

    def get(self, key: str) -> Generation | None:
        try:
            with self._lock:
                queued = self._pending.get(key)
                if queued is not None:
                    row: tuple[str] | None = (queued[0],)
                else:
                    self._check_open()
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
        with self._lock:
            self._check_open()
            self._pending[key] = (value, time.time())
            self._puts += 1
            due = (len(self._pending) >= self.batch_size
                   or time.monotonic() - self._last_commit >= self.flush_interval_s)
            if due:
                self._commit()
            else:
                self._queued.set()
                self._start_flusher()

    def flush(self) -> int:
        """Commit the queued entries now; returns how many were committed."""
        with self._lock:
            return self._commit() if self._pending else 0

    def _commit(self) -> int:
        """One transaction for every queued entry (the lock is held by the caller). On failure the entries
        stay queued, so a later flush can retry them."""
        if not self._pending:
            return 0
        self._check_open()
        rows = [(key, value, created) for key, (value, created) in self._pending.items()]
        try:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany(
                "INSERT OR REPLACE INTO generations (key, value, created_at) VALUES (?, ?, ?)", rows)
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise CacheError(self._unreadable(exc)) from exc
        self._pending.clear()
        self._last_commit = time.monotonic()
        self._queued.clear()
        return len(rows)

    def _start_flusher(self) -> None:
        if self._flusher is None:
            self._flusher = threading.Thread(target=self._flush_loop, name=f"cache-flush-{self.path.name}",
                                             daemon=True)
            self._flusher.start()

    def _flush_loop(self) -> None:
        """Commit queued entries `flush_interval_s` after the last commit.

        The wait on `_queued` has a timeout: close() sets `_closing` and then `_queued`, but a commit on
        another thread (a put that fills a batch, a flush) may clear `_queued` in between. An untimed wait
        then never wakes and close() hangs joining this thread; with the timeout it sees `_closing` soon."""
        while not self._closing.is_set():
            if not self._queued.wait(timeout=_FLUSHER_POLL_S):
                continue
            with self._lock:
                last = self._last_commit
            self._closing.wait(max(0.0, last + self.flush_interval_s - time.monotonic()))
            if self._closing.is_set():
                return  # close() commits what is left
            try:
                self.flush()
            except CacheError as exc:  # the next put, flush or close raises it to a caller
                log.warning("cache %s: a background commit failed (%s); the entries stay queued", self.path, exc)
                self._closing.wait(self.flush_interval_s or 0.1)

    def _check_open(self) -> None:
        if self._closed:
            raise CacheError(f"generation cache {self.path} is closed")

    def __contains__(self, key: str) -> bool:
        with self._lock:
            if key in self._pending:
                return True
            self._check_open()
            return self._db.execute("SELECT 1 FROM generations WHERE key = ?", (key,)).fetchone() is not None

    def __len__(self) -> int:
        with self._lock:
            self._commit()  # queued entries may replace existing rows: count after committing them
            return self._db.execute("SELECT count(*) FROM generations").fetchone()[0]

    def stats(self) -> dict[str, Any]:
        """Counters for this process, plus the number of entries in the file."""
        entries = len(self)
        with self._lock:
            return {"path": str(self.path), "entries": entries, "hits": self._hits,
                    "misses": self._misses, "puts": self._puts, "bad_rows": self._bad_rows}

    def close(self) -> None:
        """Commit what is queued, stop the flusher and close the file. Closing twice is harmless."""
        self._closing.set()
        self._queued.set()  # wake the flusher so it sees _closing
        if self._flusher is not None and self._flusher is not threading.current_thread():
            self._flusher.join()
        atexit.unregister(self._at_exit)
        with self._lock:
            if self._closed:
                return
            try:
                self._commit()
            finally:
                self._closed = True
                self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _flush_at_exit(ref: weakref.ReferenceType[GenerationCache]) -> None:
    cache = ref()
    if cache is not None and not cache._closed:
        try:
            cache.close()
        except CacheError as exc:
            log.warning("%s", exc)
