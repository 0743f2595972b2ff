"""Amazon Bedrock through the Converse API (boto3 `bedrock-runtime`).

One `generate` is one Converse call: botocore's own retries are switched off (total_max_attempts=1) because
the engine retries with its own backoff, budget and deadline; letting botocore retry too would multiply
attempts and hide them from the engine's counts. Every failure leaves as a ProviderError classified by the
tables below, so the engine knows what to retry and what must stop the run.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from evals.providers.base import Generation, GenerationRequest, ProviderError, Usage
from evals.providers.registry import ProviderContext
from metrics.errors import ErrorKind


class Workers(Protocol):
    """What the provider needs of its client worker processes (bedrock/workers.py implements it; the client
    does not import it, so the two modules do not import each other)."""

    @property
    def processes(self) -> list[Any]: ...

    def generate(self, request: GenerationRequest) -> Generation: ...

    def close(self) -> None: ...


DEFAULT_REGION = "us-east-1"
CREDENTIALS_HELP = (
    "set AWS credentials for Bedrock: export AWS_PROFILE=<profile> (a profile made with `aws configure` or "
    "`aws configure sso` + `aws sso login`), or set `profile:` in the model config, or export "
    "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (plus AWS_SESSION_TOKEN for temporary credentials)"
)
# A Bedrock resource ARN: custom-model-deployment, provisioned-model, inference-profile, foundation-model...
_ARN = re.compile(r"^arn:aws(-[a-z-]+)?:bedrock:[a-z0-9-]+:(\d{12})?:[a-z-]+/\S+$")
# ValidationException messages that mean "this model id is wrong", as opposed to "this input is wrong"
# (too long, bad content), which must fail only its own sample.
_MODEL_ID_PROBLEM = re.compile(r"model identifier|model id|modelid|\barn\b|on-demand throughput|inference profile"
                               r"|provisioned|custom model|not supported by this model", re.IGNORECASE)


class BedrockConfigError(ValueError):
    """The model config cannot make a working client; the message names the file, the field and the fix."""


@dataclass(frozen=True)
class ErrorRule:
    kind: ErrorKind
    retryable: bool
    fatal: bool = False


# botocore ClientError code -> classification.
CLIENT_ERRORS: dict[str, ErrorRule] = {
    "ThrottlingException": ErrorRule(ErrorKind.THROTTLED, retryable=True),
    "ModelNotReadyException": ErrorRule(ErrorKind.PROVIDER, retryable=True),
    "ServiceUnavailableException": ErrorRule(ErrorKind.PROVIDER, retryable=True),
    "InternalServerException": ErrorRule(ErrorKind.PROVIDER, retryable=True),
    "ModelTimeoutException": ErrorRule(ErrorKind.TIMEOUT, retryable=True),
    "ModelErrorException": ErrorRule(ErrorKind.PROVIDER, retryable=False),  # the model failed on this input
    "ServiceQuotaExceededException": ErrorRule(ErrorKind.THROTTLED, retryable=False, fatal=True),
    "ValidationException": ErrorRule(ErrorKind.VALIDATION, retryable=False),  # fatal when about the model id
    "ResourceNotFoundException": ErrorRule(ErrorKind.VALIDATION, retryable=False, fatal=True),
    "AccessDeniedException": ErrorRule(ErrorKind.AUTH, retryable=False, fatal=True),
    "UnrecognizedClientException": ErrorRule(ErrorKind.AUTH, retryable=False, fatal=True),
    "InvalidSignatureException": ErrorRule(ErrorKind.AUTH, retryable=False, fatal=True),
    "ExpiredTokenException": ErrorRule(ErrorKind.AUTH, retryable=False, fatal=True),
}
_UNKNOWN_CLIENT_ERROR = ErrorRule(ErrorKind.PROVIDER, retryable=False)


def _transport_rules() -> list[tuple[type[BaseException], ErrorRule]]:
    """botocore exceptions that are not service errors, most specific first (checked with isinstance)."""
    from botocore import exceptions as bx
    from botocore.parsers import ResponseParserError

    return [
        (bx.NoCredentialsError, ErrorRule(ErrorKind.AUTH, retryable=False, fatal=True)),
        (bx.PartialCredentialsError, ErrorRule(ErrorKind.AUTH, retryable=False, fatal=True)),
        (bx.TokenRetrievalError, ErrorRule(ErrorKind.AUTH, retryable=False, fatal=True)),
        (bx.ReadTimeoutError, ErrorRule(ErrorKind.TIMEOUT, retryable=True)),
        (bx.ConnectTimeoutError, ErrorRule(ErrorKind.TIMEOUT, retryable=True)),
        (bx.EndpointConnectionError, ErrorRule(ErrorKind.PROVIDER, retryable=True)),
        (bx.ConnectionClosedError, ErrorRule(ErrorKind.PROVIDER, retryable=True)),  # connection reset
        (bx.HTTPClientError, ErrorRule(ErrorKind.PROVIDER, retryable=True)),
        (ResponseParserError, ErrorRule(ErrorKind.PROVIDER, retryable=True)),  # malformed reply
        (bx.ParamValidationError, ErrorRule(ErrorKind.VALIDATION, retryable=False)),
    ]


@dataclass(frozen=True)
class BedrockSettings:
    """The fields of a Bedrock model config this provider reads (conf/model/*.yaml)."""

    name: str
    model_id: str
    source: str  # the config file, for messages
    role: str = ""
    region: str | None = None
    profile: str | None = None
    endpoint_url: str | None = None
    read_timeout: float = 300.0
    connect_timeout: float = 10.0
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    stop: tuple[str, ...] = ()
    structured_output: str = "prompt"  # native: send the schema as outputConfig.textFormat; prompt: don't
    additional_request_fields: Mapping[str, Any] = field(default_factory=dict)
    max_concurrency: int = 8
    client_processes: int = 1  # > 1: the boto3 client runs in that many worker processes (bedrock/workers.py)


def _plain(value: Any) -> Any:
    """Plain dicts and lists (an OmegaConf node is not JSON-serialisable for additionalModelRequestFields)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)) or type(value).__name__ == "ListConfig":
        return [_plain(v) for v in value]
    return value


def _optional(config: Mapping[str, Any], key: str) -> Any:
    value = config.get(key)
    return None if value in ("", None) else value


def _number(config: Mapping[str, Any], key: str, cast: type, source: str) -> Any:
    value = _optional(config, key)
    if value is None:
        return None
    try:
        return cast(value)
    except (TypeError, ValueError):
        raise BedrockConfigError(f"{source}: field {key} must be a number, got {value!r}") from None


def settings_from_config(config: Mapping[str, Any], context: ProviderContext | None = None) -> BedrockSettings:
    name = str(config.get("name") or "bedrock")
    source = str(config.get("_source") or f"conf/model/{name}.yaml")
    role = str(config.get("role") or "")
    model_id = _optional(config, "model_id")
    if model_id is None:
        env = config.get("model_id_env")
        key = (context.extras.get("config_key") if context else None) or f"candidates.{role or name}"
        fixes = [f"export {env}=arn:aws:bedrock:<region>:<account>:custom-model-deployment/<id>"] if env else []
        fixes.append(f"override it on the command line: {key}.model_id=arn:aws:bedrock:...")
        raise BedrockConfigError(
            f"{source}: field model_id is not set for model {name!r} (it needs a custom-model deployment ARN "
            f"or a provisioned-throughput ARN). Fix: {'; or '.join(fixes)}"
        )
    model_id = str(model_id)
    if model_id.startswith("arn:") and not _ARN.match(model_id):
        raise BedrockConfigError(
            f"{source}: field model_id {model_id!r} is not a Bedrock ARN; expected "
            "arn:aws:bedrock:<region>:<account>:custom-model-deployment/<id> (or provisioned-model/<id>)"
        )
    structured = str(config.get("structured_output") or "prompt")
    if structured not in ("native", "prompt"):
        raise BedrockConfigError(f"{source}: field structured_output must be 'native' or 'prompt', got {structured!r}")
    read_timeout = float(config.get("read_timeout") or 300.0)
    call_deadline = config.get("call_deadline_s")
    if call_deadline:
        # botocore has no per-call timeout; capping the socket timeout at the engine's call deadline
        # frees the worker thread soon after the engine stops waiting for an overrunning call.
        read_timeout = min(read_timeout, float(call_deadline))
    stop = config.get("stop_sequences") or ()
    extra = config.get("additional_request_fields") or {}
    client_processes = _number(config, "client_processes", int, source)
    client_processes = 1 if client_processes is None else client_processes
    if client_processes < 1:
        raise BedrockConfigError(f"{source}: field client_processes must be >= 1, got {client_processes}")
    return BedrockSettings(
        name=name, model_id=model_id, source=source, role=role,
        region=_optional(config, "region"), profile=_optional(config, "profile"),
        endpoint_url=_optional(config, "endpoint_url"),
        read_timeout=read_timeout,
        connect_timeout=float(config.get("connect_timeout") or 10.0),
        max_tokens=_number(config, "max_tokens", int, source),
        temperature=_number(config, "temperature", float, source), top_p=_number(config, "top_p", float, source),
        stop=tuple(str(s) for s in stop), structured_output=structured,
        additional_request_fields=_plain(extra), max_concurrency=int(config.get("max_concurrency") or 8),
        client_processes=client_processes,
    )


def make_client(settings: BedrockSettings) -> Any:
    import boto3
    from botocore import exceptions as bx
    from botocore.config import Config

    try:
        session = boto3.Session(profile_name=settings.profile)
        region = settings.region or session.region_name or DEFAULT_REGION
    except bx.ProfileNotFound as exc:
        raise BedrockConfigError(f"{settings.source}: field profile: {exc}; {CREDENTIALS_HELP}") from None
    client_config = Config(
        region_name=region,
        read_timeout=settings.read_timeout,
        connect_timeout=settings.connect_timeout,
        # total_max_attempts counts the first call; botocore's `max_attempts` key would count retries only.
        retries={"total_max_attempts": 1, "mode": "standard"},
        max_pool_connections=max(10, settings.max_concurrency),
        # converse_kwargs builds every parameter with its wire type and Bedrock validates the rest (as a
        # ValidationException); botocore's own walk over the parameters costs ~0.15 ms of the GIL a call.
        parameter_validation=False,
        tcp_keepalive=True,
    )
    try:
        # endpoint_url None lets boto3 read AWS_ENDPOINT_URL_BEDROCK_RUNTIME / AWS_ENDPOINT_URL itself.
        return session.client("bedrock-runtime", endpoint_url=settings.endpoint_url, config=client_config)
    except bx.ProfileNotFound as exc:  # AWS_PROFILE names a profile that does not exist
        raise BedrockConfigError(f"{settings.source}: {exc}; {CREDENTIALS_HELP}") from None


class BedrockProvider:
    def __init__(self, settings: BedrockSettings, client: Any, workers: Workers | None = None):
        self.settings = settings
        self.name = settings.name
        self.model_id = settings.model_id
        self.max_concurrency = settings.max_concurrency
        self._client = client
        self._transport = _transport_rules()
        self._workers = workers  # when set, calls run in the worker processes' own boto3 clients

    def identity(self) -> Mapping[str, Any]:
        # Region, profile and endpoint route the call; they do not change the output.
        s = self.settings
        return {
            "provider": "bedrock", "model_id": s.model_id, "max_tokens": s.max_tokens,
            "temperature": s.temperature, "top_p": s.top_p, "stop": list(s.stop),
            "structured_output": s.structured_output,
            "additional_request_fields": dict(s.additional_request_fields),
        }

    # --- request ---------------------------------------------------------------------------------

    def converse_kwargs(self, request: GenerationRequest) -> dict[str, Any]:
        """The Converse parameters for one request. Values set in the model config win over the request's."""
        s = self.settings
        for message in request.messages:
            if not isinstance(message.get("content"), str) or not isinstance(message.get("role"), str):
                raise ProviderError(ErrorKind.INPUT, f"item {request.item_id!r}: every message needs a string "
                                    f"role and content, got {sorted(message)} with content "
                                    f"{type(message.get('content')).__name__}", code="BadMessage")
        system = [{"text": m["content"]} for m in request.messages if m["role"] == "system" and m["content"]]
        messages = [
            {"role": "assistant" if m["role"] in ("assistant", "nova_assistant") else "user",
             "content": [{"text": m["content"]}]}
            for m in request.messages if m["role"] != "system"
        ]
        inference: dict[str, Any] = {"maxTokens": int(s.max_tokens or request.max_tokens)}
        temperature = s.temperature if s.temperature is not None else request.temperature
        if temperature is not None:
            inference["temperature"] = float(temperature)
        top_p = s.top_p if s.top_p is not None else request.top_p
        if top_p is not None:
            inference["topP"] = float(top_p)
        stop = list(s.stop or request.stop)
        if stop:
            inference["stopSequences"] = stop
        kwargs: dict[str, Any] = {"modelId": s.model_id, "messages": messages, "inferenceConfig": inference}
        if system:
            kwargs["system"] = system
        if request.schema is not None and s.structured_output == "native":
            kwargs["outputConfig"] = {"textFormat": {
                "type": "json_schema",
                "structure": {"jsonSchema": {"schema": json.dumps(request.schema), "name": "output"}},
            }}
        if s.additional_request_fields:
            kwargs["additionalModelRequestFields"] = dict(s.additional_request_fields)
        return kwargs

    # --- call ------------------------------------------------------------------------------------

    def generate(self, request: GenerationRequest) -> Generation:
        if self._workers is not None:
            return self._workers.generate(request)
        kwargs = self.converse_kwargs(request)  # may raise ProviderError(INPUT) for this sample only
        started = time.monotonic()
        try:
            response = self._client.converse(**kwargs)
        except Exception as exc:
            raise self.classify(exc) from exc
        measured_ms = (time.monotonic() - started) * 1000.0
        return self.parse_response(response, measured_ms)

    def parse_response(self, response: Mapping[str, Any], measured_ms: float = 0.0) -> Generation:
        message = (response.get("output") or {}).get("message")
        if not isinstance(message, Mapping) or "stopReason" not in response:
            # botocore turns a body that is not JSON into a response without `output`.
            raise ProviderError(ErrorKind.PROVIDER, f"{self.model_id}: malformed Converse response (no output "
                                f"message); keys: {sorted(k for k in response if k != 'ResponseMetadata')}",
                                retryable=True, code="MalformedResponse")
        # GPT OSS sends a reasoningContent block before the answer: keep only text blocks.
        text = "".join(block["text"] for block in message.get("content", []) if "text" in block)
        usage = response.get("usage") or {}
        latency = (response.get("metrics") or {}).get("latencyMs")
        return Generation(
            text=text,
            stop_reason=str(response["stopReason"]),
            usage=Usage(int(usage.get("inputTokens", 0)), int(usage.get("outputTokens", 0))),
            latency_ms=float(latency) if latency is not None else measured_ms,
            model_id=self.model_id,
        )

    def classify(self, exc: BaseException) -> ProviderError:
        from botocore.exceptions import ClientError

        if isinstance(exc, ProviderError):
            return exc
        if isinstance(exc, ClientError):
            error = exc.response.get("Error", {})
            code = str(error.get("Code", ""))
            message = str(error.get("Message", "")) or str(exc)
            return self._client_error(code, message)
        for exc_type, rule in self._transport:
            if isinstance(exc, exc_type):
                return self._error(rule, type(exc).__name__, str(exc))
        return ProviderError(ErrorKind.PROVIDER, f"{self.model_id}: {type(exc).__name__}: {exc}",
                             code=type(exc).__name__)

    def _client_error(self, code: str, message: str) -> ProviderError:
        rule = CLIENT_ERRORS.get(code, _UNKNOWN_CLIENT_ERROR)
        if code == "ValidationException" and _MODEL_ID_PROBLEM.search(message):
            rule = ErrorRule(ErrorKind.VALIDATION, retryable=False, fatal=True)
        return self._error(rule, code, message)

    def _error(self, rule: ErrorRule, code: str, message: str) -> ProviderError:
        s = self.settings
        text = f"{s.name} ({s.model_id}): {code}: {message}"
        if rule.kind is ErrorKind.VALIDATION and rule.fatal:
            text = (f"{s.source}: field model_id {s.model_id!r} was rejected by Bedrock ({code}: {message}); "
                    f"check the model id / ARN, that it is available in region {self._region()}, and that the "
                    f"model supports structured_output={s.structured_output!r}")
        elif code in ("NoCredentialsError", "PartialCredentialsError"):
            text = f"{s.source}: no usable AWS credentials for Bedrock ({message}); {CREDENTIALS_HELP}"
        elif rule.kind is ErrorKind.AUTH:
            text = f"{s.source}: Bedrock refused the credentials ({code}: {message}); {CREDENTIALS_HELP}"
        return ProviderError(rule.kind, text, retryable=rule.retryable, fatal=rule.fatal, code=code)

    def _region(self) -> str:
        return str(getattr(getattr(self._client, "meta", None), "region_name", None) or self.settings.region)

    @property
    def client(self) -> Any:
        return self._client

    @property
    def worker_pids(self) -> list[int]:
        """Process ids of the client worker processes (empty with client_processes: 1)."""
        return [p.pid for p in self._workers.processes] if self._workers is not None else []

    def close(self) -> None:
        """Stop the client worker processes, if any (they also stop when the provider is collected or the
        interpreter exits)."""
        if self._workers is not None:
            self._workers.close()
