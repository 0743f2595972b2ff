"""The real boto3 Bedrock client in worker processes, for runs that need more calls per second than one
Python interpreter can prepare.

Each boto3 call costs about 2 ms of CPU under the interpreter lock (serialising, signing, HTTP, parsing),
so one process tops out near 500 calls/s, and its calls already queue for the lock at a fraction of that.
With `client_processes: N` in the model config, N spawned children each run an in-process
BedrockProvider (the same boto3 client and error classification) on its own threads; the parent only
sends requests and receives generations over a pipe per child, about 0.2 ms of its CPU a
call. The engine above is unchanged: it still bounds the calls in flight and retries what is retryable.

A child that dies fails its waiting calls as retryable provider errors; when no child is left, calls fail
fatally with a message naming the process, so the run stops instead of failing every sample.
"""

from __future__ import annotations

import itertools
import multiprocessing
import threading
import weakref
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

import evals.inference.deadline as deadlines
from evals.providers.base import Generation, GenerationRequest, ProviderError
from metrics.errors import ErrorKind

if TYPE_CHECKING:
    from evals.providers.bedrock.client import BedrockSettings

# What a child sends back per call: (call id, generation or None, error fields or None).
_ErrorFields = tuple[str, str, bool, bool, str]  # kind, message, retryable, fatal, code
_Reply = tuple[int, Generation | None, _ErrorFields | None]


def _error_fields(error: ProviderError) -> _ErrorFields:
    return (str(error.kind), str(error), error.retryable, error.fatal, error.code)


def _serve(conn: Connection, settings: BedrockSettings, threads: int) -> None:
    """Child process: answer (call id, request) messages until the parent closes the pipe or sends None."""
    from evals.providers.bedrock.client import BedrockProvider, make_client

    provider = BedrockProvider(settings, make_client(settings))
    send_lock = threading.Lock()

    def call(call_id: int, request: GenerationRequest) -> None:
        reply: _Reply
        try:
            reply = (call_id, provider.generate(request), None)
        except ProviderError as error:
            reply = (call_id, None, _error_fields(error))
        except Exception as exc:  # a bug fails this call only, as in the engine
            reply = (call_id, None, (str(ErrorKind.PROVIDER), f"client worker: {type(exc).__name__}: {exc}",
                                     False, False, type(exc).__name__))
        with send_lock:
            try:
                conn.send(reply)
            except (OSError, ValueError):
                pass  # the parent is gone

    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="bedrock-client") as pool:
        while True:
            try:
                message = conn.recv()
            except (EOFError, OSError):
                break
            if message is None:
                break
            pool.submit(call, *message)


class _Worker:
    """One child process and the parent's side of its pipe."""

    def __init__(self, context: Any, settings: BedrockSettings, threads: int, index: int):
        parent_end, child_end = context.Pipe()
        self.name = f"bedrock-client-{settings.name}-{index}"
        self.process = context.Process(target=_serve, args=(child_end, settings, threads), name=self.name,
                                       daemon=True)
        self.process.start()
        child_end.close()
        self.conn: Connection = parent_end
        self._send_lock = threading.Lock()
        self._lock = threading.Lock()
        self._pending: dict[int, Future[tuple[Generation | None, _ErrorFields | None]]] = {}
        self._ids = itertools.count()
        self.dead: str | None = None
        self._reader = threading.Thread(target=self._read, name=f"{self.name}-reader", daemon=True)
        self._reader.start()

    def call(self, request: GenerationRequest) -> Generation:
        future: Future[tuple[Generation | None, _ErrorFields | None]] = Future()
        with self._lock:
            if self.dead is not None:
                raise ProviderError(ErrorKind.PROVIDER, self.dead, retryable=True, code="ClientWorkerDied")
            call_id = next(self._ids)
            self._pending[call_id] = future
        try:
            with self._send_lock:
                self.conn.send((call_id, request))
        except (OSError, ValueError) as exc:
            self._forget(call_id)
            raise ProviderError(ErrorKind.PROVIDER, f"{self.name}: could not send the request: {exc}",
                                retryable=True, code="ClientWorkerDied") from exc
        try:
            generation, error = future.result(timeout=deadlines.remaining_s())
        except FutureTimeout:
            self._forget(call_id)
            raise ProviderError(ErrorKind.TIMEOUT, f"{self.name}: no answer before the call's deadline",
                                retryable=True, code="ClientWorkerTimeout") from None
        if error is not None:
            kind, message, retryable, fatal, code = error
            raise ProviderError(ErrorKind(kind), message, retryable=retryable, fatal=fatal, code=code)
        assert generation is not None
        return generation

    def _forget(self, call_id: int) -> None:
        with self._lock:
            self._pending.pop(call_id, None)

    def _read(self) -> None:
        while True:
            try:
                call_id, generation, error = self.conn.recv()
            except (EOFError, OSError):
                break
            with self._lock:
                future = self._pending.pop(call_id, None)
            if future is not None:
                future.set_result((generation, error))
        self.process.join(timeout=1.0)
        message = f"the Bedrock client process {self.name} exited (exit code {self.process.exitcode})"
        with self._lock:
            self.dead = message
            waiting = list(self._pending.values())
            self._pending.clear()
        for future in waiting:
            future.set_result((None, (str(ErrorKind.PROVIDER), message, True, False, "ClientWorkerDied")))

    def stop(self) -> None:
        try:
            with self._send_lock:
                self.conn.send(None)
        except (OSError, ValueError):
            pass
        self.process.join(timeout=5.0)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(timeout=5.0)
        self.conn.close()


def _stop_all(workers: list[_Worker]) -> None:
    for worker in workers:
        worker.stop()


class ClientWorkers:
    """`processes` children with a real boto3 client each; calls go round-robin to the living ones."""

    def __init__(self, settings: BedrockSettings, processes: int):
        if processes < 2:
            raise ValueError(f"ClientWorkers needs at least 2 processes, got {processes}")
        # spawn, not fork: the parent has threads (engine, MLflow) that a forked child would inherit mid-lock.
        context = multiprocessing.get_context("spawn")
        # Each child can carry every call the engine allows in flight, so an uneven round-robin never
        # queues a call inside a child; the engine's bound on calls in flight still holds overall.
        threads = max(1, settings.max_concurrency)
        self._workers = [_Worker(context, settings, threads, i) for i in range(processes)]
        self._turn = itertools.count()
        self._finalizer = weakref.finalize(self, _stop_all, list(self._workers))

    @property
    def processes(self) -> list[Any]:
        return [worker.process for worker in self._workers]

    def generate(self, request: GenerationRequest) -> Generation:
        living = [worker for worker in self._workers if worker.dead is None]
        if not living:
            raise ProviderError(ErrorKind.PROVIDER, "every Bedrock client process has exited: "
                                f"{'; '.join(str(w.dead) for w in self._workers)}", fatal=True,
                                code="ClientWorkerDied")
        # The task item travels in `context` for providers that read it; Bedrock only needs the messages.
        return living[next(self._turn) % len(living)].call(replace(request, context={}))

    def close(self) -> None:
        self._finalizer()
