"""The engine against an in-process scripted provider: concurrency bound, retries, backoff, deadlines,
fatal errors, cache, order, rate limits."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter

import pytest

import evals.inference.deadline as deadline
from evals.inference.cache import GenerationCache
from evals.inference.engine import CallOutcome, Engine, EngineSettings, FatalRunError
from evals.providers.base import Generation, GenerationRequest, ProviderError, Usage
from evals.inference._rate_limit import RateLimiter, TokenBucket
from metrics.backoff import BackoffPolicy
from evals.inference.usage import UsageStats
from metrics.errors import ErrorKind

HANG = "hang"


class ScriptedProvider:
    """Each item id maps to a list of actions, one per call: an exception to raise, HANG (block until
    released or the deadline the engine passed), or "ok". Calls past the end of the script succeed."""

    name = "scripted"
    model_id = "scripted-1"

    def __init__(self, script=None, latency_s=0.0, max_concurrency=1000, hang_s=5.0):
        self.script = script or {}
        self.latency_s = latency_s
        self.max_concurrency = max_concurrency
        self.hang_s = hang_s
        self.calls: Counter[str] = Counter()
        self.deadlines_seen: list[float | None] = []
        self.release = threading.Event()
        self._lock = threading.Lock()
        self.inflight = 0
        self.peak = 0

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    def identity(self):
        return {"kind": "scripted", "model": self.model_id}

    def generate(self, request: GenerationRequest) -> Generation:
        with self._lock:
            self.inflight += 1
            self.peak = max(self.peak, self.inflight)
            n = self.calls[request.item_id]
            self.calls[request.item_id] += 1
        try:
            latency = self.latency_s(request) if callable(self.latency_s) else self.latency_s
            if latency:
                time.sleep(latency)
            actions = self.script.get(request.item_id, [])
            action = actions[n] if n < len(actions) else "ok"
            if isinstance(action, BaseException):
                raise action
            if action == HANG:
                remaining = deadline.remaining_s()
                self.deadlines_seen.append(remaining)
                # A well-behaved provider uses the engine's deadline as its own timeout.
                if not self.release.wait(timeout=min(self.hang_s, remaining or self.hang_s)):
                    raise ProviderError(ErrorKind.TIMEOUT, "read timeout", retryable=True)
            return Generation(text=f"out:{request.item_id}", usage=Usage(10, 5), latency_ms=1.0,
                              model_id=self.model_id)
        finally:
            with self._lock:
                self.inflight -= 1


def requests(n: int, prefix: str = "r") -> list[GenerationRequest]:
    return [GenerationRequest(item_id=f"{prefix}{i}", messages=({"role": "user", "content": f"q{i}"},))
            for i in range(n)]


def throttled(msg="slow down"):
    return ProviderError(ErrorKind.THROTTLED, msg, retryable=True, code="ThrottlingException")


def no_sleep_backoff(max_attempts=6, seed=0, record=None):
    return BackoffPolicy(0.5, 20.0, max_attempts, rng=random.Random(seed),
                         sleep=(record.append if record is not None else lambda s: None))


@pytest.fixture
def released():
    providers = []
    yield providers.append
    for p in providers:  # free hanging worker threads so the test process exits promptly
        p.release.set()


def test_one_outcome_per_request_in_order():
    # Later requests finish first, so completion order is the reverse of request order.
    provider = ScriptedProvider(latency_s=lambda r: 0.05 - 0.002 * int(r.item_id[1:]))
    reqs = requests(20)
    outcomes = Engine(provider, EngineSettings(max_concurrency=20)).run(reqs, progress=None)
    assert [o.index for o in outcomes] == list(range(20))
    assert [o.generation.text for o in outcomes] == [f"out:r{i}" for i in range(20)]
    assert all(o.request is r for o, r in zip(outcomes, reqs, strict=True))
    assert all(o.attempts == 1 and not o.cached and o.error is None for o in outcomes)


def test_run_iter_yields_in_completion_order():
    provider = ScriptedProvider(latency_s=lambda r: 0.2 if r.item_id == "r0" else 0.0)
    order = [o.index for o in Engine(provider, EngineSettings(max_concurrency=4)).run_iter(requests(4), None)]
    assert sorted(order) == [0, 1, 2, 3]
    assert order[-1] == 0


def test_concurrency_limit_never_exceeded():
    provider = ScriptedProvider(latency_s=0.01)
    engine = Engine(provider, EngineSettings(max_concurrency=7))
    outcomes = engine.run(requests(200), progress=None)
    assert all(o.ok for o in outcomes)
    assert provider.peak <= 7
    assert engine.peak_inflight <= 7
    assert provider.peak >= 4  # the calls really did overlap


def test_provider_cap_overrides_config():
    provider = ScriptedProvider(latency_s=0.005, max_concurrency=1)
    engine = Engine(provider, EngineSettings(max_concurrency=96))
    assert engine.max_concurrency == 1
    engine.run(requests(30), progress=None)
    assert provider.peak == 1


def test_retries_only_on_retryable_errors():
    bad_request = ProviderError(ErrorKind.VALIDATION, "too long", retryable=False)
    server_error = ProviderError(ErrorKind.PROVIDER, "503", retryable=True, code="ServiceUnavailableException")
    plain_throttle = ProviderError(ErrorKind.PROVIDER, "rate", retryable=True, code="ThrottlingException")
    script = {
        "twice-then-ok": [throttled(), server_error, "ok"],
        "not-retryable": [bad_request, "ok"],
        "always-throttled": [throttled()] * 10,
        "always-503": [server_error] * 10,
        "code-only-throttle": [plain_throttle] * 10,
        "buggy": [KeyError("missing")],
    }
    provider = ScriptedProvider(script)
    reqs = [GenerationRequest(item_id=k, messages=({"role": "user", "content": k},)) for k in script]
    usage = UsageStats("scripted")
    engine = Engine(provider, EngineSettings(max_attempts=4), usage=usage, backoff=no_sleep_backoff(4))
    out = {o.request.item_id: o for o in engine.run(reqs, progress=None)}

    assert provider.calls["twice-then-ok"] == 3 and out["twice-then-ok"].ok
    assert out["twice-then-ok"].attempts == 3
    assert provider.calls["not-retryable"] == 1
    assert out["not-retryable"].error.kind == ErrorKind.VALIDATION
    assert provider.calls["always-throttled"] == 4
    assert out["always-throttled"].error.kind == ErrorKind.THROTTLED
    assert "4 attempts" in out["always-throttled"].error.message
    assert provider.calls["always-503"] == 4
    assert out["always-503"].error.kind == ErrorKind.PROVIDER
    assert out["code-only-throttle"].error.kind == ErrorKind.THROTTLED
    # An unexpected exception fails its own sample, classified, without a retry.
    assert provider.calls["buggy"] == 1
    assert out["buggy"].error.kind == ErrorKind.PROVIDER and "KeyError" in out["buggy"].error.message
    assert all(o.error.stage == "generate" for o in out.values() if o.error)
    assert usage.retries == 2 + 3 + 3 + 3
    assert usage.errors == {"validation_error": 1, "throttled": 2, "provider_error": 2}


def test_backoff_delays_grow_with_full_jitter():
    policy = BackoffPolicy(0.5, 20.0, 6, rng=random.Random(1))
    assert [policy.ceiling(a) for a in range(8)] == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 20.0, 20.0]
    samples = [[policy.delay(a) for _ in range(400)] for a in range(6)]
    for a, delays in enumerate(samples):
        assert all(0.0 <= d <= policy.ceiling(a) for d in delays)
        assert len(set(delays)) == len(delays)  # jittered, not a fixed schedule
        mean = sum(delays) / len(delays)
        assert 0.4 * policy.ceiling(a) < mean < 0.6 * policy.ceiling(a)  # uniform over [0, ceiling]
    means = [sum(d) / len(d) for d in samples]
    assert means == sorted(means)  # waits grow with the attempt number


def test_engine_sleeps_the_policy_delays():
    slept: list[float] = []
    provider = ScriptedProvider({"r0": [throttled()] * 10})
    engine = Engine(provider, EngineSettings(), backoff=no_sleep_backoff(6, seed=7, record=slept))
    [outcome] = engine.run(requests(1), progress=None)
    assert outcome.error.kind == ErrorKind.THROTTLED and provider.calls["r0"] == 6
    replay = random.Random(7)
    assert slept == [replay.uniform(0, min(20.0, 0.5 * 2**a)) for a in range(5)]


def test_call_deadline_times_out_a_hung_call(released):
    provider = ScriptedProvider({"r1": [HANG]}, hang_s=5.0)
    released(provider)
    engine = Engine(provider, EngineSettings(max_concurrency=4, call_deadline_s=0.3))
    start = time.monotonic()
    outcomes = engine.run(requests(3), progress=None)
    elapsed = time.monotonic() - start
    assert elapsed < 2.0
    assert outcomes[1].error.kind == ErrorKind.TIMEOUT and outcomes[1].attempts == 1
    assert outcomes[0].ok and outcomes[2].ok
    # The provider was told how long it had, to use as its own read timeout.
    assert provider.deadlines_seen and 0 < provider.deadlines_seen[0] <= 0.3


def test_provider_that_ignores_the_deadline_still_times_out(released):
    class Stubborn(ScriptedProvider):
        def generate(self, request):
            if request.item_id == "r0":
                self.release.wait(5.0)  # ignores deadline.remaining_s()
            return super().generate(request)

    provider = Stubborn()
    released(provider)
    start = time.monotonic()
    outcomes = Engine(provider, EngineSettings(call_deadline_s=0.3)).run(requests(2), progress=None)
    assert time.monotonic() - start < 2.0
    assert outcomes[0].error.kind == ErrorKind.TIMEOUT and outcomes[1].ok


def test_call_deadline_cuts_backoff_short():
    provider = ScriptedProvider({"r0": [throttled()] * 10})
    settings = EngineSettings(call_deadline_s=0.5, backoff_base_s=10.0, backoff_max_s=10.0)
    start = time.monotonic()
    [outcome] = Engine(provider, settings).run(requests(1), progress=None)
    assert time.monotonic() - start < 2.0
    assert outcome.error.kind == ErrorKind.TIMEOUT
    assert "ThrottlingException" in outcome.error.message  # the cause is kept


def test_run_deadline_ends_every_request_with_an_outcome():
    provider = ScriptedProvider(latency_s=0.2)
    usage = UsageStats("scripted")
    engine = Engine(provider, EngineSettings(max_concurrency=2, run_deadline_s=0.5), usage=usage)
    start = time.monotonic()
    outcomes = engine.run(requests(20), progress=None)
    assert time.monotonic() - start < 1.5
    assert [o.index for o in outcomes] == list(range(20))
    done = [o for o in outcomes if o.ok]
    timed_out = [o for o in outcomes if o.error is not None]
    assert 2 <= len(done) <= 6
    assert len(done) + len(timed_out) == 20
    assert all(o.error.kind == ErrorKind.TIMEOUT for o in timed_out)
    assert usage.calls == 20 and usage.errors["timeout"] == len(timed_out)
    time.sleep(0.3)  # let the two running calls return: nothing new starts after the deadline
    assert provider.total_calls <= len(done) + 2


def test_fatal_error_stops_the_run_early():
    auth = ProviderError(ErrorKind.AUTH, "The security token included in the request is invalid",
                         fatal=True, code="UnrecognizedClientException")
    provider = ScriptedProvider({"r3": [auth]}, latency_s=0.01)
    engine = Engine(provider, EngineSettings(max_concurrency=4))
    start = time.monotonic()
    with pytest.raises(FatalRunError) as info:
        engine.run(requests(500), progress=None)
    assert time.monotonic() - start < 1.0
    assert "security token included in the request is invalid" in str(info.value)
    assert info.value.kind == ErrorKind.AUTH
    time.sleep(0.05)
    assert provider.total_calls < 20  # not 500


def test_cache_hit_makes_no_call_and_returns_the_same_generation(tmp_path):
    reqs = requests(10)
    script = {"r4": [ProviderError(ErrorKind.VALIDATION, "nope")]}
    with GenerationCache(tmp_path / "gen.sqlite") as cache:
        first = Engine(ScriptedProvider(script), cache=cache).run(reqs, progress=None)
        again_provider = ScriptedProvider()
        usage = UsageStats("scripted")
        second = Engine(again_provider, cache=cache, usage=usage).run(reqs, progress=None)
    # Errors are not cached: only the failed request is called again.
    assert again_provider.calls == {"r4": 1}
    for a, b in zip(first, second, strict=True):
        if a.ok:
            assert b.cached and b.attempts == 0 and b.generation == a.generation
    assert usage.cached_calls == 9 and usage.calls == 10


def test_rate_limiter_spaces_requests_with_a_fake_clock():
    clock = FakeClock()
    bucket = TokenBucket(60, clock=clock, sleep=clock.sleep)  # one per second, burst of one
    starts = []
    for _ in range(5):
        assert bucket.acquire()
        starts.append(clock.now)
    assert starts == pytest.approx([0.0, 1.0, 2.0, 3.0, 4.0])
    clock.now += 10  # idle time refills only up to the burst
    bucket.acquire(), bucket.acquire()
    assert clock.now == pytest.approx(15.0)


def test_rate_limiter_deadline_refuses_without_taking():
    clock = FakeClock()
    bucket = TokenBucket(60, clock=clock, sleep=clock.sleep)
    assert bucket.acquire()
    assert not bucket.acquire(deadline=0.5)  # next slot is at t=1
    assert clock.now == 0.0
    assert bucket.acquire(deadline=1.0) and clock.now == pytest.approx(1.0)


def test_tokens_per_minute_waits_for_large_requests_and_settles():
    clock = FakeClock()
    limiter = RateLimiter(tokens_per_minute=6000, clock=clock, sleep=clock.sleep)  # 100 tokens/s
    assert limiter.acquire(tokens=100) and clock.now == 0.0
    assert limiter.acquire(tokens=300) and clock.now == pytest.approx(3.0)
    limiter.settle_tokens(estimated=300, actual=100)  # refund what was not used, up to the burst
    assert limiter.acquire(tokens=200) and clock.now == pytest.approx(4.0)  # 5.0 without the refund


def test_engine_applies_requests_per_minute():
    clock = FakeClock()
    limiter = RateLimiter(requests_per_minute=30, clock=clock, sleep=clock.sleep)  # one per 2 s
    provider = ScriptedProvider()
    provider.generate_times = []
    original = provider.generate

    def timed(request):
        provider.generate_times.append(clock.now)
        return original(request)

    provider.generate = timed
    Engine(provider, EngineSettings(max_concurrency=1), limiter=limiter).run(requests(5), progress=None)
    assert provider.generate_times == pytest.approx([0.0, 2.0, 4.0, 6.0, 8.0])


def test_token_bucket_is_thread_safe_with_a_real_clock():
    bucket = TokenBucket(1200, burst=1)  # one per 50 ms
    stamps: list[float] = []
    lock = threading.Lock()

    def worker():
        for _ in range(3):
            bucket.acquire()
            with lock:
                stamps.append(time.monotonic())

    threads = [threading.Thread(target=worker) for _ in range(6)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(stamps) == 18
    assert max(stamps) - start >= 17 * 0.05 * 0.9


def test_settings_from_config():
    assert EngineSettings.from_config({"name": "m"}) == EngineSettings()
    s = EngineSettings.from_config({"name": "m", "max_concurrency": 8, "requests_per_minute": "100",
                                    "call_deadline_s": None, "engine": {"max_attempts": 2},
                                    "model_id": "x"})
    assert (s.max_concurrency, s.requests_per_minute, s.max_attempts, s.call_deadline_s) == (8, 100.0, 2, None)
    with pytest.raises(ValueError, match="'m'.*tokens_per_minute"):
        EngineSettings.from_config({"name": "m", "tokens_per_minute": "lots"})
    with pytest.raises(ValueError, match="'m'.*max_concurrency"):
        EngineSettings.from_config({"name": "m", "max_concurrency": 0})


def test_outcome_is_a_plain_record():
    o = CallOutcome(0, requests(1)[0], None, None)
    assert not o.ok and o.attempts == 0


class FakeClock:
    def __init__(self):
        self.now = 0.0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


def test_bound_holds_across_concurrent_runs_of_one_engine():
    provider = ScriptedProvider(latency_s=0.01)
    engine = Engine(provider, EngineSettings(max_concurrency=3))
    results: list[list[CallOutcome]] = []
    threads = [threading.Thread(target=lambda p=p: results.append(engine.run(requests(40, p), None)))
               for p in "abc"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert provider.peak <= 3 and provider.total_calls == 120
    assert all(o.ok for batch in results for o in batch)


def test_empty_batch_and_early_close():
    provider = ScriptedProvider(latency_s=0.02)
    engine = Engine(provider, EngineSettings(max_concurrency=2))
    assert engine.run([], progress=None) == []
    stream = engine.run_iter(requests(100), progress=None)
    next(stream)
    stream.close()  # the consumer stops listening: queued calls are cancelled
    time.sleep(0.1)
    assert provider.total_calls <= 5


def test_unflagged_auth_failures_stop_the_run_after_a_few_calls():
    denied = ProviderError(ErrorKind.AUTH, "AccessDeniedException: not authorized", code="AccessDeniedException")
    provider = ScriptedProvider({f"r{i}": [denied] for i in range(500)})
    with pytest.raises(FatalRunError, match="first 5 finished calls all failed with auth_error.*not authorized"):
        Engine(provider, EngineSettings(max_concurrency=2, fail_fast_after=5)).run(requests(500), None)
    time.sleep(0.05)
    assert provider.total_calls < 10


def test_per_sample_validation_errors_after_a_success_do_not_stop_the_run():
    too_long = ProviderError(ErrorKind.VALIDATION, "input is too long")
    provider = ScriptedProvider({f"r{i}": [too_long] for i in range(1, 30)})
    outcomes = Engine(provider, EngineSettings(max_concurrency=1, fail_fast_after=5)).run(requests(30), None)
    assert outcomes[0].ok and sum(o.error is not None for o in outcomes) == 29


def test_deadline_is_scoped_to_the_call():
    assert deadline.remaining_s(default=7.0) == 7.0
    with deadline.call_deadline(time.monotonic() + 2.0):
        assert 1.5 < deadline.remaining_s() <= 2.0
        with deadline.call_deadline(None):
            assert deadline.remaining_s() is None
    assert deadline.remaining_s() is None
