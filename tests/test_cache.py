"""The content-addressed generation cache."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from _cache_helpers import committed_keys

from evals.inference.cache import CacheError, GenerationCache, cache_key
from evals.providers.base import Generation, GenerationRequest, Usage

IDENTITY = {"kind": "llamacpp", "model": "SmolLM2-135M-Instruct.Q4_1.gguf", "sha256": "ab12", "n_ctx": 4096}


def request(**overrides) -> GenerationRequest:
    fields = {
        "item_id": "doc-1:0",
        "messages": ({"role": "system", "content": "Review."},
                     {"role": "user", "content": "Clause: ünïcode “quotes”"}),
        "schema": {"type": "object", "properties": {"comments": {"type": "array", "maxItems": 5}}},
        "max_tokens": 256,
        "temperature": 0.0,
    }
    fields.update(overrides)
    return GenerationRequest(**fields)


def generation(text: str = '{"comments": []}') -> Generation:
    return Generation(text=text, stop_reason="end_turn", usage=Usage(123, 45), latency_ms=812.25,
                      model_id="SmolLM2")


def test_key_is_stable_and_ignores_mapping_order_and_context():
    key = cache_key(IDENTITY, request())
    assert len(key) == 64 and int(key, 16) >= 0
    reordered = dict(reversed(list(IDENTITY.items())))
    assert cache_key(reordered, request()) == key
    assert cache_key(IDENTITY, request(item_id="other", context={"gold": [1]})) == key


@pytest.mark.parametrize("change", [
    {"temperature": 0.7}, {"max_tokens": 257}, {"seed": 1}, {"top_p": 0.9}, {"stop": ("\n",)},
    {"schema": None}, {"messages": ({"role": "user", "content": "Clause: other"},)},
])
def test_key_changes_with_every_request_field(change):
    assert cache_key(IDENTITY, request(**change)) != cache_key(IDENTITY, request())


def test_key_changes_with_identity():
    assert cache_key({**IDENTITY, "sha256": "cd34"}, request()) != cache_key(IDENTITY, request())


def test_key_rejects_values_that_are_not_json():
    with pytest.raises(TypeError, match="object"):
        cache_key({"model": object()}, request())
    assert cache_key({"path": Path("/m.gguf")}, request()) == cache_key({"path": "/m.gguf"}, request())


def test_roundtrip_is_identical_and_persists(tmp_path):
    path = tmp_path / "sub" / "cache.sqlite"
    key = cache_key(IDENTITY, request())
    with GenerationCache(path) as cache:
        assert cache.get(key) is None
        cache.put(key, generation())
        assert cache.get(key) == generation()
        assert cache.stats() | {"path": ""} == {"path": "", "entries": 1, "hits": 1, "misses": 1, "puts": 1,
                                                "bad_rows": 0}
    with GenerationCache(path) as reopened:
        got = reopened.get(key)
    assert got == generation() and got.usage == Usage(123, 45) and got.latency_ms == 812.25


def test_concurrent_puts_and_gets(tmp_path):
    errors: list[BaseException] = []
    with GenerationCache(tmp_path / "c.sqlite") as cache:
        def worker(t: int) -> None:
            try:
                for i in range(50):
                    key = cache_key(IDENTITY, request(item_id=f"{t}", messages=({"role": "user",
                                                                                "content": f"{t}-{i}"},)))
                    cache.put(key, generation(f"{t}-{i}"))
                    assert cache.get(key).text == f"{t}-{i}"
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(t,)) for t in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        assert len(cache) == 400


def test_corrupt_file_gives_a_clear_error(tmp_path):
    path = tmp_path / "cache.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(CacheError) as info:
        GenerationCache(path)
    message = str(info.value)
    assert str(path) in message and "delete" in message


def test_damaged_row_is_a_miss(tmp_path):
    path = tmp_path / "cache.sqlite"
    key = cache_key(IDENTITY, request())
    with GenerationCache(path) as cache:
        cache.put(key, generation())
    db = sqlite3.connect(path)
    db.execute("UPDATE generations SET value = '{broken'")
    db.commit()
    db.close()
    with GenerationCache(path) as cache:
        assert cache.get(key) is None
        assert cache.stats()["bad_rows"] == 1
        cache.put(key, generation())
        assert cache.get(key) == generation()


def test_only_generations_are_stored(tmp_path):
    with GenerationCache(tmp_path / "c.sqlite") as cache, pytest.raises(TypeError):
        cache.put("k", {"text": "x"})  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------- batched writes
def _keys(n: int, prefix: str = "k") -> list[str]:
    return [cache_key(IDENTITY, request(messages=({"role": "user", "content": f"{prefix}{i}"},))) for i in range(n)]


def test_queued_puts_are_read_back_at_once_and_committed_on_flush(tmp_path):
    path = tmp_path / "c.sqlite"
    keys = _keys(5)
    with GenerationCache(path, batch_size=100, flush_interval_s=3600) as cache:
        for i, key in enumerate(keys):
            cache.put(key, generation(f"g{i}"))
        assert committed_keys(path) == set()  # queued, not yet committed
        assert cache.get(keys[3]).text == "g3" and keys[4] in cache  # but this process sees them
        assert cache.flush() == 5
        assert committed_keys(path) == set(keys)
        assert cache.flush() == 0


def test_a_full_batch_commits_without_being_asked(tmp_path):
    path = tmp_path / "c.sqlite"
    keys = _keys(7)
    with GenerationCache(path, batch_size=3, flush_interval_s=3600) as cache:
        for key in keys:
            cache.put(key, generation())
        assert committed_keys(path) == set(keys[:6])  # two full batches; the seventh waits


def test_a_put_after_a_quiet_interval_is_committed_at_once(tmp_path):
    path = tmp_path / "c.sqlite"
    first, second = _keys(2)
    with GenerationCache(path, batch_size=1000, flush_interval_s=0.05) as cache:
        time.sleep(0.1)  # a slow model call
        cache.put(first, generation())
        assert committed_keys(path) == {first}  # durable as soon as it returned
        cache.put(second, generation())  # right after: queued, the flusher commits it (next test)


def test_the_flusher_commits_within_the_interval(tmp_path):
    path = tmp_path / "c.sqlite"
    key = _keys(1)[0]
    with GenerationCache(path, batch_size=1000, flush_interval_s=0.3) as cache:
        cache.put(key, generation())
        deadline = time.monotonic() + 20  # generous: the machine may be loaded
        while key not in committed_keys(path):
            assert time.monotonic() < deadline, "the background flush never committed the entry"
            time.sleep(0.02)


def test_close_commits_what_is_queued_and_twice_is_harmless(tmp_path):
    path = tmp_path / "c.sqlite"
    keys = _keys(4)
    cache = GenerationCache(path, batch_size=100, flush_interval_s=3600)
    for key in keys:
        cache.put(key, generation())
    cache.close()
    cache.close()
    assert committed_keys(path) == set(keys)
    with pytest.raises(CacheError, match="closed"):
        cache.put(keys[0], generation())


def test_close_does_not_hang_when_the_flushers_commit_races_it(tmp_path):
    # close() sets _closing and then _queued; a background commit running at that moment clears _queued
    # again. CI once hung here for 600 s: the flusher waited on _queued before looking at _closing.
    path = tmp_path / "c.sqlite"
    cache = GenerationCache(path, batch_size=100, flush_interval_s=0.05)
    real_flush, in_flush = cache.flush, threading.Event()

    def flush_once_close_has_signalled():
        in_flush.set()
        while not (cache._closing.is_set() and cache._queued.is_set()):
            time.sleep(0.001)
        return real_flush()

    cache.flush = flush_once_close_has_signalled  # the flusher thread calls self.flush()
    key = _keys(1)[0]
    cache.put(key, generation())
    assert in_flush.wait(20), "the flusher never started"
    closer = threading.Thread(target=cache.close, daemon=True)
    closer.start()
    closer.join(20)
    assert not closer.is_alive(), "close() hung waiting for the flusher"
    assert committed_keys(path) == {key}


def test_len_and_stats_count_queued_entries_once(tmp_path):
    with GenerationCache(tmp_path / "c.sqlite", batch_size=100, flush_interval_s=3600) as cache:
        key = _keys(1)[0]
        cache.put(key, generation("a"))
        cache.put(key, generation("b"))  # replaces the queued one
        assert len(cache) == 1 and cache.get(key).text == "b"
        assert cache.stats()["puts"] == 2


CRASHING_WRITER = """
import os, signal, sys
from evals.inference.cache import GenerationCache
from evals.providers.base import Generation
cache = GenerationCache(sys.argv[1], batch_size=1000, flush_interval_s=3600)
for i in range(5):
    cache.put(f"flushed-{i}", Generation(text=f"f{i}"))
cache.flush()
for i in range(3):
    cache.put(f"queued-{i}", Generation(text=f"q{i}"))
os.kill(os.getpid(), signal.SIGKILL)  # no close(), no atexit: a crash
"""


def test_a_crash_keeps_what_was_flushed_and_loses_only_the_queued_batch(tmp_path):
    path = tmp_path / "c.sqlite"
    repo = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-c", CRASHING_WRITER, str(path)], cwd=repo, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == -signal.SIGKILL, done.stderr
    assert committed_keys(path) == {f"flushed-{i}" for i in range(5)}
    with GenerationCache(path) as cache:  # the file is sound and the flushed entries read back
        assert cache.get("flushed-4").text == "f4" and cache.get("queued-0") is None
