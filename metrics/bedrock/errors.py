"""The one table of Bedrock failures: what each error code, HTTP status or botocore transport error means
(the kind recorded on the sample), whether another attempt may succeed, and whether no call of the run can.

Every Bedrock caller classifies through here: the engine's provider (and its worker processes), the reward
judge in the Lambda, the replay of a batch job's per-record errors and the batch job poller. They differ
only in what they do with the answer: the engine stops a run on `fatal`, the Lambda has no run to stop and
only retries; and a judge call records an endpoint failure as `judge_error` (kind_for_stage).

botocore is never imported: exceptions are recognised by the names of their botocore classes, so this
module costs the Lambda nothing until a call fails.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from metrics.errors import ErrorKind


@dataclass(frozen=True)
class ErrorRule:
    kind: ErrorKind
    retryable: bool
    fatal: bool = False  # no call of this run can succeed: stop it (credentials, model id, quota)


def _rule(kind: ErrorKind, retryable: bool = False, fatal: bool = False) -> ErrorRule:
    return ErrorRule(kind, retryable, fatal)


# Service error codes (ClientError Code; a batch output's errorCode when it is a name).
CLIENT_ERRORS: Mapping[str, ErrorRule] = {
    "ThrottlingException": _rule(ErrorKind.THROTTLED, retryable=True),  # 429
    "TooManyRequestsException": _rule(ErrorKind.THROTTLED, retryable=True),  # 429, older control-plane name
    "ModelNotReadyException": _rule(ErrorKind.PROVIDER, retryable=True),  # 429: a deployment scaling up
    "ServiceUnavailableException": _rule(ErrorKind.PROVIDER, retryable=True),  # 503
    "InternalServerException": _rule(ErrorKind.PROVIDER, retryable=True),  # 500
    "ModelTimeoutException": _rule(ErrorKind.TIMEOUT, retryable=True),  # 408
    # 424: the model failed on this input; the same input fails again, so it costs only its own sample.
    "ModelErrorException": _rule(ErrorKind.PROVIDER),
    # Over the account's quota: waiting does not raise a quota, so retries would only burn the budget.
    "ServiceQuotaExceededException": _rule(ErrorKind.THROTTLED, fatal=True),
    "ValidationException": _rule(ErrorKind.VALIDATION),  # 400; fatal when about the model id (classify_code)
    "ResourceNotFoundException": _rule(ErrorKind.VALIDATION, fatal=True),  # 404: no such model
    "AccessDeniedException": _rule(ErrorKind.AUTH, fatal=True),  # 403
    "UnrecognizedClientException": _rule(ErrorKind.AUTH, fatal=True),
    "InvalidSignatureException": _rule(ErrorKind.AUTH, fatal=True),
    "ExpiredTokenException": _rule(ErrorKind.AUTH, fatal=True),
    # Ours: HTTP 200 whose body has no output message (botocore turns a non-JSON body into that).
    "MalformedResponse": _rule(ErrorKind.PROVIDER, retryable=True),
}

# HTTP statuses, for a code the table does not name (a batch output's numeric errorCode, a proxy's 502).
HTTP_STATUSES: Mapping[int, ErrorRule] = {
    400: _rule(ErrorKind.VALIDATION),
    401: _rule(ErrorKind.AUTH, fatal=True),
    403: _rule(ErrorKind.AUTH, fatal=True),
    404: _rule(ErrorKind.VALIDATION, fatal=True),
    408: _rule(ErrorKind.TIMEOUT, retryable=True),
    422: _rule(ErrorKind.VALIDATION),
    424: _rule(ErrorKind.PROVIDER),
    429: _rule(ErrorKind.THROTTLED, retryable=True),
}
_SERVER_ERROR = _rule(ErrorKind.PROVIDER, retryable=True)  # any other 5xx

# botocore exceptions that are not service errors, by class name (matched along the exception's MRO).
TRANSPORT_ERRORS: Mapping[str, ErrorRule] = {
    "NoCredentialsError": _rule(ErrorKind.AUTH, fatal=True),
    "PartialCredentialsError": _rule(ErrorKind.AUTH, fatal=True),
    "TokenRetrievalError": _rule(ErrorKind.AUTH, fatal=True),
    "ReadTimeoutError": _rule(ErrorKind.TIMEOUT, retryable=True),
    "ConnectTimeoutError": _rule(ErrorKind.TIMEOUT, retryable=True),
    "EndpointConnectionError": _rule(ErrorKind.PROVIDER, retryable=True),
    "ConnectionClosedError": _rule(ErrorKind.PROVIDER, retryable=True),  # connection reset
    "HTTPClientError": _rule(ErrorKind.PROVIDER, retryable=True),
    "ResponseParserError": _rule(ErrorKind.PROVIDER, retryable=True),  # a reply botocore cannot read
    "ParamValidationError": _rule(ErrorKind.VALIDATION),
}

UNKNOWN = _rule(ErrorKind.PROVIDER)  # not retried: an unknown failure repeated is still unknown

# ValidationException messages that mean "this model id is wrong" (every call fails) as opposed to
# "this input is wrong" (too long, bad content), which fails only its own sample.
_MODEL_ID_PROBLEM = re.compile(r"model identifier|model id|modelid|\barn\b|on-demand throughput|inference profile"
                               r"|provisioned|custom model|not supported by this model", re.IGNORECASE)
_MODEL_ID_REJECTED = _rule(ErrorKind.VALIDATION, fatal=True)


def is_model_id_problem(code: str, message: str) -> bool:
    return code == "ValidationException" and bool(_MODEL_ID_PROBLEM.search(message))


def classify_code(code: str | int, message: str = "", status: int | None = None) -> ErrorRule:
    """The rule for a service error code, or an HTTP status (an int or its digits); `status`, when given,
    decides a code the table does not name."""
    text = str(code).strip()
    if is_model_id_problem(text, message):
        return _MODEL_ID_REJECTED
    if text in CLIENT_ERRORS:
        return CLIENT_ERRORS[text]
    if text.isdigit():
        status = int(text)
    if status is None:
        return UNKNOWN
    if status in HTTP_STATUSES:
        return HTTP_STATUSES[status]
    return _SERVER_ERROR if 500 <= status <= 599 else UNKNOWN


def _botocore_names(exc: BaseException) -> list[str]:
    return [cls.__name__ for cls in type(exc).__mro__ if cls.__module__.startswith("botocore")]


def classify_exception(exc: BaseException) -> tuple[str, str, ErrorRule]:
    """(code, message, rule) for an exception raised by a boto3 Bedrock call."""
    names = _botocore_names(exc)
    response = getattr(exc, "response", None)
    if "ClientError" in names and isinstance(response, Mapping):
        error = response.get("Error") or {}
        code = str(error.get("Code", ""))
        message = str(error.get("Message", "")) or str(exc)
        status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
        return code, message, classify_code(code, message, status if isinstance(status, int) else None)
    for name in names:  # most specific class first
        if name in TRANSPORT_ERRORS:
            return name, str(exc), TRANSPORT_ERRORS[name]
    return type(exc).__name__, str(exc), UNKNOWN


def kind_for_stage(kind: ErrorKind, stage: str) -> ErrorKind:
    """The kind a caller records: for a judge call the failing endpoint is the judge, so an endpoint
    failure is a judge_error (throttling, timeouts, validation and auth keep their own kinds)."""
    if stage == "judge" and kind is ErrorKind.PROVIDER:
        return ErrorKind.JUDGE
    return kind
