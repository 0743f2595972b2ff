"""The data a judge exchanges with whoever performs its calls. Standard library only."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from metrics.errors import ClassifiedError

Message = dict[str, str]


@dataclass(frozen=True)
class JudgeSample:
    """What is judged. `response` is the candidate's text; `other` the second response of a pairwise
    comparison; `document` the TargetDocument; `reference` the guidance text (playbook) or, for a generic
    pairwise judge, the instruction both responses answer."""

    id: str
    response: Any
    document: str = ""
    reference: str = ""
    other: Any = None
    meta: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class JudgeRequest:
    """One judge call. `part` names what the call decides (a criterion, "all", or an order "ab"/"ba")."""

    sample_id: str
    part: str
    messages: tuple[Message, ...]
    schema: Mapping[str, Any] | None
    max_tokens: int
    temperature: float
    seed: int | None
    repeat: int = 0
    attempt: int = 0  # 0: the first ask; 1: the re-ask after an unreadable verdict

    @property
    def key(self) -> str:
        return f"{self.sample_id}|{self.part}|r{self.repeat}|a{self.attempt}"


@dataclass(frozen=True)
class JudgeReply:
    """The judge model's answer, or the classified error of a call that failed (after the caller's retries)."""

    text: str | None = None
    stop_reason: str = "end_turn"
    input_tokens: int = 0
    output_tokens: int = 0
    error: ClassifiedError | None = None
    cached: bool = False


@dataclass(frozen=True)
class Verdict:
    """A parsed reply: `value` (judge specific: "pass"/"fail", "A"/"B"/"tie", scores) or an error with the
    reason (empty, refusal, not_json, no_verdict, two_verdicts, call_failed). `repaired` says the verdict
    had to be dug out of prose or a fence."""

    part: str
    value: Any = None
    justification: str = ""
    error: ClassifiedError | None = None
    reason: str = ""
    repaired: bool = False
    decided_without_call: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None
