"""What a reward judge kind is: the production judge (metrics/judges/*.py, sans-I/O) seen from the reward.

A kind names the scores it gives (`criteria`: what a reward component's `judge:` key may read), splits the
work into parts (one part is what a transport runs as one unit, possibly several calls), and turns one part
into scores in [0, 1] with nothing but a `send(request) -> (text, stop_reason)` function. The prompt, the
verdict parsing, the one re-ask of an unreadable verdict and the combination of verdicts are the production
judge's, so `rft-evals judge-eval`, `rft-evals run judge=...` and the reward cannot drift apart.
Standard library only."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from metrics.errors import ClassifiedError, ErrorKind
from metrics.judges.base import Judge
from metrics.judges.types import JudgeReply, JudgeRequest, Verdict
from metrics.reward.judge import JudgeFailure

SAMPLE_ID = "reward"  # one answer per plan: the id only names the request
Send = Callable[[JudgeRequest], tuple[str, str]]  # (reply text, stop reason); raises JudgeFailure


class RewardJudgeKind(Protocol):
    kind: str
    judge: Judge  # the production judge whose plan / parse / reask / combine the reward runs

    @property
    def criteria(self) -> tuple[str, ...]:
        """The scores this kind gives, by name (a component's `judge:` key)."""

    def parts_for(self, criteria: tuple[str, ...]) -> tuple[str, ...]:
        """The parts (units of work) that decide `criteria`."""

    def score_part(self, part: str, output_text: str, reference: Any, document: str, reference_text: str,
                   send: Send) -> dict[str, float]:
        """score name -> value in [0, 1] for what one part decides; raises JudgeFailure (neutral reward)."""


def reply_of(text: str, stop_reason: str) -> JudgeReply:
    return JudgeReply(text=text, stop_reason=stop_reason)


def needs_reask(judge: Judge, verdict: Verdict) -> bool:
    """The harness's rule (metrics/judges/driver.py): an unreadable reply gets one second chance; a failed
    call does not (the transport already retried it)."""
    return not verdict.ok and judge.settings.reask and verdict.reason != "call_failed"


def ask(judge: Judge, request: JudgeRequest, send: Send) -> Verdict:
    """One request, read by the judge, re-asked once when unreadable."""
    text, stop = send(request)
    verdict = judge.parse(request, reply_of(text, stop))
    if needs_reask(judge, verdict):
        again = judge.reask(request, reply_of(text, stop), verdict)
        text, stop = send(again)
        verdict = judge.parse(again, reply_of(text, stop))
    return verdict


def ask_all(judge: Judge, requests: Sequence[JudgeRequest], send: Send) -> list[Verdict]:
    """Every request of one part, in order; the first verdict still unreadable after its re-ask fails the part
    (judge_parse_error: the sample gets the neutral reward, counted by the batch, never failing it)."""
    verdicts = []
    for request in requests:
        verdict = ask(judge, request, send)
        if not verdict.ok:
            raise JudgeFailure(verdict.error or ClassifiedError(ErrorKind.JUDGE_PARSE, f"judge part "
                                                                f"{request.part}: no verdict", "judge"))
        verdicts.append(verdict)
    return verdicts


def unknown_part(part: str, kind: str, known: Sequence[str]) -> JudgeFailure:
    return JudgeFailure(ClassifiedError(ErrorKind.INPUT, f"judge part {part!r} is not one the {kind} judge plans; "
                                        f"it plans {sorted(known)}", "judge"))


def config_error(source: str, key: str, message: str) -> ValueError:
    return ValueError(f"{source}: key judge.{key}: {message}")


def check_mapping(config: Any, source: str) -> Mapping[str, Any]:
    if not isinstance(config, Mapping):
        raise ValueError(f"{source}: key judge: must be a mapping, got {type(config).__name__}")
    return config
