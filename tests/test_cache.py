"""The content-addressed generation cache."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from evals.cache import CacheError, GenerationCache, cache_key
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
