"""The one engine every provider runs through: bounded concurrency, optional rate limits, retries with
backoff and full jitter, deadlines per call and per run, a content-addressed cache, and usage records.

Guarantees:
- at most `max_concurrency` provider.generate calls are in flight at any moment (a worker thread is
  held until its call returns, even after the engine has given up waiting for it);
- every request ends with exactly one CallOutcome, in request order from run(): a generation or a
  classified error, never dropped;
- a ProviderError with fatal=True (bad credentials, unknown model, invalid request) stops the run at once:
  queued calls are cancelled and run() raises FatalRunError with the provider's message. As a safety
  net, a run whose first `fail_fast_after` finished calls all failed with auth or validation errors
  stops the same way, even if the provider did not flag them fatal.

Threads cannot be killed, so a call that overruns its deadline is recorded as TIMEOUT and left to
finish in the background. Providers should pass `evals.inference.deadline.remaining_s()` as their own read
timeout so that the thread is freed close to the deadline too (see evals/inference/deadline.py).

The module imports only the standard library (rich is imported lazily for the progress bar), so the
same engine can serve the judges inside the reward Lambda.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from queue import Empty, SimpleQueue
from typing import Any

import evals.inference.deadline as deadlines
from evals.inference.progress import ProgressBar
from evals.inference.cache import GenerationCache, cache_key
from evals.inference._outcome import CallOutcome  # also importable from here, where it was first
from evals.providers.base import Generation, GenerationRequest, Provider, ProviderError
from evals.inference._rate_limit import RateLimiter
from metrics.backoff import BackoffPolicy
from evals.inference.usage import UsageStats
from metrics.errors import ClassifiedError, ErrorKind

log = logging.getLogger(__name__)

DEFAULT_MAX_CONCURRENCY = 96  # sized for ~100 calls in flight against a remote endpoint
DEFAULT_PROGRESS = "generating {name}"
STAGE = "generate"
# Endpoint error names that mean "slow down", for providers that classify them as plain provider errors.
THROTTLE_CODES = frozenset({"ThrottlingException", "TooManyRequestsException", "RateLimitError", "429"})
_POLL_S = 0.25  # how often the collector looks for calls past their own deadline


class FatalRunError(RuntimeError):
    """A provider said the whole run cannot succeed (auth, validation, unknown model)."""

    def __init__(self, message: str, *, model: str = "", kind: ErrorKind = ErrorKind.PROVIDER,
                 code: str = ""):
        super().__init__(message)
        self.model = model
        self.kind = kind
        self.code = code


@dataclass(frozen=True)
class EngineSettings:
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY
    requests_per_minute: float | None = None
    tokens_per_minute: float | None = None
    max_attempts: int = 6  # total attempts per request, the first one included
    backoff_base_s: float = 0.5
    backoff_max_s: float = 20.0
    call_deadline_s: float | None = None  # whole call: every attempt and backoff, from its first attempt
    run_deadline_s: float | None = None  # whole run, from run() being called
    # Safety net for providers that do not flag fatal errors: when the first N finished calls of a run
    # all failed with auth or validation errors, stop as if the provider had said fatal.
    fail_fast_after: int | None = 10

    def __post_init__(self) -> None:
        if self.max_concurrency < 1:
            raise ValueError(f"max_concurrency must be >= 1, got {self.max_concurrency}")
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be >= 1, got {self.max_attempts}")
        for name in ("requests_per_minute", "tokens_per_minute", "call_deadline_s", "run_deadline_s",
                     "fail_fast_after"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"{name} must be > 0 or unset, got {value}")

    @classmethod
    def from_config(cls, model_cfg: Mapping[str, Any]) -> EngineSettings:
        """Read the engine keys of a model config (top level, or an `engine:` block that overrides it).
        Missing or null keys keep their defaults; other keys of the model config are ignored."""
        merged: dict[str, Any] = {k: model_cfg[k] for k in model_cfg if k in _FIELDS}
        nested = model_cfg.get("engine")
        if isinstance(nested, Mapping):
            merged.update({k: nested[k] for k in nested if k in _FIELDS})
        name = model_cfg.get("name", "?")
        values: dict[str, Any] = {}
        for key, raw in merged.items():
            if raw is None:
                continue
            cast = int if key in ("max_concurrency", "max_attempts", "fail_fast_after") else float
            try:
                values[key] = cast(raw)
            except (TypeError, ValueError):
                raise ValueError(f"model config {name!r}: {key} must be a number, got {raw!r}") from None
        try:
            return cls(**values)
        except ValueError as exc:
            raise ValueError(f"model config {name!r}: {exc}") from None


_FIELDS = frozenset(EngineSettings.__dataclass_fields__)


@dataclass
class _Run:
    """State of one run() call, so one Engine can serve several batches at once (e.g. judge threads)."""

    stop: threading.Event = field(default_factory=threading.Event)
    deadline: float | None = None
    early: _EarlyFailures = field(default_factory=lambda: _EarlyFailures(None))
    # Calls a worker has started and not finished, by index: the only ones a call deadline can catch, so
    # the collector scans these (at most max_concurrency plus those in backoff), not the whole batch.
    active: dict[int, _Call] = field(default_factory=dict)


@dataclass
class _Call:
    """Shared between a worker (which updates it) and the collector (which may give up on it)."""

    index: int
    request: GenerationRequest
    key: str | None
    run: _Run
    started: float | None = None
    attempts: int = 0
    last_error: str = ""
    abandoned: bool = False
    future: Future[CallOutcome | None] | None = None


class _EarlyFailures:
    """Counts auth/validation failures until the first success of a run (shared by its workers)."""

    KINDS = frozenset({ErrorKind.AUTH, ErrorKind.VALIDATION})

    def __init__(self, limit: int | None):
        self.limit = limit
        self.count = 0
        self.succeeded = False
        self._lock = threading.Lock()

    def hopeless(self, outcome: CallOutcome) -> bool:
        if self.limit is None:
            return False
        with self._lock:
            if self.succeeded:
                return False
            if outcome.error is None:
                self.succeeded = True
                return False
            if outcome.error.kind not in self.KINDS:
                return False  # throttling or timeouts say nothing about the config
            self.count += 1
            return self.count >= self.limit


class _Fatal(Exception):
    def __init__(self, error: ProviderError):
        super().__init__(str(error))
        self.error = error


class _Hopeless(Exception):
    def __init__(self, outcome: CallOutcome, count: int):
        super().__init__(outcome.error.message if outcome.error else "")
        self.outcome = outcome
        self.count = count


def _estimate_tokens(request: GenerationRequest) -> int:
    # About four characters per token, plus the full output budget, which is what endpoints such as
    # Bedrock reserve against a tokens-per-minute quota when a request starts.
    chars = sum(len(str(m.get("content", ""))) for m in request.messages)
    return chars // 4 + request.max_tokens


def _drain(finished: SimpleQueue[Future[CallOutcome | None]], timeout: float | None) -> list[Future[Any]]:
    """The futures done so far: wait up to `timeout` (None: forever) for the first, then take the rest
    without waiting. Empty when the timeout passed first."""
    try:
        first = finished.get(timeout=timeout)
    except Empty:
        return []
    done = [first]
    while True:
        try:
            done.append(finished.get_nowait())
        except Empty:
            return done


class Engine:
    def __init__(self, provider: Provider, settings: EngineSettings | None = None,
                 cache: GenerationCache | None = None, usage: UsageStats | None = None, *,
                 backoff: BackoffPolicy | None = None, limiter: RateLimiter | None = None):
        self.provider = provider
        self.settings = settings or EngineSettings()
        self.cache = cache
        self.usage = usage
        # The provider knows its own ceiling (llama.cpp in process: 1); the config cannot raise it.
        own = getattr(provider, "max_concurrency", None) or self.settings.max_concurrency
        self.max_concurrency = max(1, min(self.settings.max_concurrency, int(own)))
        self.backoff = backoff or BackoffPolicy(self.settings.backoff_base_s, self.settings.backoff_max_s,
                                                self.settings.max_attempts)
        self.limiter = limiter or RateLimiter(self.settings.requests_per_minute,
                                              self.settings.tokens_per_minute)
        # Bounds provider calls across every run of this engine (an executor bounds only its own run).
        self._slots = threading.BoundedSemaphore(self.max_concurrency)
        self._inflight = 0
        self._inflight_lock = threading.Lock()
        self.peak_inflight = 0  # highest number of provider.generate calls in flight, for checks

    @property
    def name(self) -> str:
        return getattr(self.provider, "name", "") or getattr(self.provider, "model_id", "model")

    # ------------------------------------------------------------------ public API
    def run(self, requests: Sequence[GenerationRequest],
            progress: str | None = DEFAULT_PROGRESS) -> list[CallOutcome]:
        """One outcome per request, in request order. Raises FatalRunError on a fatal provider error."""
        outcomes: list[CallOutcome | None] = [None] * len(requests)
        for outcome in self.run_iter(requests, progress=progress):
            outcomes[outcome.index] = outcome
        missing = [i for i, o in enumerate(outcomes) if o is None]
        if missing:  # cannot happen by construction; fail loudly rather than lose samples
            raise AssertionError(f"engine lost requests {missing[:10]}")
        done = [o for o in outcomes if o is not None]
        errors = sum(o.error is not None for o in done)
        log.info("%s: %d requests, %d cached, %d failed", self.name, len(done),
                 sum(o.cached for o in done), errors)
        return done

    def run_iter(self, requests: Sequence[GenerationRequest],
                 progress: str | None = DEFAULT_PROGRESS) -> Iterator[CallOutcome]:
        """Yield outcomes as they complete (cache hits first). Closing the iterator early cancels the
        calls not yet started."""
        requests = list(requests)
        run_s = self.settings.run_deadline_s
        run = _Run(deadline=time.monotonic() + run_s if run_s is not None else None,
                   early=_EarlyFailures(self.settings.fail_fast_after))
        bar = ProgressBar(progress.replace("{name}", self.name) if progress else None, len(requests))
        executor: ThreadPoolExecutor | None = None
        try:
            identity = self.provider.identity() if self.cache is not None else None
            todo: list[_Call] = []
            for index, request in enumerate(requests):
                key = cache_key(identity, request) if identity is not None else None
                generation = self.cache.get(key) if key is not None and self.cache is not None else None
                if generation is not None:
                    yield self._emit(CallOutcome(index, request, generation, None, cached=True), bar)
                else:
                    todo.append(_Call(index, request, key, run))
            if not todo:
                return
            executor = ThreadPoolExecutor(max_workers=min(self.max_concurrency, len(todo)),
                                          thread_name_prefix=f"engine-{self.name}")
            futures: dict[Future[CallOutcome | None], _Call] = {}
            for call in todo:
                call.future = executor.submit(self._execute, call)
                futures[call.future] = call
            # Each future announces itself when done, so the collector wakes in O(1) per call;
            # concurrent.futures.wait() would re-register a waiter on every pending future per wakeup,
            # which costs O(pending) lock operations and dominated the engine's CPU on large batches.
            finished: SimpleQueue[Future[CallOutcome | None]] = SimpleQueue()
            for future in futures:
                future.add_done_callback(finished.put)
            yield from self._collect(run, futures, finished, bar)
        finally:
            run.stop.set()
            if executor is not None:
                executor.shutdown(wait=False, cancel_futures=True)
            bar.close()

    # ------------------------------------------------------------------ collector (caller's thread)
    def _collect(self, run: _Run, futures: dict[Future[CallOutcome | None], _Call],
                 finished: SimpleQueue[Future[CallOutcome | None]], bar: ProgressBar) -> Iterator[CallOutcome]:
        call_s = self.settings.call_deadline_s
        next_scan = time.monotonic() + _POLL_S  # call deadlines are checked every _POLL_S, not per wakeup
        while futures:
            wakeups = [run.deadline] if run.deadline is not None else []
            if call_s is not None:
                wakeups.append(next_scan)
            timeout = max(0.0, min(wakeups) - time.monotonic()) if wakeups else None
            for future in _drain(finished, timeout):
                call = futures.pop(future, None)
                if call is None:  # abandoned at its deadline (already reported) and finished later
                    continue
                try:
                    outcome = future.result()
                except _Fatal as fatal:
                    raise self._fatal(fatal.error, call) from fatal.error
                except _Hopeless as hopeless:
                    error = hopeless.outcome.error
                    assert error is not None
                    raise FatalRunError(
                        f"{self.name}: the first {hopeless.count} finished calls all failed with {error.kind}, "
                        f"the last with: {error.message} — stopped the run early; fix the model config or "
                        "credentials and rerun", model=self.name, kind=error.kind) from None
                except CancelledError:
                    outcome = None
                yield self._emit(outcome or self._timeout(call, "the run stopped before this call ran"), bar)
            now = time.monotonic()
            if run.deadline is not None and now >= run.deadline:
                run.stop.set()  # no new attempts; workers in backoff wake up and leave
                for future, call in sorted(futures.items(), key=lambda item: item[1].index):
                    future.cancel()
                    call.abandoned = True
                    yield self._emit(self._timeout(call, f"run deadline of {self.settings.run_deadline_s:g} s "
                                                         "passed before this call finished"), bar)
                futures.clear()
            elif call_s is not None and now >= next_scan:
                # Every _POLL_S and over started calls only: scanning every pending call at every
                # completion made large batches quadratic.
                next_scan = now + _POLL_S
                for call in sorted(list(run.active.values()), key=lambda c: c.index):
                    future = call.future
                    if (future in futures and call.started is not None and now >= call.started + call_s
                            and future is not None and not future.done()):
                        call.abandoned = True
                        del futures[future]
                        yield self._emit(self._timeout(call, f"call deadline of {call_s:g} s passed"), bar)

    def _emit(self, outcome: CallOutcome, bar: ProgressBar) -> CallOutcome:
        if self.usage is not None:
            self.usage.record(outcome)
        bar.advance()
        return outcome

    def _fatal(self, error: ProviderError, call: _Call) -> FatalRunError:
        code = f" [{error.code}]" if error.code else ""
        return FatalRunError(
            f"{self.name}: {error}{code} — stopped the run early ({error.kind}) at request "
            f"{call.request.item_id!r}; fix the model config or credentials and rerun",
            model=self.name, kind=error.kind, code=error.code)

    def _timeout(self, call: _Call, why: str) -> CallOutcome:
        last = f"; last error: {call.last_error}" if call.last_error else ""
        return CallOutcome(call.index, call.request, None,
                           ClassifiedError(ErrorKind.TIMEOUT, f"{why} after {call.attempts} attempt(s){last}",
                                           STAGE),
                           attempts=call.attempts, latency_ms=self._elapsed_ms(call))

    @staticmethod
    def _elapsed_ms(call: _Call) -> float:
        return (time.monotonic() - call.started) * 1000.0 if call.started is not None else 0.0

    # ------------------------------------------------------------------ worker threads
    def _deadline_for(self, call: _Call) -> float | None:
        ends = [call.run.deadline] if call.run.deadline is not None else []
        if self.settings.call_deadline_s is not None and call.started is not None:
            ends.append(call.started + self.settings.call_deadline_s)
        return min(ends) if ends else None

    def _stopped(self, call: _Call) -> bool:
        return call.run.stop.is_set() or call.abandoned

    def _execute(self, call: _Call) -> CallOutcome | None:
        try:
            outcome = self._attempts(call)
        except _Fatal:
            call.run.stop.set()  # at once, so no other worker starts a call meanwhile
            raise
        finally:
            call.run.active.pop(call.index, None)
        if outcome is not None and call.run.early.hopeless(outcome):
            call.run.stop.set()
            raise _Hopeless(outcome, call.run.early.count)
        return outcome

    def _attempts(self, call: _Call) -> CallOutcome | None:
        if self._stopped(call):
            return None
        call.started = time.monotonic()
        call.run.active[call.index] = call
        until = self._deadline_for(call)
        estimate = _estimate_tokens(call.request) if self.limiter.active else 0
        while True:
            if self._stopped(call):
                return None
            if until is not None and time.monotonic() >= until:
                return self._timeout(call, "deadline passed")
            if self.limiter.active and not self.limiter.acquire(estimate, until):
                return self._timeout(call, "the rate limit would hold this call past its deadline")
            wait_s = None if until is None else max(0.0, until - time.monotonic())
            if not self._slots.acquire(timeout=wait_s):
                return self._timeout(call, "no free concurrency slot before the deadline")
            call.attempts += 1
            try:
                generation = self._generate(call.request, until)
            except ProviderError as error:
                self.limiter.settle_tokens(estimate, 0)
                if error.fatal:
                    raise _Fatal(error) from error
                call.last_error = f"{error.kind}: {error}" + (f" [{error.code}]" if error.code else "")
                if not error.retryable or not self.backoff.may_retry(call.attempts):
                    return self._failed(call, error)
                delay = self.backoff.delay(call.attempts - 1)
                if not self.backoff.fits(delay, until):
                    return self._timeout(call, "deadline would pass during backoff")
                if self._sleep(call.run, delay):
                    return None
                continue
            except Exception as exc:  # a provider bug fails this sample only, never the batch
                log.warning("%s: unexpected %s on %r", self.name, type(exc).__name__, call.request.item_id,
                            exc_info=True)
                return CallOutcome(call.index, call.request, None,
                                   ClassifiedError(ErrorKind.PROVIDER,
                                                   f"unexpected {type(exc).__name__}: {exc}", STAGE),
                                   attempts=call.attempts, latency_ms=self._elapsed_ms(call))
            self.limiter.settle_tokens(estimate, generation.usage.input_tokens + generation.usage.output_tokens)
            if call.key is not None and self.cache is not None:
                # Stored even when the collector has already given up: a late success is still valid.
                self.cache.put(call.key, generation)
            return CallOutcome(call.index, call.request, generation, None, attempts=call.attempts,
                               latency_ms=self._elapsed_ms(call))

    def _generate(self, request: GenerationRequest, until: float | None) -> Generation:
        with self._inflight_lock:
            self._inflight += 1
            self.peak_inflight = max(self.peak_inflight, self._inflight)
        try:
            with deadlines.call_deadline(until):
                generation = self.provider.generate(request)
        finally:
            with self._inflight_lock:
                self._inflight -= 1
            self._slots.release()
        if not isinstance(generation, Generation):
            raise TypeError(f"provider returned {type(generation).__name__}, not a Generation")
        return generation

    def _sleep(self, run: _Run, delay: float) -> bool:
        """Back off; True when the run stopped meanwhile."""
        if self.backoff.sleep is not None:
            self.backoff.sleep(delay)
            return run.stop.is_set()
        return run.stop.wait(delay)

    def _failed(self, call: _Call, error: ProviderError) -> CallOutcome:
        throttled = error.kind == ErrorKind.THROTTLED or error.code in THROTTLE_CODES
        kind = ErrorKind.THROTTLED if throttled and error.retryable else error.kind
        tried = f" after {call.attempts} attempts" if error.retryable else ""
        code = f" [{error.code}]" if error.code else ""
        return CallOutcome(call.index, call.request, None,
                           ClassifiedError(kind, f"{error}{code}{tried}", STAGE),
                           attempts=call.attempts, latency_ms=self._elapsed_ms(call))
