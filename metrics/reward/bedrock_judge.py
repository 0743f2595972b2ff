"""The judge on Amazon Bedrock (Converse), for the reward Lambda: boto3 only.

botocore's own retries are off; this client retries what the one Bedrock error table
(metrics/bedrock/errors.py) calls retryable (throttling, a model not ready, 5xx, model timeouts, connection
failures, unreadable replies), with the one backoff policy (metrics/backoff.py), and never sleeps past the
caller's deadline (the Lambda must answer before it is killed). Anything else fails the call at once; the
table's `fatal` means nothing here (there is no run to stop). The request is the one Converse builder's
(metrics/bedrock/converse.py), so the engine's judge sends the same body. The prompt, the verdict parsing,
the one re-ask of an unreadable verdict and the scores are the judge kind's (metrics/reward/judge_kinds/:
rubric, scale or preference, each the production judge of metrics/judges/): this module is only the
transport."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from typing import Any

from metrics.backoff import BackoffPolicy
from metrics.bedrock.converse import MalformedReply, converse_request, read_reply
from metrics.bedrock.errors import CLIENT_ERRORS, classify_exception, kind_for_stage
from metrics.errors import ClassifiedError, ErrorKind
from metrics.judges.types import JudgeRequest
from metrics.reward.judge import JudgeFailure, JudgeSettings, document_of
from metrics.reward.judge_kinds import reward_judge

STAGE = "judge"


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
    """(error, retryable) for an exception raised by the boto3 call or by reading its reply."""
    if isinstance(exc, MalformedReply):
        code, message, rule = "MalformedResponse", str(exc), CLIENT_ERRORS["MalformedResponse"]
    else:
        code, message, rule = classify_exception(exc)
    if code in ("NoCredentialsError", "PartialCredentialsError"):
        message = f"no AWS credentials ({message})"
    return ClassifiedError(kind_for_stage(rule.kind, STAGE), f"judge {code}: {message}", STAGE), rule.retryable


def converse_kwargs(model_id: str, request: JudgeRequest) -> dict[str, Any]:
    """A judge request as Converse arguments (the prompt carries the verdict schema: none is sent)."""
    return converse_request(model_id, request.messages, max_tokens=request.max_tokens,
                            temperature=request.temperature)


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
        # the one retry policy; the settings' max_attempts bounds the attempts of each call
        self.backoff = BackoffPolicy(settings.backoff_base_s, settings.backoff_max_s, settings.max_attempts,
                                     rng=rng or random.Random(), sleep=sleep)
        self.calls = 0  # requests sent, retries and re-asks included (for the invocation log)

    @property
    def client(self) -> Any:
        with self._client_lock:  # created once per container, on first use
            if self._client is None:
                self._client = make_client(self.settings)
            return self._client

    def parts_for(self, criteria: tuple[str, ...]) -> tuple[str, ...]:
        return self.kind.parts_for(criteria)

    def send(self, request: JudgeRequest, deadline: float | None = None) -> tuple[str, str]:
        """(text, stop reason) of one request, retried as above; raises JudgeFailure."""
        kwargs = converse_kwargs(self.settings.model_id, request)
        error: ClassifiedError | None = None
        attempts = 0
        while deadline is None or time.monotonic() < deadline:
            attempts += 1
            self.calls += 1
            try:
                reply = read_reply(self.client.converse(**kwargs))
            except Exception as exc:  # classified by the one table; anything unknown is not retried
                error, retryable = classify(exc)
                if not retryable or not self.backoff.may_retry(attempts):
                    raise JudgeFailure(error) from exc
                delay = self.backoff.delay(attempts - 1)
                if not self.backoff.fits(delay, deadline):
                    break
                (self.backoff.sleep or time.sleep)(delay)
                continue
            return reply.text, reply.stop_reason
        raise JudgeFailure(ClassifiedError(ErrorKind.TIMEOUT, "judge: the deadline passed before a verdict"
                                           + (f" (last error: {error.message})" if error else ""), STAGE))

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
