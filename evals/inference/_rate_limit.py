"""Token buckets for requests per minute and tokens per minute.

A caller reserves what it needs at once; when the bucket is short, the balance goes negative and the
caller sleeps until its share has refilled. Reserving first keeps callers in arrival order and spaces
them exactly 1/rate apart, without polling."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class TokenBucket:
    def __init__(self, per_minute: float, *, burst: float | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        if per_minute <= 0:
            raise ValueError(f"rate limit must be > 0 per minute, got {per_minute}")
        self.rate_per_s = per_minute / 60.0
        # Default burst: one second's worth (at least one unit), so an idle bucket does not release a
        # whole minute's quota in one instant and trip the server's own limiter.
        self.capacity = burst if burst is not None else max(1.0, self.rate_per_s)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._level = self.capacity
        self._stamp = clock()

    def _refill(self, now: float) -> None:
        self._level = min(self.capacity, self._level + (now - self._stamp) * self.rate_per_s)
        self._stamp = now

    def reserve(self, amount: float, deadline: float | None = None) -> float | None:
        """Reserve `amount`; return how long to wait before using it, or None (nothing reserved) when
        the wait would end after `deadline` (a clock() value)."""
        with self._lock:
            now = self._clock()
            self._refill(now)
            wait = max(0.0, (amount - self._level) / self.rate_per_s)
            if deadline is not None and now + wait > deadline:
                return None
            self._level -= amount
            return wait

    def acquire(self, amount: float = 1.0, deadline: float | None = None) -> bool:
        """Block until `amount` is allowed. False (and nothing taken) if that would pass `deadline`."""
        wait = self.reserve(amount, deadline)
        if wait is None:
            return False
        if wait > 0:
            self._sleep(wait)
        return True

    def adjust(self, amount: float) -> None:
        """Debit (positive) or refund (negative) after the fact, e.g. actual tokens minus the estimate."""
        with self._lock:
            self._refill(self._clock())
            self._level = min(self.capacity, self._level - amount)


class RateLimiter:
    """Requests-per-minute and tokens-per-minute limits for one model; either may be absent."""

    def __init__(self, requests_per_minute: float | None = None, tokens_per_minute: float | None = None, *,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep):
        self._clock = clock
        self._sleep = sleep
        self.requests = TokenBucket(requests_per_minute, clock=clock, sleep=sleep) if requests_per_minute else None
        self.tokens = TokenBucket(tokens_per_minute, clock=clock, sleep=sleep) if tokens_per_minute else None

    @property
    def active(self) -> bool:
        return self.requests is not None or self.tokens is not None

    def acquire(self, tokens: float = 0.0, deadline: float | None = None) -> bool:
        """Wait for one request slot and `tokens` tokens. False if that would pass `deadline`."""
        waits = []
        if self.requests is not None:
            wait = self.requests.reserve(1.0, deadline)
            if wait is None:
                return False
            waits.append(wait)
        if self.tokens is not None and tokens > 0:
            wait = self.tokens.reserve(tokens, deadline)
            if wait is None:
                if self.requests is not None:
                    self.requests.adjust(-1.0)  # give back the request slot we took
                return False
            waits.append(wait)
        # Both reservations refill concurrently, so the longer wait covers both.
        longest = max(waits, default=0.0)
        if longest > 0:
            self._sleep(longest)
        return True

    def settle_tokens(self, estimated: float, actual: float) -> None:
        if self.tokens is not None:
            self.tokens.adjust(actual - estimated)
