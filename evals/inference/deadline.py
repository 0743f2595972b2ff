"""The engine's deadline for the call now running on this thread.

Threads cannot be killed, so the engine only stops *waiting* for a call that overruns. Providers should
read `remaining_s()` at the start of `generate` and pass it as their own read/connect timeout, so the
worker thread is freed near the deadline too:

    timeout = deadline.remaining_s(default=120.0)
    client.post(url, json=body, timeout=timeout)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

_local = threading.local()


def remaining_s(default: float | None = None) -> float | None:
    """Seconds left before the current call's deadline (>= 0.001), or `default` when there is none."""
    at = getattr(_local, "deadline", None)
    if at is None:
        return default
    return max(0.001, at - time.monotonic())


@contextmanager
def call_deadline(at: float | None) -> Iterator[None]:
    """Set the deadline (a time.monotonic() value, or None) for calls made inside the block."""
    previous = getattr(_local, "deadline", None)
    _local.deadline = at
    try:
        yield
    finally:
        _local.deadline = previous
