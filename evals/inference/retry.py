"""Exponential backoff with full jitter: each retry waits a uniform random time in
[0, min(max_s, base_s * 2**attempt)], so many throttled callers spread out instead of retrying in step."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class BackoffPolicy:
    base_s: float = 0.5
    max_s: float = 20.0
    max_attempts: int = 6  # total attempts, the first call included
    rng: random.Random = field(default_factory=random.Random, repr=False)
    # None: the engine waits on its own stop event, so a fatal error or a deadline cuts a backoff short.
    sleep: Callable[[float], None] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {self.max_attempts}")
        if self.base_s < 0 or self.max_s < 0:
            raise ValueError(f"backoff times must be >= 0, got base_s={self.base_s}, max_s={self.max_s}")

    def ceiling(self, attempt: int) -> float:
        """Upper bound of the wait after failed attempt number `attempt` (0 for the first failure)."""
        # Cap the exponent so a large attempt count cannot overflow the float.
        return min(self.max_s, self.base_s * 2 ** min(attempt, 60))

    def delay(self, attempt: int) -> float:
        return self.rng.uniform(0.0, self.ceiling(attempt))

    def may_retry(self, attempts_made: int) -> bool:
        return attempts_made < self.max_attempts
