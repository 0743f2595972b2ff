"""The contract every model provider keeps: a request in, one generation out, or a ProviderError."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from metrics.errors import ErrorKind

Message = dict[str, str]  # {"role": "system" | "user" | "assistant", "content": str}


@dataclass(frozen=True)
class GenerationRequest:
    """One call to a model. `context` carries the task item for providers that are not LLMs
    (baseline, replay); it is not part of the cache key: the messages already hold the item."""

    item_id: str
    messages: tuple[Message, ...]
    schema: Mapping[str, Any] | None = None  # JSON schema of the expected output, if any
    max_tokens: int = 512
    temperature: float = 0.0
    top_p: float | None = None
    seed: int | None = None
    stop: tuple[str, ...] = ()
    context: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def cache_payload(self) -> dict[str, Any]:
        return {
            "messages": list(self.messages),
            "schema": self.schema,
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "seed": self.seed,
            "stop": list(self.stop),
        }


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0


@dataclass(frozen=True)
class Generation:
    text: str
    stop_reason: str = "end_turn"  # end_turn | max_tokens | content_filtered | stop_sequence | ...
    usage: Usage = Usage()
    latency_ms: float = 0.0
    model_id: str = ""

    @property
    def truncated(self) -> bool:
        return self.stop_reason in ("max_tokens", "length")


class ProviderError(Exception):
    """A failed call, classified. `retryable` lets the engine back off and retry; `fatal` stops the
    whole run early (bad credentials, unknown model) instead of failing every sample slowly."""

    def __init__(self, kind: ErrorKind, message: str, *, retryable: bool = False, fatal: bool = False,
                 code: str = ""):
        super().__init__(message)
        self.kind = kind
        self.retryable = retryable
        self.fatal = fatal
        self.code = code  # the endpoint's own error name, e.g. ThrottlingException


@runtime_checkable
class Provider(Protocol):
    name: str  # candidate name, e.g. smollm2-zero-shot
    model_id: str  # what is called, e.g. a GGUF file name or a Bedrock model id / ARN
    max_concurrency: int  # how many calls the engine may have in flight for this provider

    def identity(self) -> Mapping[str, Any]:
        """Everything that changes the output for the same request (model, file hash, decoding)."""

    def generate(self, request: GenerationRequest) -> Generation:
        """One call. Raises ProviderError on failure."""
