"""A fake Amazon Bedrock runtime on 127.0.0.1 that the real boto3 client can talk to.

It answers `POST /model/{modelId}/converse` and `POST /model/{modelId}/invoke` with the shapes of the
rest-json wire protocol, and errors the way the service sends them: the status code of the error shape, a
`x-amzn-ErrorType: <Code>:<namespace>` header (botocore keeps the part before the colon as the
ClientError code) and a `{"message": ...}` body.

What each request gets is scripted: a queue of `Behaviour`s consumed one per request, then a default,
optionally mixed with a random fault rate. The server counts requests per model and the peak number of
requests in flight, so tests can assert on what the client really sent.

    with FakeBedrock(Script(default=reply("ok"))) as fake:
        client = boto3.client("bedrock-runtime", endpoint_url=fake.url, ...)
"""

from __future__ import annotations

import argparse
import json
import random
import socket
import struct
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import unquote

# Status code of each error shape, as in the bedrock-runtime service model.
ERROR_STATUS: dict[str, int] = {
    "ThrottlingException": 429,
    "ModelNotReadyException": 429,
    "ServiceUnavailableException": 503,
    "InternalServerException": 500,
    "ModelTimeoutException": 408,
    "ModelErrorException": 424,
    "ValidationException": 400,
    "ResourceNotFoundException": 404,
    "AccessDeniedException": 403,
    "UnrecognizedClientException": 403,
    "ServiceQuotaExceededException": 400,
}
_ERROR_NAMESPACE = "http://internal.amazon.com/coral/com.amazon.bedrock/"


@dataclass(frozen=True)
class Behaviour:
    """What the server does with one request."""

    action: str = "reply"  # reply | echo | error | reset | malformed
    text: str = "ok"
    stop_reason: str = "end_turn"
    reasoning: str | None = None  # a GPT OSS style reasoningContent block sent before the text block
    error_code: str = ""
    message: str = ""
    latency_s: float = 0.0


def reply(text: str = "ok", *, stop_reason: str = "end_turn", reasoning: str | None = None,
          latency_s: float = 0.0) -> Behaviour:
    return Behaviour("reply", text=text, stop_reason=stop_reason, reasoning=reasoning, latency_s=latency_s)


def echo(*, latency_s: float = 0.0) -> Behaviour:
    """Answer with the text of the last user message."""
    return Behaviour("echo", latency_s=latency_s)


def truncated(text: str = '{"comments": [', *, latency_s: float = 0.0) -> Behaviour:
    return reply(text, stop_reason="max_tokens", latency_s=latency_s)


def fault(code: str, message: str = "", *, latency_s: float = 0.0) -> Behaviour:
    if code not in ERROR_STATUS:
        raise ValueError(f"unknown Bedrock error code {code!r}; known: {sorted(ERROR_STATUS)}")
    return Behaviour("error", error_code=code, message=message or f"fake {code}", latency_s=latency_s)


def reset(*, latency_s: float = 0.0) -> Behaviour:
    """Drop the connection with a TCP reset instead of answering."""
    return Behaviour("reset", latency_s=latency_s)


def malformed(*, latency_s: float = 0.0) -> Behaviour:
    """HTTP 200 with a body that is not JSON."""
    return Behaviour("malformed", latency_s=latency_s)


def _throttle() -> Behaviour:
    return fault("ThrottlingException", "Too many requests, please wait before trying again.")


@dataclass
class Script:
    """Per-request behaviours: `queue` first (one entry per request, any model), then per-model queues,
    then `respond(model_id, body)` if it returns a behaviour, then `default`; with probability
    `fault_rate` a request gets `fault` instead of the default."""

    default: Behaviour = field(default_factory=reply)
    queue: deque[Behaviour] = field(default_factory=deque)
    per_model: dict[str, deque[Behaviour]] = field(default_factory=dict)
    fault_rate: float = 0.0
    fault: Behaviour = field(default_factory=lambda: _throttle())
    latency_s: float | None = None  # if set, overrides the latency of every behaviour
    seed: int = 0
    respond: Callable[[str, Any], Behaviour | None] | None = None  # called under the script's lock

    def __post_init__(self) -> None:
        self.queue = deque(self.queue)
        self.per_model = {model: deque(items) for model, items in self.per_model.items()}
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()

    def _choose(self, model_id: str, body: Any) -> Behaviour:
        if self.queue:
            return self.queue.popleft()
        if self.per_model.get(model_id):
            return self.per_model[model_id].popleft()
        if self.respond is not None and (scripted := self.respond(model_id, body)) is not None:
            return scripted
        if self.fault_rate and self._rng.random() < self.fault_rate:
            return self.fault
        return self.default

    def then(self, *behaviours: Behaviour, model: str | None = None) -> Script:
        with self._lock:
            target = self.queue if model is None else self.per_model.setdefault(model, deque())
            target.extend(behaviours)
        return self

    def next(self, model_id: str, body: Any = None) -> Behaviour:
        with self._lock:
            chosen = self._choose(model_id, body)
        return chosen if self.latency_s is None else replace(chosen, latency_s=self.latency_s)


@dataclass(frozen=True)
class Seen:
    """One request as the server received it."""

    at: float  # time.monotonic() on arrival
    model_id: str
    operation: str  # converse | invoke
    body: Any
    action: str
    error_code: str = ""


class _Stats:
    def __init__(self, keep_bodies: int):
        self._lock = threading.Lock()
        self.requests: Counter[str] = Counter()
        self.in_flight = 0
        self.peak_in_flight = 0
        self.outcomes: Counter[str] = Counter()  # action or error code -> count
        self.seen: deque[Seen] = deque(maxlen=keep_bodies)

    def enter(self, seen: Seen) -> None:
        with self._lock:
            self.requests[seen.model_id] += 1
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
            self.outcomes[seen.error_code or seen.action] += 1
            self.seen.append(seen)

    def leave(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"requests": dict(self.requests), "total": sum(self.requests.values()),
                    "in_flight": self.in_flight, "peak_in_flight": self.peak_in_flight,
                    "outcomes": dict(self.outcomes)}


def _last_user_text(body: Any) -> str:
    messages = body.get("messages", []) if isinstance(body, dict) else []
    for message in reversed(messages):
        if message.get("role") == "user":
            return "".join(block.get("text", "") for block in message.get("content", []))
    return ""


def _converse_body(behaviour: Behaviour, text: str, request_bytes: int, latency_ms: int) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    if behaviour.reasoning is not None:
        content.append({"reasoningContent": {"reasoningText": {"text": behaviour.reasoning}}})
    content.append({"text": text})
    input_tokens = max(1, request_bytes // 4)  # about four bytes a token
    output_tokens = max(1, len(text) // 4)
    return {
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": behaviour.stop_reason,
        "usage": {"inputTokens": input_tokens, "outputTokens": output_tokens,
                  "totalTokens": input_tokens + output_tokens},
        "metrics": {"latencyMs": latency_ms},
    }


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as boto3's connection pool expects
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        raw = json.dumps(payload).encode()
        self._send_raw(status, raw, headers)

    def setup(self) -> None:
        super().setup()
        # Small request/response pairs on a kept-alive connection: without TCP_NODELAY, Nagle plus the
        # client's delayed ACK add ~40 ms to calls whose reply spans two segments.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _send_raw(self, status: int, raw: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.send_header("x-amzn-RequestId", f"fake-{time.monotonic_ns()}")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        # Headers and body in one write (end_headers() would flush the headers on their own).
        self._headers_buffer.append(b"\r\n")
        self._headers_buffer.append(raw)
        self.flush_headers()

    def do_GET(self) -> None:
        if self.path == "/_fake/stats":
            self._send_json(200, self.server.stats.snapshot())
        else:
            self._send_json(404, {"message": f"no route {self.path}"})

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        parts = self.path.split("?", 1)[0].split("/")
        # /model/{modelId}/{operation}; botocore percent-encodes ':' and '/' of ARNs in the path.
        if len(parts) != 4 or parts[1] != "model" or parts[3] not in ("converse", "invoke"):
            self._send_json(404, {"message": f"no route {self.path}"},
                            {"x-amzn-ErrorType": f"UnknownOperationException:{_ERROR_NAMESPACE}"})
            return
        model_id, operation = unquote(parts[2]), parts[3]
        try:
            body: Any = json.loads(raw or b"{}")
        except ValueError:
            body = None
        behaviour = self.server.script.next(model_id, body)
        stats = self.server.stats
        stats.enter(Seen(time.monotonic(), model_id, operation, body, behaviour.action, behaviour.error_code))
        started = time.monotonic()
        try:
            if behaviour.latency_s > 0:
                time.sleep(behaviour.latency_s)
            latency_ms = int((time.monotonic() - started) * 1000)
            _ACTIONS[behaviour.action](self, behaviour, body, latency_ms)
        finally:
            stats.leave()

    # --- one method per action -------------------------------------------------------------------

    def _reply(self, behaviour: Behaviour, body: Any, latency_ms: int, text: str | None = None) -> None:
        text = behaviour.text if text is None else text
        payload = _converse_body(behaviour, text, int(self.headers.get("Content-Length") or 0), latency_ms)
        # InvokeModel with a Nova model returns the same message/stopReason/usage shape, without metrics.
        if self.path.endswith("/invoke"):
            payload.pop("metrics")
        self._send_json(200, payload)

    def _echo(self, behaviour: Behaviour, body: Any, latency_ms: int) -> None:
        self._reply(behaviour, body, latency_ms, text=_last_user_text(body))

    def _error(self, behaviour: Behaviour, body: Any, latency_ms: int) -> None:
        code = behaviour.error_code
        self._send_json(ERROR_STATUS[code], {"message": behaviour.message},
                        {"x-amzn-ErrorType": f"{code}:{_ERROR_NAMESPACE}"})

    def _reset(self, behaviour: Behaviour, body: Any, latency_ms: int) -> None:
        # SO_LINGER with a zero timeout makes close() send RST instead of FIN.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()

    def _malformed(self, behaviour: Behaviour, body: Any, latency_ms: int) -> None:
        self._send_raw(200, b'{"output": {"message": {"role": "assistant", "content": [{"text": "cut')


_ACTIONS: dict[str, Callable[[_Handler, Behaviour, Any, int], None]] = {
    "reply": _Handler._reply,
    "echo": _Handler._echo,
    "error": _Handler._error,
    "reset": _Handler._reset,
    "malformed": _Handler._malformed,
}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # many clients connect at once in the concurrency tests and the benchmark
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], script: Script, stats: _Stats):
        self.script = script
        self.stats = stats
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gives up (its read timeout, a reset we sent) is expected: no tracebacks.
        pass


class FakeBedrock:
    """The server, started in a background thread; a context manager."""

    def __init__(self, script: Script | None = None, *, host: str = "127.0.0.1", port: int = 0,
                 keep_bodies: int = 10_000):
        self.script = script or Script()
        self._stats = _Stats(keep_bodies)
        self._server = _Server((host, port), self.script, self._stats)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeBedrock:
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-bedrock", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- what the server saw ---------------------------------------------------------------------

    def requests(self, model_id: str | None = None) -> int:
        stats = self._stats.snapshot()
        return stats["total"] if model_id is None else stats["requests"].get(model_id, 0)

    @property
    def peak_in_flight(self) -> int:
        return self._stats.snapshot()["peak_in_flight"]

    @property
    def seen(self) -> list[Seen]:
        with self._stats._lock:
            return list(self._stats.seen)

    def stats(self) -> dict[str, Any]:
        return self._stats.snapshot()


def _parse_args(argv: Iterable[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Serve a fake Bedrock runtime on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--throttle-rate", type=float, default=0.0)
    parser.add_argument("--echo", action="store_true", help="answer with the last user message")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(None if argv is None else list(argv))


def main(argv: Iterable[str] | None = None) -> None:
    """Run in the foreground (used by the benchmark, which puts the server in its own process so the
    server's CPU does not compete with the client for one interpreter lock). Prints the URL, then
    serves until stdin closes or the process is stopped; GET /_fake/stats returns the counters."""
    import sys

    args = _parse_args(argv)
    latency = args.latency_ms / 1000.0
    script = Script(default=echo() if args.echo else reply(), fault_rate=args.throttle_rate,
                    latency_s=latency, seed=args.seed)
    fake = FakeBedrock(script, port=args.port, keep_bodies=0).start()
    print(fake.url, flush=True)
    try:
        sys.stdin.read()  # the parent closes our stdin (or exits) to stop us
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
