"""Run a judge with nothing but a `call(request) -> reply` function and a thread pool: the path the reward
Lambda takes (boto3 inside `call`), with no engine, cache or heavy import. `call` may return the reply text,
a JudgeReply, or raise: an exception is that request's JUDGE error, never the batch's.
Standard library only."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from metrics.errors import ClassifiedError, ErrorKind
from metrics.judges.base import Judge
from metrics.judges.driver import Execute, JudgedSample, judge_samples
from metrics.judges.types import JudgeReply, JudgeRequest, JudgeSample

Call = Callable[[JudgeRequest], "str | JudgeReply"]


def _one(call: Call, request: JudgeRequest) -> JudgeReply:
    try:
        reply = call(request)
    except Exception as exc:  # the call's own failure: recorded on its sample
        return JudgeReply(error=ClassifiedError(ErrorKind.JUDGE, f"{type(exc).__name__}: {exc}", "judge"))
    if isinstance(reply, JudgeReply):
        return reply
    if reply is None or isinstance(reply, str):
        return JudgeReply(text=reply or "")
    return JudgeReply(error=ClassifiedError(ErrorKind.JUDGE, f"call returned {type(reply).__name__}, not text",
                                            "judge"))


def thread_pool_executor(call: Call, max_workers: int = 8) -> Execute:
    def execute(requests: Sequence[JudgeRequest]) -> list[JudgeReply]:
        if max_workers <= 1 or len(requests) <= 1:
            return [_one(call, r) for r in requests]
        with ThreadPoolExecutor(max_workers=min(max_workers, len(requests))) as pool:
            return list(pool.map(lambda r: _one(call, r), requests))
    return execute


def run_judge(judge: Judge, samples: Sequence[JudgeSample], call: Call, *, max_workers: int = 8,
              repeats: int = 1) -> list[JudgedSample]:
    return judge_samples(judge, samples, thread_pool_executor(call, max_workers), repeats=repeats)
