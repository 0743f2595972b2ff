"""Classified errors: every sample ends scored or with one of these kinds recorded on it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum


class ErrorKind(StrEnum):
    PARSE = "parse_error"  # output is not JSON
    SCHEMA = "schema_error"  # JSON, but not the task's output schema
    TRUNCATED = "truncated"  # the model stopped on its token budget
    JUDGE = "judge_error"  # the judge call failed
    JUDGE_PARSE = "judge_parse_error"  # the judge answered, but no verdict could be read
    TIMEOUT = "timeout"  # a deadline passed
    THROTTLED = "throttled"  # retries exhausted on throttling
    PROVIDER = "provider_error"  # the model endpoint failed (5xx, reset, malformed reply)
    VALIDATION = "validation_error"  # the endpoint rejected the request (bad model id, bad params)
    AUTH = "auth_error"  # missing or refused credentials
    CONTENT_FILTERED = "content_filtered"  # a guardrail or filter stopped the output
    INPUT = "input_error"  # the sample itself is malformed (missing field, bad reference)
    INTERNAL = "scorer_error"  # our scoring code raised: a bug to fix, never blamed on the sample or the model


@dataclass(frozen=True)
class ClassifiedError:
    kind: ErrorKind
    message: str
    stage: str = ""  # where it happened: generate, parse, schema, judge, reward

    def to_dict(self) -> dict[str, str]:
        data = asdict(self)
        data["kind"] = str(self.kind)
        return data
