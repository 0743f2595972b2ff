"""What keeps large runs fast and flat: batched record writes tied to cache commits, compact per-record values,
batched reads of lazy dataset items, a bootstrap drawn in blocks, and the instant provider that the scale
benchmark (scripts/bench_scale.py) runs through the real runner."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from _cache_helpers import committed_keys

import evals.stats.estimate as statistics
from evals.inference.cache import GenerationCache
from evals.run.items import DatasetItems
from evals.providers.base import Generation, GenerationRequest
from evals.providers.instant import build as build_instant
from evals.providers.registry import ProviderContext, build_provider
from evals.samples.records import RecordWriter, SampleRecord, compact_values, read_records
from evals.run.runner import RunSettings, evaluate_candidate
from metrics.aggregates import f1, mean, ratio
from tasks.registry import build_task


def _record(i: int) -> SampleRecord:
    return SampleRecord("c", "r", f"i{i}", "out", values={"x": float(i % 2)})


# ---------------------------------------------------------------------------------------------- records
def test_batched_records_reach_the_file_only_after_their_cache_entries(tmp_path):
    cache_path, records_path = tmp_path / "c.sqlite", tmp_path / "r.jsonl"
    with GenerationCache(cache_path, batch_size=1000, flush_interval_s=3600) as cache, \
            RecordWriter(records_path, batch_size=4, flush_interval_s=3600, before_flush=cache.flush) as writer:
        for i in range(10):
            cache.put(f"i{i}", Generation(text="x"))  # the engine caches a call before its record is scored
            writer.write(_record(i))
            on_disk = {r.item_id for r in read_records(records_path)}
            assert on_disk <= committed_keys(cache_path)  # never a record without its committed call
            assert len(on_disk) == 1 + i // 4 * 4  # the first record at once (nothing written yet), then batches
    assert [r.item_id for r in read_records(records_path)] == [f"i{i}" for i in range(10)]  # close wrote the rest


def test_default_writer_writes_every_record_at_once(tmp_path):
    path = tmp_path / "r.jsonl"
    with RecordWriter(path) as writer:
        writer.write(_record(0))
        assert path.read_text(encoding="utf-8").count("\n") == 1


def test_record_json_is_what_asdict_gave():
    from dataclasses import asdict, dataclass

    @dataclass
    class Part:
        name: str
        spans: tuple[int, ...]

    record = SampleRecord("c", "r", "i", "ü out", values={"b": 1.0, "a": math.nan},
                          errors=[{"kind": "parse_error"}], details={"part": Part("p", (1, 2)), "list": [1, {"z": 2}]})
    assert record.to_json() == json.dumps(asdict(record), ensure_ascii=False, sort_keys=True)


def test_compact_values_are_equal_and_share_keys_and_numbers():
    a = compact_values({f"risk_tp/{'x' * 3}": 1.0, "length": 1234.5, "neg": -0.0, "flag": True, "n": 3.0})
    b = compact_values({f"risk_tp/{'x' * 3}": 1.0, "length": 1234.5, "neg": -0.0, "flag": True, "n": 3.0})
    assert a == {"risk_tp/xxx": 1.0, "length": 1234.5, "neg": -0.0, "flag": True, "n": 3.0}
    assert math.copysign(1.0, a["neg"]) < 0 and type(a["flag"]) is bool
    assert next(iter(a)) is next(iter(b)) and a["n"] is b["n"]


# ---------------------------------------------------------------------------------------------- items
def test_dataset_items_slices_and_ids_match_rows():
    import datasets

    rows = [{"id": f"d{i}", "document": "x" * i, "gold": [{"risk": "a"}] * (i % 3)} for i in range(40)]
    items = DatasetItems(datasets.Dataset.from_list(rows).select([3, 1, 4, 1, 5, 9, 2, 6, 5, 3]), batch_size=3)
    assert items.ids() == [items[i]["id"] for i in range(len(items))] == ["d3", "d1", "d4", "d1", "d5", "d9",
                                                                           "d2", "d6", "d5", "d3"]
    assert items[2:7] == [items[i] for i in range(2, 7)] and items[8:2] == [] and items[::4] == [items[0],
                                                                                              items[4], items[8]]
    assert list(items) == [items[i] for i in range(len(items))]


# ---------------------------------------------------------------------------------------------- statistics
def _records(n: int, seed: int = 0) -> list[dict[str, float]]:
    rng = np.random.default_rng(seed)
    tp, fp, fn = rng.integers(0, 3, n), rng.integers(0, 2, n), rng.integers(0, 2, n)
    return [{"x": float(rng.random() < 0.3), "tp": float(a), "fp": float(b), "fn": float(c), "pp": float(a + b)}
            for a, b, c in zip(tp, fp, fn, strict=True)]


def test_blocked_bootstrap_keeps_the_value_and_a_comparable_interval(monkeypatch):
    records = _records(3000)
    aggregates = [mean("x"), ratio("p", "tp", "pp"), f1("f1", "tp", "fp", "fn")]
    whole = statistics.estimate_all(aggregates, records, resamples=400, seed=1)
    monkeypatch.setattr(statistics, "_BLOCK_DRAWS", 3000 * 7)  # 7 resamples per block instead of all 400
    blocked = statistics.estimate_all(aggregates, records, resamples=400, seed=1)
    for a, b in zip(whole, blocked, strict=True):
        assert a.value == b.value and a.n == b.n == 3000
        width = a.ci_high - a.ci_low
        assert width > 0 and abs(b.ci_low - a.ci_low) < 0.25 * width and abs(b.ci_high - a.ci_high) < 0.25 * width


def test_aggregates_estimated_together_equal_each_alone():
    records = _records(200) + [{"y": 1.0}]  # one record lacks x: `mean(x)` has its own sample set
    aggregates = [mean("x"), f1("f1", "tp", "fp", "fn"), mean("y")]
    together = statistics.estimate_all(aggregates, records, resamples=300, seed=4)
    alone = [statistics.estimate(a, records, resamples=300, seed=4) for a in aggregates]
    assert together == alone
    assert [e.n for e in together] == [200, 200, 1]


# ---------------------------------------------------------------------------------------------- instant + runner
def test_instant_provider_answers_gold_or_a_fixed_text():
    class Task:
        name = "t"

        def render_gold(self, item):
            return f"gold {item['id']}"

        def prompt_template_hash(self):
            return "h"

    request = GenerationRequest("a", (), context={"id": "a"})
    gold = build_provider({"provider": "instant"}, ProviderContext(task=Task()))
    assert gold.generate(request).text == "gold a"
    fixed = build_instant({"answer": "fixed", "text": "{}"}, ProviderContext(task=None))
    assert fixed.generate(request).text == "{}" and fixed.identity() != gold.identity()
    with pytest.raises(ValueError, match="text"):
        build_instant({"answer": "fixed"}, ProviderContext(task=None))
    with pytest.raises(ValueError, match="answer must be one of"):
        build_instant({"answer": "echo"}, ProviderContext(task=Task()))


def test_runner_streams_a_chunked_run_then_replays_it_from_the_cache(tmp_path, data_root):
    task = build_task({"kind": "contract_review", "name": "contract_review"}, data_root=data_root)
    items = DatasetItems(task.select(task.load("test"), 150, 0))
    model = {"name": "instant", "provider": "instant", "answer": "gold", "max_concurrency": 2}
    context = ProviderContext(task=task, data_root=data_root)
    results = []
    with GenerationCache(tmp_path / "cache.sqlite") as cache:
        for run in ("first", "second"):
            settings = RunSettings(run_dir=tmp_path / run, bootstrap_resamples=50, chunk_size=64,
                                   keep_full_records=40)
            results.append(evaluate_candidate(task, items, "instant", model, context=context, cache=cache,
                                              settings=settings))
    first, second = results
    assert first.model_calls == 150 and second.model_calls == 0
    assert all(r.cached for r in second.records) and not any(r.cached for r in first.records)
    ids = items.ids()
    for result in results:
        assert [r.item_id for r in result.records] == ids  # item order, whatever order they finished in
        on_disk = [r.item_id for r in read_records(result.records_path)]
        assert sorted(on_disk) == sorted(ids)  # one record per item on disk
        assert result.records[0].output is not None and result.records[-1].output is None  # slim after 40
    f1_first = {e.name: e.value for e in first.estimates}["risk_f1"]
    assert f1_first == 1.0 and first.estimates == second.estimates  # gold answers, same draws
