"""The reward Lambda's work on one event, without AWS specifics: read the samples, score each with the
task's scorer, call the judge for all of them in parallel (bounded), and compose each reward with
compute_reward. A sample that cannot be read, scored or judged in time gets the neutral reward and an error
metric (a sample without a usable `id`, or not an object, too: its result keeps its place in the list with
`id: null`, and the batch log counts it under `id_violations`); a scorer that raises is our bug, reported as
`error/scorer_error`, never as bad input. Only an event that is not a list raises MalformedEventError.

    event:  [{"id", "messages": [..., {"role": "assistant"|"nova_assistant", "content"}],
              "reference_answer" | "metadata": {"reference_answer"}, ...}, ...]
    result: [{"id", "aggregate_reward_score": float, "metrics_list": [{"name", "value", "type"}]}, ...]"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ALL_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from metrics.errors import ClassifiedError, ErrorKind
from metrics.reward.bundle import RewardBundle
from metrics.reward.compute import RewardResult, compute_reward, needs_judge
from metrics.reward.judge import JudgeClient, JudgeFailure, checked_scores, document_of
from metrics.reward.reference import MissingReferenceError, reference_from
from metrics.types import SampleScore

ASSISTANT_ROLES = ("assistant", "nova_assistant")


class MalformedEventError(ValueError):
    """The event does not have the reward contract's shape; nothing can be returned for it."""


class SampleError(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.error = ClassifiedError(ErrorKind.INPUT, message, "event")


def check_event(event: Any) -> list[Mapping[str, Any]]:
    if isinstance(event, Mapping) and "id" in event and "messages" in event:
        raise MalformedEventError("the event must be a JSON list of samples; got a single sample object: "
                                  "wrap it in a list: [sample]")
    if not isinstance(event, list):
        raise MalformedEventError(f"the event must be a JSON list of samples [{{id, messages, "
                                  f"reference_answer}}, ...]; got {type(event).__name__}")
    return event


def id_violation(sample: Any) -> str | None:
    """Why `sample` cannot be answered under its own id (it is not an object, or its `id` is missing or not a
    scalar), or None when it can."""
    if not isinstance(sample, Mapping):
        return f"the sample must be an object with id, messages and reference_answer; got {type(sample).__name__}"
    if sample.get("id") is None or isinstance(sample.get("id"), (dict, list)):
        return f"the sample has no usable `id` (a string echoed back with its reward); its keys are {sorted(sample)}"
    return None


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content blocks: [{"text": ...}] or [{"type": "text", "text": ...}]
        if all(isinstance(b, Mapping) and isinstance(b.get("text"), str) for b in content):
            return "".join(b["text"] for b in content)
    raise SampleError(f"the rollout's content must be text (a string or text blocks), got {type(content).__name__}")


def rollout_text(sample: Mapping[str, Any]) -> str:
    """The content of the last assistant (or nova_assistant) message."""
    messages = sample.get("messages")
    if not isinstance(messages, list):
        raise SampleError("sample has no `messages` list")
    for message in reversed(messages):
        if isinstance(message, Mapping) and message.get("role") in ASSISTANT_ROLES:
            return _content_text(message.get("content"))
    raise SampleError("no assistant (or nova_assistant) message to score: the rollout is the last one")


def reference_of(sample: Mapping[str, Any]) -> Any:
    """The sample's reference, wherever the producer put it (metrics/reward/reference.py, shared by every
    runtime)."""
    try:
        return reference_from(sample)
    except MissingReferenceError as exc:
        raise SampleError(str(exc)) from None


@dataclass
class _Sample:
    id: Any
    output: str = ""
    reference: Any = None
    score: SampleScore | None = None
    error: ClassifiedError | None = None  # reading or scoring failed
    judge_scores: dict[str, float] = field(default_factory=dict)
    judge_error: ClassifiedError | None = None
    judged: bool = False
    id_violation: bool = False  # answered with id null: the sample had no usable id


def _prepare(raw: Any, score: Callable[[str, Any], SampleScore]) -> _Sample:
    violation = id_violation(raw)
    if violation is not None:  # neutral in its place; the rest of the batch keeps its rewards
        return _Sample(None, error=ClassifiedError(ErrorKind.INPUT, violation, "event"), id_violation=True)
    sample = _Sample(raw["id"])
    try:
        sample.output = rollout_text(raw)
        sample.reference = reference_of(raw)
    except SampleError as exc:
        sample.error = exc.error
        return sample
    try:
        sample.score = score(sample.output, sample.reference)
    except Exception as exc:  # a scorer bug costs one sample, never the batch, and is reported as ours
        sample.error = ClassifiedError(ErrorKind.INTERNAL, f"the scorer raised {exc!r}", "score")
    return sample


def _result(sample: _Sample, bundle: RewardBundle) -> tuple[dict[str, Any], RewardResult]:
    config = bundle.reward
    if sample.error is not None:
        reward = compute_reward({}, [sample.error], None, None, config)
    else:
        assert sample.score is not None
        judge_scores = sample.judge_scores if sample.judged and sample.judge_error is None else None
        reward = compute_reward(sample.score.values, sample.score.errors, judge_scores, sample.judge_error, config)
    metrics = [c.to_dict() for c in reward.components]
    if reward.error is not None:
        metrics.append({"name": f"error/{reward.error.kind}", "value": 1.0, "type": "Metric"})
    metrics.append({"name": "neutral", "value": 1.0 if reward.neutral else 0.0, "type": "Metric"})
    return {"id": sample.id, "aggregate_reward_score": reward.score, "metrics_list": metrics}, reward


def _judge_all(samples: Sequence[_Sample], bundle: RewardBundle, judge: JudgeClient, deadline: float | None,
               max_concurrency: int) -> int:
    """Every judge part (call) of every sample that needs the judge, in one bounded pool; returns calls
    submitted."""
    config = bundle.reward
    parts = judge.parts_for(config.criteria)
    jobs: list[tuple[_Sample, str]] = []
    for sample in samples:
        if sample.score is not None and needs_judge(sample.score.values, sample.score.errors, config):
            sample.judged = True
            jobs.extend((sample, part) for part in parts)
    if not jobs:
        return 0
    pool = ThreadPoolExecutor(max_workers=max(1, min(max_concurrency, len(jobs))), thread_name_prefix="judge")
    futures: dict[Future[Mapping[str, float]], tuple[_Sample, str]] = {}
    try:
        for sample, part in jobs:
            future = pool.submit(judge.score_part, part, sample.output, sample.reference,
                                 document_of(sample.reference), deadline)
            futures[future] = (sample, part)
        timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
        done, _ = wait(futures, timeout=timeout, return_when=ALL_COMPLETED)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)  # calls still running finish on their own
    for future, (sample, part) in futures.items():
        if sample.judge_error is not None:
            continue
        if future not in done:
            sample.judge_error = ClassifiedError(ErrorKind.TIMEOUT, "the Lambda deadline came before the judge's "
                                                 f"verdict on {part}", "judge")
            continue
        try:
            sample.judge_scores.update(checked_scores(part, future.result()))
        except JudgeFailure as exc:
            sample.judge_error = exc.error
        except Exception as exc:  # a judge client bug is this sample's judge error, not the batch's
            sample.judge_error = ClassifiedError(ErrorKind.JUDGE, f"judge failed: {exc!r}", "judge")
    return len(jobs)


@dataclass
class BatchReport:
    results: list[dict[str, Any]]
    rewards: list[RewardResult]
    log: dict[str, Any]


def score_event(event: Any, bundle: RewardBundle, judge: JudgeClient | None, *, deadline: float | None = None,
                max_concurrency: int = 64) -> BatchReport:
    started = time.monotonic()
    samples = [_prepare(raw, bundle.score) for raw in check_event(event)]
    calls = 0
    if bundle.reward.criteria:
        if judge is None:
            for sample in samples:
                sample.judge_error = ClassifiedError(ErrorKind.JUDGE, "no judge client is configured", "judge")
        else:
            calls = _judge_all(samples, bundle, judge, deadline, max_concurrency)
    pairs = [_result(s, bundle) for s in samples]
    rewards = [reward for _, reward in pairs]
    errors = Counter(str(r.error.kind) for r in rewards if r.error is not None)
    log = {
        "event": "reward_batch", "samples": len(samples), "scored": sum(1 for r in rewards if not r.neutral),
        "neutral": sum(1 for r in rewards if r.neutral), "gated": sum(1 for r in rewards if r.gate),
        "judge_calls": calls, "errors": dict(errors),
        "id_violations": sum(1 for s in samples if s.id_violation),
        "wall_ms": round((time.monotonic() - started) * 1000.0, 1),
        "mean_reward": (sum(r.score for r in rewards) / len(rewards)) if rewards else None,
    }
    return BatchReport([result for result, _ in pairs], rewards, log)
