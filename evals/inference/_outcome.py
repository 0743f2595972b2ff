"""What the engine reports for one request: its generation or classified error, attempts, latency. A module of
its own so the usage counter can read outcomes without importing the engine that produces them."""

from __future__ import annotations

from dataclasses import dataclass

from evals.providers.base import Generation, GenerationRequest
from metrics.errors import ClassifiedError


@dataclass(frozen=True)
class CallOutcome:
    index: int
    request: GenerationRequest
    generation: Generation | None
    error: ClassifiedError | None
    attempts: int = 0  # provider calls made for this request (0 when cached or never started)
    cached: bool = False
    latency_ms: float = 0.0  # end to end: every attempt and backoff

    @property
    def ok(self) -> bool:
        return self.generation is not None
