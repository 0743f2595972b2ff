"""What the reward needs from a judge, whatever performs the calls: criterion scores in [0, 1] for one
answer, or a classified error. The Lambda uses the Bedrock client (metrics/reward/bedrock_judge.py); tests
and `rft-evals run` may pass any object with these methods.

The unit of work is a judge *part*: what the judge kind (metrics/reward/judge_kinds/) runs as one unit: one
rubric call deciding one criterion (`mode: per_criterion`) or all of them (`mode: all`), one scale call, or
the two orders of one preference comparison."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from metrics.errors import ClassifiedError, ErrorKind


class JudgeFailure(Exception):
    """A judge call failed; carries the classified error recorded on the sample."""

    def __init__(self, error: ClassifiedError):
        super().__init__(error.message)
        self.error = error


class JudgeClient(Protocol):
    def parts_for(self, criteria: tuple[str, ...]) -> tuple[str, ...]:
        """The calls (parts) that decide `criteria`."""

    def score_part(self, part: str, output_text: str, reference: Any, document: str,
                   deadline: float | None = None) -> Mapping[str, float]:
        """criterion -> score in [0, 1] for the criteria one part decides; raises JudgeFailure.
        `deadline` is a time.monotonic() instant."""


def document_of(reference: Any) -> str:
    """The TargetDocument the judge reads: the window's sentences, one a line (as the prompt shows them)."""
    sentences = reference.get("sentences") if isinstance(reference, Mapping) else None
    if isinstance(sentences, list) and all(isinstance(s, str) for s in sentences):
        return "\n".join(sentences)
    return ""


def judge_sample(judge: JudgeClient, criteria: tuple[str, ...], output_text: str, reference: Any,
                 deadline: float | None = None) -> tuple[dict[str, float] | None, ClassifiedError | None]:
    """The criterion scores of one answer, parts one after the other: (scores, None) or (None, error).
    The Lambda runs the same score_part calls in parallel; the floats are the same."""
    document = document_of(reference)
    scores: dict[str, float] = {}
    for part in judge.parts_for(criteria):
        try:
            scores.update(checked_scores(part, judge.score_part(part, output_text, reference, document, deadline)))
        except JudgeFailure as exc:
            return None, exc.error
    return scores, None


def checked_score(criterion: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or not 0.0 <= value <= 1.0:
        raise JudgeFailure(ClassifiedError(ErrorKind.JUDGE_PARSE, f"criterion {criterion}: score {value!r} is not "
                                           "a number in [0, 1]", "judge"))
    return float(value)


def checked_scores(part: str, values: Any) -> dict[str, float]:
    if not isinstance(values, Mapping):
        raise JudgeFailure(ClassifiedError(ErrorKind.JUDGE_PARSE, f"judge part {part}: scores {values!r} are not "
                                           "a mapping criterion -> score", "judge"))
    return {str(c): checked_score(str(c), v) for c, v in values.items()}


@dataclass(frozen=True)
class JudgeSettings:
    """The `judge:` section of a reward config: the transport (model, retries, timeouts, concurrency) and,
    in `rubric` (a historical name), the whole section as the judge config of its kind
    (metrics/reward/judge_kinds/: rubric criteria, scale dimensions or a preference judge; max_tokens,
    temperature, instructions, ...)."""

    model_id: str
    rubric: Mapping[str, Any]
    max_concurrency: int = 128  # judge calls in flight per Lambda invocation
    max_attempts: int = 5  # per call, the first included
    backoff_base_s: float = 0.25
    backoff_max_s: float = 4.0
    read_timeout_s: float = 60.0
    connect_timeout_s: float = 5.0
    region: str | None = None
    endpoint_url: str | None = None  # None: boto3 reads AWS_ENDPOINT_URL_BEDROCK_RUNTIME

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], source: str = "<reward config>") -> JudgeSettings:
        known = {f for f in cls.__dataclass_fields__ if f != "rubric"}
        if not data.get("model_id"):
            raise ValueError(f"{source}: key judge.model_id: set the Bedrock model id of the judge")
        values = {k: v for k, v in data.items() if k in known}
        settings = cls(**values, rubric=dict(data))
        if settings.max_concurrency < 1 or settings.max_attempts < 1:
            raise ValueError(f"{source}: keys judge.max_concurrency and judge.max_attempts must be >= 1")
        return settings
