"""The judging loop both runners share: plan every sample (x repeats), send the first round, re-ask once the
replies that could not be read (not the calls that failed: the caller already retried those), then combine.
How a batch of requests is executed is the caller's business (`Execute`). Standard library only."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from metrics.judges.base import Judge
from metrics.judges.types import JudgeReply, JudgeRequest, JudgeSample, Verdict
from metrics.types import SampleScore

Execute = Callable[[Sequence[JudgeRequest]], list[JudgeReply]]  # one reply per request, in order


@dataclass
class JudgedSample:
    sample_id: str
    repeat: int
    score: SampleScore
    calls: int = 0  # judge calls made for this sample (first asks + re-asks)
    reasked: int = 0
    replies: list[JudgeReply] = field(default_factory=list)


def judge_samples(judge: Judge, samples: Sequence[JudgeSample], execute: Execute, *,
                  repeats: int = 1) -> list[JudgedSample]:
    """One JudgedSample per (sample, repeat), in sample order then repeat order."""
    plans: list[tuple[JudgeSample, int, list[JudgeRequest], list[Verdict]]] = []
    for sample in samples:
        for repeat in range(repeats):
            requests, decided = judge.plan(sample, repeat)
            plans.append((sample, repeat, requests, decided))
    first = [r for _, _, requests, _ in plans for r in requests]
    replies = _checked(execute, first)
    verdicts = {r.key: judge.parse(r, reply) for r, reply in zip(first, replies, strict=True)}
    by_key = {r.key: reply for r, reply in zip(first, replies, strict=True)}

    reasks: list[JudgeRequest] = []
    origin: dict[str, str] = {}
    if judge.settings.reask:
        for request in first:
            verdict = verdicts[request.key]
            if not verdict.ok and verdict.reason != "call_failed":
                again = judge.reask(request, by_key[request.key], verdict)
                reasks.append(again)
                origin[again.key] = request.key
    if reasks:
        for again, reply in zip(reasks, _checked(execute, reasks), strict=True):
            verdicts[origin[again.key]] = judge.parse(again, reply)
            by_key[again.key] = reply

    out = []
    for sample, repeat, requests, decided in plans:
        final = [*decided, *(verdicts[r.key] for r in requests)]
        sent = [by_key[r.key] for r in requests]
        again = [by_key[k] for k, o in origin.items() if o in {r.key for r in requests}]
        out.append(JudgedSample(sample.id, repeat, judge.combine(sample, final), calls=len(sent) + len(again),
                                reasked=len(again), replies=sent + again))
    return out


def _checked(execute: Execute, requests: list[JudgeRequest]) -> list[JudgeReply]:
    if not requests:
        return []
    replies = execute(requests)
    if len(replies) != len(requests):
        raise RuntimeError(f"judge executor returned {len(replies)} replies for {len(requests)} requests")
    return replies
