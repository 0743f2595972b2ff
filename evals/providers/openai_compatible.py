"""Any OpenAI-compatible chat endpoint: OpenAI itself, vLLM, or `python -m llama_cpp.server` on loopback.

Servers disagree on how to ask for JSON, so the provider tries the response_format variants in order and
keeps the first one the server accepts. The client never retries: the engine owns retries and backoff."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from evals.providers.base import Generation, GenerationRequest, ProviderError, Usage
from metrics.errors import ErrorKind

DEFAULT_VARIANTS = ("json_schema", "json_object_schema", "json_object", "none")
FINISH_TO_STOP = {"length": "max_tokens", "stop": "end_turn", "content_filter": "content_filtered"}


# variant name -> how it asks for JSON (None: do not send response_format)
RESPONSE_FORMATS: dict[str, Callable[[Mapping[str, Any]], dict[str, Any] | None]] = {
    "json_schema": lambda schema: {"type": "json_schema",
                                   "json_schema": {"name": "answer", "schema": dict(schema), "strict": True}},
    # llama.cpp server: accepts this and compiles the schema to a grammar; rejects json_schema with HTTP 500.
    "json_object_schema": lambda schema: {"type": "json_object", "schema": dict(schema)},
    "json_object": lambda schema: {"type": "json_object"},
    "none": lambda schema: None,
}


CONTEXT_OVERFLOW_MARKERS = ("context_length_exceeded", "maximum context length", "context window",
                            "exceeds the context", "too many tokens")


def _is_context_overflow(exc: Exception) -> bool:
    text = f"{getattr(exc, 'code', '') or ''} {exc}".lower()
    return any(marker in text for marker in CONTEXT_OVERFLOW_MARKERS)


def classify_openai_error(exc: Exception, source: str) -> ProviderError:
    """Map an `openai` exception to the harness's classified ProviderError."""
    import openai

    name = type(exc).__name__
    message = str(exc)
    # Order matters: APITimeoutError is an APIConnectionError, and the status errors share APIStatusError.
    if isinstance(exc, openai.RateLimitError):
        return ProviderError(ErrorKind.THROTTLED, f"rate limited: {message}", retryable=True, code=name)
    if isinstance(exc, openai.APITimeoutError):
        return ProviderError(ErrorKind.TIMEOUT, f"request timed out: {message}", retryable=True, code=name)
    if isinstance(exc, (openai.InternalServerError, openai.APIConnectionError)):
        return ProviderError(ErrorKind.PROVIDER, f"endpoint failed: {name}: {message}", retryable=True, code=name)
    if isinstance(exc, (openai.AuthenticationError, openai.PermissionDeniedError)):
        return ProviderError(ErrorKind.AUTH, f"{source}: credentials refused ({message}); check the env var "
                                             f"named by `api_key_env`", fatal=True, code=name)
    if isinstance(exc, openai.NotFoundError):
        return ProviderError(ErrorKind.VALIDATION, f"{source}: not found ({message}); check `model_id` and "
                                                   f"`base_url`", fatal=True, code=name)
    if isinstance(exc, (openai.BadRequestError, openai.UnprocessableEntityError)):
        if _is_context_overflow(exc):  # this prompt only: the next sample may fit
            return ProviderError(ErrorKind.VALIDATION, f"prompt too long for the model: {message}", code=name)
        field = getattr(exc, "param", None) or "model_id / decoding parameters"
        return ProviderError(ErrorKind.VALIDATION, f"{source}: request rejected ({message}); check `{field}`",
                             fatal=True, code=name)
    if isinstance(exc, openai.APIStatusError):
        retryable = exc.status_code >= 500 or exc.status_code in (408, 409)
        return ProviderError(ErrorKind.PROVIDER, f"HTTP {exc.status_code}: {message}", retryable=retryable,
                             code=name)
    return ProviderError(ErrorKind.PROVIDER, f"{name}: {message}", code=name)


def _is_format_rejection(exc: Exception) -> bool:
    """While probing variants, a 400/422/500 on a JSON mode most likely means the server does not support
    that mode (llama.cpp answers 500 to json_schema). 502/503/504 are outages, not refusals."""
    import openai

    if isinstance(exc, (openai.BadRequestError, openai.UnprocessableEntityError)):
        return not _is_context_overflow(exc)
    return isinstance(exc, openai.InternalServerError) and exc.status_code == 500


class OpenAICompatibleProvider:
    def __init__(self, name: str, model_id: str, client: Any, *, variants: tuple[str, ...] = DEFAULT_VARIANTS,
                 source: str = "conf/model/openai_compatible.yaml", max_concurrency: int = 4,
                 token_param: str = "max_tokens", base_url: str = "", decoding: Mapping[str, Any] | None = None):
        unknown = [variant for variant in variants if variant not in RESPONSE_FORMATS]
        if unknown or not variants:
            raise ValueError(f"{source}: response_format_variants {list(variants)} has unknown entries "
                             f"{unknown}; use some of {list(RESPONSE_FORMATS)}")
        self.name = name
        self.model_id = model_id
        self.client = client
        self.variants = tuple(variants)
        self.source = source
        self.max_concurrency = max_concurrency
        self.token_param = token_param
        self.base_url = base_url
        self._decoding = dict(decoding or {})
        self._chosen: str | None = None  # the first variant the server accepted
        self._lock = threading.Lock()

    @property
    def chosen_variant(self) -> str | None:
        with self._lock:
            return self._chosen

    def identity(self) -> Mapping[str, Any]:
        return {"provider": "openai", "model_id": self.model_id, "base_url": self.base_url,
                "response_format_variants": list(self.variants), **self._decoding}

    def _call(self, request: GenerationRequest, variant: str) -> Any:
        kwargs: dict[str, Any] = {
            "model": self.model_id,
            "messages": [dict(message) for message in request.messages],
            self.token_param: request.max_tokens,
            "temperature": request.temperature,
        }
        if request.top_p is not None:
            kwargs["top_p"] = request.top_p
        if request.seed is not None:
            kwargs["seed"] = request.seed
        if request.stop:
            kwargs["stop"] = list(request.stop)
        response_format = RESPONSE_FORMATS[variant](request.schema) if request.schema is not None else None
        if response_format is not None:
            kwargs["response_format"] = response_format
        return self.client.chat.completions.create(**kwargs)

    def generate(self, request: GenerationRequest) -> Generation:
        import openai

        chosen = self.chosen_variant
        candidates = (chosen,) if chosen else self.variants
        if request.schema is None:
            candidates = candidates[:1]  # no JSON mode to negotiate
        started = time.perf_counter()
        response = None
        for position, variant in enumerate(candidates):
            try:
                response = self._call(request, variant)
            except openai.OpenAIError as exc:
                probing = chosen is None and request.schema is not None
                last = position == len(candidates) - 1
                if probing and not last and variant != "none" and _is_format_rejection(exc):
                    continue
                raise classify_openai_error(exc, self.source) from exc
            if chosen is None and request.schema is not None:
                with self._lock:
                    self._chosen = self._chosen or variant
            break
        latency_ms = (time.perf_counter() - started) * 1000.0
        if response is None or not getattr(response, "choices", None):
            raise ProviderError(ErrorKind.PROVIDER, f"item {request.item_id}: reply without choices",
                                retryable=True, code="empty_reply")
        choice = response.choices[0]
        finish = choice.finish_reason or "stop"
        usage = response.usage
        return Generation(
            text=(choice.message.content if choice.message else None) or "",
            stop_reason=FINISH_TO_STOP.get(finish, finish),
            usage=Usage(int(getattr(usage, "prompt_tokens", 0) or 0),
                        int(getattr(usage, "completion_tokens", 0) or 0)),
            latency_ms=latency_ms,
            model_id=getattr(response, "model", None) or self.model_id,
        )


def build(config: Mapping[str, Any], context: Any) -> OpenAICompatibleProvider:
    import openai

    source = str(config.get("_source", "conf/model/openai_compatible.yaml"))
    model_id = config.get("model_id")
    if not model_id:
        raise ValueError(f"{source}: `model_id` is not set; name the model the server serves "
                         f"(GET <base_url>/models lists them)")
    base_url = config.get("base_url") or None
    api_key_env = str(config.get("api_key_env") or "OPENAI_API_KEY")
    # Local servers ignore the key, but the client insists on one.
    api_key = os.environ.get(api_key_env) or "not-needed"
    client = openai.OpenAI(base_url=base_url, api_key=api_key, timeout=float(config.get("timeout") or 120.0),
                           max_retries=0, http_client=getattr(context, "extras", {}).get("http_client"))
    variants = tuple(config.get("response_format_variants") or DEFAULT_VARIANTS)
    decoding = {key: config.get(key) for key in ("max_tokens", "temperature", "top_p", "seed", "few_shot")}
    return OpenAICompatibleProvider(
        name=str(config.get("name") or model_id), model_id=str(model_id), client=client, variants=variants,
        source=source, max_concurrency=int(config.get("max_concurrency") or 4),
        token_param=str(config.get("token_param") or "max_tokens"), base_url=str(base_url or ""),
        decoding=decoding,
    )
