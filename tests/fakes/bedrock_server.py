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

`python -m tests.fakes.bedrock_server --latency-ms 200` serves the same answers from a process of its own
(on asyncio), as the benchmark uses it: a stand-in for a remote endpoint should not eat the client's CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import socket
import struct
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from http import HTTPStatus
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


# --- what to answer: shared by the threaded server below (in-process, for tests) and the asyncio one
# (its own process, for the benchmark), so both speak exactly the same wire format -----------------------


@dataclass(frozen=True)
class _Answer:
    status: int = 200
    raw: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    reset: bool = False  # drop the connection with a TCP reset instead of answering


def _json_answer(status: int, payload: Any, headers: dict[str, str] | None = None) -> _Answer:
    return _Answer(status, json.dumps(payload).encode(), headers or {})


def _no_route(path: str, *, operation: bool) -> _Answer:
    # Unknown POST routes carry an error type, as the service does; other misses are plain 404s.
    headers = {"x-amzn-ErrorType": f"UnknownOperationException:{_ERROR_NAMESPACE}"} if operation else None
    return _json_answer(404, {"message": f"no route {path}"}, headers)


def _wire(answer: _Answer) -> bytes:
    """Status line, headers and body in one buffer, so the reply leaves in a single write."""
    lines = [f"HTTP/1.1 {answer.status} {_reason(answer.status)}", "Content-Type: application/json",
             f"Content-Length: {len(answer.raw)}", f"x-amzn-RequestId: fake-{time.monotonic_ns()}"]
    lines.extend(f"{name}: {value}" for name, value in answer.headers.items())
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + answer.raw


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


@dataclass(frozen=True)
class _Exchange:
    """One model call: what was asked and the behaviour the script chose for it."""

    model_id: str
    operation: str  # converse | invoke
    body: Any
    request_bytes: int
    behaviour: Behaviour

    def seen(self) -> Seen:
        return Seen(time.monotonic(), self.model_id, self.operation, self.body, self.behaviour.action,
                    self.behaviour.error_code)


def _accept(path: str, raw: bytes, script: Script) -> _Exchange | None:
    """Route `POST path` and consult the script; None when the path is not a model operation."""
    parts = path.split("?", 1)[0].split("/")
    # /model/{modelId}/{operation}; botocore percent-encodes ':' and '/' of ARNs in the path.
    if len(parts) != 4 or parts[1] != "model" or parts[3] not in ("converse", "invoke"):
        return None
    model_id, operation = unquote(parts[2]), parts[3]
    try:
        body: Any = json.loads(raw or b"{}")
    except ValueError:
        body = None
    return _Exchange(model_id, operation, body, len(raw), script.next(model_id, body))


def _answer(exchange: _Exchange, latency_ms: int) -> _Answer:
    return _ANSWERS[exchange.behaviour.action](exchange, latency_ms)


# --- one function per action -------------------------------------------------------------------------


def _reply(exchange: _Exchange, latency_ms: int, text: str | None = None) -> _Answer:
    behaviour = exchange.behaviour
    payload = _converse_body(behaviour, behaviour.text if text is None else text, exchange.request_bytes,
                             latency_ms)
    # InvokeModel with a Nova model returns the same message/stopReason/usage shape, without metrics.
    if exchange.operation == "invoke":
        payload.pop("metrics")
    return _json_answer(200, payload)


def _echo(exchange: _Exchange, latency_ms: int) -> _Answer:
    return _reply(exchange, latency_ms, text=_last_user_text(exchange.body))


def _error(exchange: _Exchange, latency_ms: int) -> _Answer:
    code = exchange.behaviour.error_code
    return _json_answer(ERROR_STATUS[code], {"message": exchange.behaviour.message},
                        {"x-amzn-ErrorType": f"{code}:{_ERROR_NAMESPACE}"})


def _reset(exchange: _Exchange, latency_ms: int) -> _Answer:
    return _Answer(reset=True)


def _malformed(exchange: _Exchange, latency_ms: int) -> _Answer:
    return _Answer(200, b'{"output": {"message": {"role": "assistant", "content": [{"text": "cut')


_ANSWERS: dict[str, Callable[[_Exchange, int], _Answer]] = {
    "reply": _reply,
    "echo": _echo,
    "error": _error,
    "reset": _reset,
    "malformed": _malformed,
}

# SO_LINGER with a zero timeout makes close() send RST instead of FIN.
_LINGER_ZERO = struct.pack("ii", 1, 0)


# --- the threaded server: FakeBedrock, in the test's own process --------------------------------------


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as boto3's connection pool expects
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def setup(self) -> None:
        super().setup()
        # Small request/response pairs on a kept-alive connection: without TCP_NODELAY, Nagle plus the
        # client's delayed ACK add ~40 ms to calls whose reply spans two segments.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _deliver(self, answer: _Answer) -> None:
        if answer.reset:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_ZERO)
            self.close_connection = True
            self.connection.close()
            return
        self.wfile.write(_wire(answer))

    def do_GET(self) -> None:
        if self.path == "/_fake/stats":
            self._deliver(_json_answer(200, self.server.stats.snapshot()))
        else:
            self._deliver(_no_route(self.path, operation=False))

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        exchange = _accept(self.path, raw, self.server.script)
        if exchange is None:
            self._deliver(_no_route(self.path, operation=True))
            return
        stats = self.server.stats
        stats.enter(exchange.seen())
        started = time.monotonic()
        try:
            if exchange.behaviour.latency_s > 0:
                time.sleep(exchange.behaviour.latency_s)
            self._deliver(_answer(exchange, int((time.monotonic() - started) * 1000)))
        finally:
            stats.leave()


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


# --- the asyncio server: the same answers, for a fake that runs in a process of its own ---------------


async def _read_request(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> tuple[str, str, bytes, bool]:
    """Method, path, body and keep-alive of the next request; IncompleteReadError once the client hangs up."""
    head = await reader.readuntil(b"\r\n\r\n")
    request_line, _, block = head.decode("latin-1").partition("\r\n")
    method, path, _version = request_line.split(" ", 2)
    headers: dict[str, str] = {}
    for line in block.split("\r\n"):
        name, colon, value = line.partition(":")
        if colon:
            headers[name.strip().lower()] = value.strip()
    if headers.get("expect", "").lower() == "100-continue":
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    length = int(headers.get("content-length") or 0)
    raw = await reader.readexactly(length) if length else b""
    return method, path, raw, headers.get("connection", "").lower() != "close"


class _AsyncService:
    """Every connection on one event loop: a scripted latency is a timer, not a sleeping thread. Used by
    `main()`, where nothing else shares the interpreter: about 0.35 ms of CPU a request here against
    about 0.5 ms for the threaded server. In a test's own process the threaded server is the better
    neighbour, since one event-loop thread would queue for the lock behind every client thread."""

    def __init__(self, script: Script, stats: _Stats):
        self.script = script
        self.stats = stats

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            while True:
                method, path, raw, keep_alive = await _read_request(reader, writer)
                answer = await self._answer(method, path, raw)
                if answer.reset:
                    if sock is not None:
                        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_ZERO)
                    writer.transport.abort()
                    return
                writer.write(_wire(answer))
                await writer.drain()
                if not keep_alive:
                    break
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, ValueError):
            pass  # the client hung up (its read timeout, a reset we sent) or sent garbage: expected
        except asyncio.CancelledError:
            pass  # shutting down (on 3.11 a cancelled connection task would log a traceback)
        finally:
            writer.close()

    async def _answer(self, method: str, path: str, raw: bytes) -> _Answer:
        if method == "GET":
            return _json_answer(200, self.stats.snapshot()) if path == "/_fake/stats" else _no_route(
                path, operation=False)
        exchange = _accept(path, raw, self.script) if method == "POST" else None
        if exchange is None:
            return _no_route(path, operation=True)
        self.stats.enter(exchange.seen())
        started = time.monotonic()
        try:
            if exchange.behaviour.latency_s > 0:
                await asyncio.sleep(exchange.behaviour.latency_s)
            return _answer(exchange, int((time.monotonic() - started) * 1000))
        finally:
            self.stats.leave()


async def _serve_until_stdin_closes(script: Script, port: int) -> None:
    import sys

    service = _AsyncService(script, _Stats(keep_bodies=0))
    server = await asyncio.start_server(service.serve, "127.0.0.1", port, backlog=256)
    host, bound = server.sockets[0].getsockname()[:2]
    print(f"http://{host}:{bound}", flush=True)
    async with server:
        # The parent closes our stdin (or exits) to stop us; read it off the event loop.
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


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
    args = _parse_args(argv)
    script = Script(default=echo() if args.echo else reply(), fault_rate=args.throttle_rate,
                    latency_s=args.latency_ms / 1000.0, seed=args.seed)
    try:
        asyncio.run(_serve_until_stdin_closes(script, args.port))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
