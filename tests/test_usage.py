"""Usage, cost and latency accounting."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from evals.inference.engine import CallOutcome
from evals.providers.base import Generation, GenerationRequest, Usage
from evals.inference.usage import UsageStats, percentile, usage_table
from metrics.errors import ClassifiedError, ErrorKind

REQ = GenerationRequest(item_id="x", messages=({"role": "user", "content": "hi"},))


def ok(input_tokens, output_tokens, latency_ms, attempts=1, cached=False):
    return CallOutcome(0, REQ, Generation("t", usage=Usage(input_tokens, output_tokens)), None,
                       attempts=0 if cached else attempts, cached=cached, latency_ms=latency_ms)


def failed(kind, attempts=1):
    return CallOutcome(0, REQ, None, ClassifiedError(kind, "boom", "generate"), attempts=attempts)


@pytest.mark.parametrize("n", [1, 2, 3, 10, 101, 1000])
def test_percentiles_match_numpy(n):
    rng = random.Random(n)
    data = [rng.lognormvariate(6, 1) for _ in range(n)]
    for q in (0, 1, 50, 95, 99, 99.9, 100):
        assert percentile(data, q) == pytest.approx(float(np.percentile(data, q)), rel=1e-12)


def test_percentile_of_nothing_is_nan():
    assert math.isnan(percentile([], 50))
    with pytest.raises(ValueError):
        percentile([1.0], 101)


def test_metrics_from_recorded_outcomes():
    stats = UsageStats.from_config({"name": "nova-lite", "price_per_1k_input": 0.06,
                                    "price_per_1k_output": 0.24})
    latencies = [100.0, 200.0, 300.0, 400.0, 1000.0]
    for ms in latencies:
        stats.record(ok(1000, 500, ms))
    stats.record(ok(2000, 100, 5000.0, attempts=3))
    stats.record(ok(1000, 500, 0.1, cached=True))
    stats.record(failed(ErrorKind.THROTTLED, attempts=6))
    stats.record(failed(ErrorKind.TIMEOUT, attempts=2))
    m = stats.to_metrics()

    all_latencies = latencies + [5000.0]
    assert m["usage/calls"] == 9
    assert m["usage/cached_calls"] == 1
    assert m["usage/input_tokens"] == 5 * 1000 + 2000
    assert m["usage/output_tokens"] == 5 * 500 + 100
    assert m["usage/cost_usd"] == pytest.approx((7000 * 0.06 + 2600 * 0.24) / 1000)
    assert m["usage/cache_saved_usd"] == pytest.approx((1000 * 0.06 + 500 * 0.24) / 1000)
    assert m["usage/retries"] == 2 + 5 + 1
    assert m["usage/attempts"] == 5 + 3 + 6 + 2
    assert m["usage/errors"] == 2
    assert m["errors/throttled"] == 1 and m["errors/timeout"] == 1
    for q in (50, 95, 99):
        assert m[f"latency/p{q}_ms"] == pytest.approx(np.percentile(all_latencies, q))
    assert all(isinstance(v, float) for v in m.values())


def test_runner_style_construction_reads_prices():
    stats = UsageStats(name="cand", model_config={"name": "m", "price_per_1k_input": "0.5"})
    stats.record(ok(2000, 10, 5.0))
    assert stats.name == "cand" and stats.to_metrics()["usage/cost_usd"] == pytest.approx(1.0)


def test_no_latency_keys_without_fresh_successes_and_free_without_prices():
    stats = UsageStats.from_config({"name": "local"})
    stats.record(ok(10, 10, 0.0, cached=True))
    m = stats.to_metrics(prefix="candidate/")
    assert not any("latency" in k for k in m)
    assert m["candidate/usage/cost_usd"] == 0.0


@pytest.mark.parametrize("price", [-1, "cheap", float("nan")])
def test_bad_price_names_the_key(price):
    with pytest.raises(ValueError, match="'m'.*price_per_1k_output"):
        UsageStats.from_config({"name": "m", "price_per_1k_output": price})


def test_table_renders():
    pytest.importorskip("rich")
    from rich.console import Console

    stats = UsageStats(name="nova-lite", model_config={"price_per_1k_input": 0.06, "price_per_1k_output": 0.24})
    stats.record(ok(1000, 500, 250.0))
    stats.record(failed(ErrorKind.THROTTLED))
    console = Console(width=160, record=True)
    console.print(usage_table([stats, UsageStats(name="smollm2")]))
    console.print(stats.table())
    text = console.export_text()
    assert "nova-lite" in text and "smollm2" in text and "throttled 1" in text and "250" in text
    assert "0.1800" in text  # (1000 * 0.06 + 500 * 0.24) / 1000
