"""The judge on Amazon Bedrock (Converse), for the reward Lambda: boto3 only.

botocore's own retries are off; this client retries ThrottlingException, ModelNotReady, 5xx, model timeouts
and connection failures itself, with exponential backoff and full jitter, and never sleeps past the
caller's deadline (the Lambda must answer before it is killed). Anything else fails the call at once.
The prompt, the verdict parsing, the one re-ask of an unreadable verdict and the scores are the judge kind's
(metrics/reward/judge_kinds/: rubric, scale or preference, each the production judge of metrics/judges/):
this module is only the transport."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from metrics.errors import ClassifiedError, ErrorKind
from metrics.judges.types import JudgeRequest
from metrics.reward.judge import JudgeFailure, JudgeSettings, document_of
from metrics.reward.judge_kinds import reward_judge

# ClientError code -> (kind, retryable)
CLIENT_ERRORS: dict[str, tuple[ErrorKind, bool]] = {
    "ThrottlingException": (ErrorKind.THROTTLED, True),
    "ModelNotReadyException": (ErrorKind.JUDGE, True),
    "ServiceUnavailableException": (ErrorKind.JUDGE, True),
    "InternalServerException": (ErrorKind.JUDGE, True),
    "ModelTimeoutException": (ErrorKind.TIMEOUT, True),
    "ValidationException": (ErrorKind.VALIDATION, False),
    "AccessDeniedException": (ErrorKind.AUTH, False),
    "ResourceNotFoundException": (ErrorKind.VALIDATION, False),
}


def make_client(settings: JudgeSettings) -> Any:
    import boto3
    from botocore.config import Config

    config = Config(
        region_name=settings.region or boto3.Session().region_name or "us-east-1",
        read_timeout=settings.read_timeout_s, connect_timeout=settings.connect_timeout_s,
        retries={"total_max_attempts": 1, "mode": "standard"},  # we retry, with the deadline in view
        max_pool_connections=settings.max_concurrency,
    )
    return boto3.client("bedrock-runtime", endpoint_url=settings.endpoint_url, config=config)


def classify(exc: BaseException) -> tuple[ClassifiedError, bool]:
    """(error, retryable) for an exception raised by the boto3 call."""
    from botocore import exceptions as bx

    if isinstance(exc, bx.ClientError):
        code = str(exc.response.get("Error", {}).get("Code", ""))
        kind, retryable = CLIENT_ERRORS.get(code, (ErrorKind.JUDGE, False))
        message = str(exc.response.get("Error", {}).get("Message", "")) or str(exc)
        return ClassifiedError(kind, f"judge {code}: {message}", "judge"), retryable
    if isinstance(exc, (bx.ReadTimeoutError, bx.ConnectTimeoutError)):
        return ClassifiedError(ErrorKind.TIMEOUT, f"judge {type(exc).__name__}: {exc}", "judge"), True
    if isinstance(exc, (bx.EndpointConnectionError, bx.ConnectionClosedError, bx.HTTPClientError)):
        return ClassifiedError(ErrorKind.JUDGE, f"judge {type(exc).__name__}: {exc}", "judge"), True
    if isinstance(exc, (bx.NoCredentialsError, bx.PartialCredentialsError)):
        return ClassifiedError(ErrorKind.AUTH, f"judge: no AWS credentials ({exc})", "judge"), False
    return ClassifiedError(ErrorKind.JUDGE, f"judge {type(exc).__name__}: {exc}", "judge"), False


def response_text(response: Mapping[str, Any]) -> str:
    """The text blocks of a Converse reply (GPT OSS sends a reasoningContent block first: skipped)."""
    message = (response.get("output") or {}).get("message")
    if not isinstance(message, Mapping):
        raise JudgeFailure(ClassifiedError(ErrorKind.JUDGE, "judge reply has no output message", "judge"))
    return "".join(block["text"] for block in message.get("content", []) if "text" in block)


def converse_kwargs(model_id: str, request: JudgeRequest) -> dict[str, Any]:
    """A judge request as Converse arguments: system turns into `system`, the rest into `messages`."""
    system = [{"text": m["content"]} for m in request.messages if m["role"] == "system"]
    messages = [{"role": m["role"], "content": [{"text": m["content"]}]} for m in request.messages
                if m["role"] != "system"]
    kwargs: dict[str, Any] = {
        "modelId": model_id, "messages": messages,
        "inferenceConfig": {"maxTokens": request.max_tokens, "temperature": request.temperature},
    }
    if system:
        kwargs["system"] = system
    return kwargs


class BedrockJudgeClient:
    def __init__(self, settings: JudgeSettings, reference_text: str, client: Any = None,
                 rng: random.Random | None = None, sleep: Callable[[float], None] = time.sleep):
        self.settings = settings
        self.kind = reward_judge(settings.rubric)
        self.judge = self.kind.judge  # the production judge (metrics/judges/), sans-I/O
        self.criteria = self.kind.criteria
        self.reference_text = reference_text
        self._client = client
        self._client_lock = threading.Lock()
        self._rng = rng or random.Random()
        self._sleep = sleep
        self.calls = 0  # requests sent, retries and re-asks included (for the invocation log)

    @property
    def client(self) -> Any:
        with self._client_lock:  # created once per container, on first use
            if self._client is None:
                self._client = make_client(self.settings)
            return self._client

    def parts_for(self, criteria: tuple[str, ...]) -> tuple[str, ...]:
        return self.kind.parts_for(criteria)

    def _backoff(self, attempt: int, deadline: float | None) -> bool:
        """Sleep before retry number `attempt` (0 first); False when the deadline leaves no time for it."""
        ceiling = min(self.settings.backoff_max_s, self.settings.backoff_base_s * 2 ** min(attempt, 30))
        wait = self._rng.uniform(0.0, ceiling)
        if deadline is not None and time.monotonic() + wait >= deadline:
            return False
        self._sleep(wait)
        return True

    def send(self, request: JudgeRequest, deadline: float | None = None) -> tuple[str, str]:
        """(text, stop reason) of one request, retried as above; raises JudgeFailure."""
        kwargs = converse_kwargs(self.settings.model_id, request)
        error: ClassifiedError | None = None
        for attempt in range(self.settings.max_attempts):
            if deadline is not None and time.monotonic() >= deadline:
                break
            self.calls += 1
            try:
                response = self.client.converse(**kwargs)
            except Exception as exc:  # classified below; anything unknown is a non-retryable judge error
                error, retryable = classify(exc)
                if not retryable or attempt + 1 >= self.settings.max_attempts:
                    raise JudgeFailure(error) from exc
                if not self._backoff(attempt, deadline):
                    break
                continue
            return response_text(response), str(response.get("stopReason") or "end_turn")
        raise JudgeFailure(ClassifiedError(ErrorKind.TIMEOUT, "judge: the deadline passed before a verdict"
                                           + (f" (last error: {error.message})" if error else ""), "judge"))

    def score_part(self, part: str, output_text: str, reference: Any, document: str,
                   deadline: float | None = None) -> dict[str, float]:
        return self.kind.score_part(part, output_text, reference, document, self.reference_text,
                                    lambda request: self.send(request, deadline))

    def score(self, output_text: str, reference: Any, document: str | None = None) -> dict[str, float]:
        doc = document_of(reference) if document is None else document
        out: dict[str, float] = {}
        for part in self.parts_for(self.criteria):
            out.update(self.score_part(part, output_text, reference, doc))
        return out
