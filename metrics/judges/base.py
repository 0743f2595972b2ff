"""What every judge shares: its settings, the protocol the drivers use, and the re-ask.

A judge is sans-I/O. `plan(sample, repeat)` returns the requests to send (and verdicts it could decide
without a call, e.g. an empty response); `parse(request, reply)` reads one reply; `reask(request, reply,
verdict)` builds the one second chance an unreadable reply gets; `combine(sample, verdicts)` turns the
verdicts of one sample into metric values. Standard library only."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, Protocol

from metrics.aggregates import Aggregate
from metrics.judges.types import JudgeReply, JudgeRequest, JudgeSample, Verdict
from metrics.types import SampleScore

REASK_NOTE = (
    "\n\nNOTE: an earlier reply to this request could not be read ({reason}). Reply again with exactly one "
    "JSON object matching the schema above, with exactly one verdict where one is asked, and nothing else."
)
MAX_REASK_ECHO = 400  # how much of the unreadable reply is quoted back to the judge


class JudgeConfigError(ValueError):
    """A judge config cannot be used; the message names the field and the fix."""


@dataclass(frozen=True)
class JudgeSettings:
    name: str = "judge"
    kind: str = "rubric"
    max_tokens: int = 512
    temperature: float = 0.0
    seed: int | None = 0
    neutral_score: float = 0.5  # the score of a sample whose verdict could not be obtained
    reask: bool = True  # one second request after an unreadable verdict
    max_response_chars: int = 8000  # judged text beyond this is cut (head + tail) with a marker
    max_document_chars: int = 8000
    max_reference_chars: int = 16000
    max_justification: int = 200
    repeats: int = 1

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> JudgeSettings:
        known = {f.name: type(f.default) for f in fields(cls)}
        values = {k: cfg[k] for k in known if k in cfg and cfg[k] is not None}
        for key, value in values.items():
            if not _has_type(value, known[key]):
                raise JudgeConfigError(f"judge config {cfg.get('name', '?')!r}: field {key} must be of type "
                                       f"{known[key].__name__}, got {value!r}")
        settings = cls(**values)
        if settings.max_tokens < 1 or settings.repeats < 1:
            raise JudgeConfigError(f"judge config {settings.name!r}: max_tokens and repeats must be >= 1")
        if not 0.0 <= settings.neutral_score <= 1.0:
            raise JudgeConfigError(f"judge config {settings.name!r}: neutral_score must be in [0, 1], "
                                   f"got {settings.neutral_score}")
        return settings


def _has_type(value: Any, expected: type) -> bool:
    """The type a settings field's default has; an int is a float too, a bool is neither."""
    if expected is bool or isinstance(value, bool):
        return isinstance(value, bool) and expected is bool
    if expected is float:
        return is_finite_number(value)
    return isinstance(value, expected)


def is_finite_number(value: Any) -> bool:
    """An int or float that converts to a finite float (10**400 does not, NaN and inf are not finite)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(float(value))
    except OverflowError:
        return False


class Judge(Protocol):
    settings: JudgeSettings

    def template_hash(self) -> str: ...

    def plan(self, sample: JudgeSample, repeat: int = 0) -> tuple[list[JudgeRequest], list[Verdict]]: ...

    def parse(self, request: JudgeRequest, reply: JudgeReply) -> Verdict: ...

    def reask(self, request: JudgeRequest, reply: JudgeReply, verdict: Verdict) -> JudgeRequest: ...

    def combine(self, sample: JudgeSample, verdicts: Sequence[Verdict]) -> SampleScore: ...

    def aggregates(self) -> list[Aggregate]: ...


def hash_parts(*parts: Any) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(json.dumps(part, sort_keys=True, default=str).encode("utf-8"))
        digest.update(b"\x00")
    return digest.hexdigest()[:12]


def request(settings: JudgeSettings, sample: JudgeSample, part: str, system: str, user: str,
            schema: Mapping[str, Any] | None, repeat: int) -> JudgeRequest:
    seed = None if settings.seed is None else int(settings.seed) + repeat  # a repeat must miss the cache
    return JudgeRequest(sample_id=sample.id, part=part,
                        messages=({"role": "system", "content": system}, {"role": "user", "content": user}),
                        schema=schema, max_tokens=settings.max_tokens, temperature=settings.temperature,
                        seed=seed, repeat=repeat)


def reask_request(request: JudgeRequest, reply: JudgeReply, verdict: Verdict) -> JudgeRequest:
    """The same request with a note appended to the last user turn (no assistant turn: an empty reply
    cannot be sent back to every provider, and two user turns in a row are invalid on some)."""
    shown = (reply.text or "").strip()[:MAX_REASK_ECHO]
    reason = verdict.reason + (f"; it began: {shown!r}" if shown else "")
    messages = list(request.messages)
    last = dict(messages[-1])
    last["content"] = last["content"] + REASK_NOTE.format(reason=reason)
    messages[-1] = last
    return JudgeRequest(sample_id=request.sample_id, part=request.part, messages=tuple(messages),
                        schema=request.schema, max_tokens=request.max_tokens, temperature=request.temperature,
                        seed=request.seed, repeat=request.repeat, attempt=request.attempt + 1)


def verdict_schema(max_justification: int, labels: Sequence[str], field_name: str = "verdict") -> dict[str, Any]:
    """One verdict with its justification first (the judge reasons before it decides)."""
    return {
        "type": "object",
        "properties": {
            "justification": {"type": "string", "maxLength": max_justification},
            field_name: {"type": "string", "enum": list(labels)},
        },
        "required": ["justification", field_name],
        "additionalProperties": False,
    }
