"""The one Bedrock error table, request builder and backoff (metrics/bedrock/, metrics/backoff.py): every
consumer classifies each code as the table says, the builder gives the bodies the old builders gave, and the
reward path stays standard library (+ boto3)."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest
from botocore import exceptions as bx
from botocore.parsers import ResponseParserError

from metrics.backoff import BackoffPolicy
from metrics.bedrock.converse import ConverseInputError, MalformedReply, converse_request, read_reply
from metrics.bedrock.errors import CLIENT_ERRORS, HTTP_STATUSES, TRANSPORT_ERRORS, UNKNOWN, ErrorRule, \
    classify_code, kind_for_stage
from metrics.errors import ErrorKind
from metrics.judges.types import JudgeRequest

ROOT = Path(__file__).resolve().parents[1]
NOVA = "us.amazon.nova-2-lite-v1:0"
ARN = "arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/abc"


def client_error(code: str, message: str = "it failed", status: int | None = None) -> bx.ClientError:
    response = {"Error": {"Code": code, "Message": message},
                "ResponseMetadata": {"HTTPStatusCode": status} if status else {}}
    return bx.ClientError(response, "Converse")  # type: ignore[arg-type]


# --- the consumers, each reduced to what it decides --------------------------------------------------------


def _provider():
    from evals.providers.bedrock.client import BedrockProvider, settings_from_config

    return BedrockProvider(settings_from_config({"name": "m", "model_id": NOVA}), client=None)


def provider_decides(exc: BaseException) -> tuple[ErrorKind, bool, bool]:
    error = _provider().classify(exc)
    return error.kind, error.retryable, error.fatal


def judge_decides(exc: BaseException) -> tuple[ErrorKind, bool]:
    from metrics.reward.bedrock_judge import classify

    error, retryable = classify(exc)
    return error.kind, retryable


def replay_decides(code: str, message: str) -> ErrorKind:
    """The kind a batch output's per-record error becomes when its file is replayed."""
    from evals.providers.replay import _batch_record

    _, record = _batch_record({"recordId": "r", "error": {"errorCode": code, "errorMessage": message}}, "f:1", "m")
    assert record.error is not None
    return record.error[0]


def poller_retries(code: str, tmp_path: Path) -> bool:
    """Whether the batch job poller asks again after GetModelInvocationJob failed with `code`."""
    from evals.providers.bedrock import batch

    batch.BatchJob("c", NOVA, "converse", ["i"], [], job_arn="arn:aws:bedrock:us-east-1:1:model-invocation-job/j"
                   ).save(tmp_path)

    class Control:
        calls = 0

        def get_model_invocation_job(self, jobIdentifier: str) -> dict:
            self.calls += 1
            if self.calls == 1:
                raise client_error(code)
            return {"status": "Completed"}

    try:
        batch.wait(tmp_path, Control(), poll_s=0.0, deadline_s=10.0, sleep=lambda s: None)
    except batch.BatchError:
        return False
    return True


CODES = sorted(CLIENT_ERRORS) + [str(status) for status in sorted(HTTP_STATUSES)] + ["502", "NoSuchThing"]


@pytest.mark.parametrize("code", CODES)
def test_every_consumer_classifies_a_code_as_the_table_says(code, tmp_path):
    rule = classify_code(code)
    exc = client_error(code)
    assert provider_decides(exc) == (rule.kind, rule.retryable, rule.fatal)
    assert judge_decides(exc) == (kind_for_stage(rule.kind, "judge"), rule.retryable)
    assert replay_decides(code, "it failed") is rule.kind
    assert poller_retries(code, tmp_path) is rule.retryable


def _transport_errors() -> list[BaseException]:
    return [bx.NoCredentialsError(), bx.PartialCredentialsError(provider="env", cred_var="AWS_SECRET_ACCESS_KEY"),
            bx.TokenRetrievalError(provider="sso", error_msg="expired"), bx.ReadTimeoutError(endpoint_url="u"),
            bx.ConnectTimeoutError(endpoint_url="u"), bx.EndpointConnectionError(endpoint_url="u"),
            bx.ConnectionClosedError(endpoint_url="u"), bx.HTTPClientError(error="boom"),
            ResponseParserError("not json"), bx.ParamValidationError(report="bad"), RuntimeError("a bug")]


@pytest.mark.parametrize("exc", _transport_errors(), ids=lambda e: type(e).__name__)
def test_transport_errors_are_classified_alike_by_provider_and_judge(exc):
    rule = TRANSPORT_ERRORS.get(type(exc).__name__, UNKNOWN)
    assert provider_decides(exc) == (rule.kind, rule.retryable, rule.fatal)
    assert judge_decides(exc) == (kind_for_stage(rule.kind, "judge"), rule.retryable)


def test_a_malformed_reply_is_retried_by_provider_and_judge():
    from metrics.reward.bedrock_judge import classify

    with pytest.raises(MalformedReply) as caught:
        read_reply({"ResponseMetadata": {}})
    error, retryable = classify(caught.value)
    assert (error.kind, retryable) == (ErrorKind.JUDGE, True)
    with pytest.raises(Exception) as raised:
        _provider().parse_response({"ResponseMetadata": {}})
    assert (raised.value.kind, raised.value.retryable, raised.value.code) == (  # type: ignore[attr-defined]
        ErrorKind.PROVIDER, True, "MalformedResponse")


@pytest.mark.parametrize("code, rule", [
    ("ThrottlingException", ErrorRule(ErrorKind.THROTTLED, True)),
    ("ModelNotReadyException", ErrorRule(ErrorKind.PROVIDER, True)),
    ("ModelErrorException", ErrorRule(ErrorKind.PROVIDER, False)),  # the same input fails again
    ("424", ErrorRule(ErrorKind.PROVIDER, False)),
    ("ServiceQuotaExceededException", ErrorRule(ErrorKind.THROTTLED, False, fatal=True)),
    ("UnrecognizedClientException", ErrorRule(ErrorKind.AUTH, False, fatal=True)),
    ("429", ErrorRule(ErrorKind.THROTTLED, True)),
    ("502", ErrorRule(ErrorKind.PROVIDER, True)),
    ("NoSuchThing", ErrorRule(ErrorKind.PROVIDER, False)),
])
def test_the_decided_divergences(code, rule):
    assert classify_code(code) == rule


def test_an_unknown_code_falls_back_on_its_http_status():
    assert classify_code("SlowDown", status=503) == ErrorRule(ErrorKind.PROVIDER, True)
    assert provider_decides(client_error("SlowDown", status=503)) == (ErrorKind.PROVIDER, True, False)


def test_a_validation_error_about_the_model_id_is_fatal_only_then():
    assert classify_code("ValidationException", "The provided model identifier is invalid.").fatal
    assert not classify_code("ValidationException", "Input is too long for requested model.").fatal


def test_the_judge_records_endpoint_failures_as_judge_errors():
    assert kind_for_stage(ErrorKind.PROVIDER, "judge") is ErrorKind.JUDGE
    assert kind_for_stage(ErrorKind.THROTTLED, "judge") is ErrorKind.THROTTLED
    assert kind_for_stage(ErrorKind.PROVIDER, "generate") is ErrorKind.PROVIDER


# --- the request builder -------------------------------------------------------------------------------------

JUDGE_MESSAGES = ({"role": "system", "content": "You are a strict judge."},
                  {"role": "user", "content": 'Answer: {"a": 1}\nVerdict?'})
# What both old builders (the reward judge's and the engine provider's) sent for this judge request.
OLD_JUDGE_BODY = ('{"modelId": "us.amazon.nova-2-lite-v1:0", "messages": [{"role": "user", "content": [{"text": '
                  '"Answer: {\\"a\\": 1}\\nVerdict?"}]}], "inferenceConfig": {"maxTokens": 800, "temperature": '
                  '0.0}, "system": [{"text": "You are a strict judge."}]}')
# What the old provider builder sent for a candidate request using every field.
OLD_CANDIDATE_BODY = (
    '{"modelId": "' + ARN + '", "messages": [{"role": "user", "content": [{"text": "first"}]}, {"role": '
    '"assistant", "content": [{"text": "an answer"}]}, {"role": "user", "content": [{"text": "again"}]}], '
    '"inferenceConfig": {"maxTokens": 77, "temperature": 0.2, "topP": 0.9, "stopSequences": ["END"]}, "system": '
    '[{"text": "rules"}], "outputConfig": {"textFormat": {"type": "json_schema", "structure": {"jsonSchema": '
    '{"schema": "{\\"type\\": \\"object\\", \\"required\\": [\\"comments\\"]}", "name": "output"}}}}, '
    '"additionalModelRequestFields": {"reasoning_effort": "low"}}')


def test_judge_bodies_are_byte_identical_from_the_reward_judge_and_the_engine():
    from evals.judging.judge import to_generation_request
    from metrics.reward.bedrock_judge import converse_kwargs

    request = JudgeRequest("s1", "all", JUDGE_MESSAGES, {"type": "object"}, 800, 0.0, 7)
    assert json.dumps(converse_kwargs(NOVA, request)) == OLD_JUDGE_BODY
    assert json.dumps(_provider().converse_kwargs(to_generation_request(request))) == OLD_JUDGE_BODY


def test_candidate_body_is_byte_identical_to_the_old_provider_builder():
    from evals.providers.base import GenerationRequest
    from evals.providers.bedrock.client import BedrockProvider, settings_from_config

    settings = settings_from_config({"name": "cand", "model_id": ARN, "structured_output": "native", "top_p": 0.9,
                                     "stop_sequences": ["END"],
                                     "additional_request_fields": {"reasoning_effort": "low"}})
    messages = ({"role": "system", "content": "rules"}, {"role": "user", "content": "first"},
                {"role": "nova_assistant", "content": "an answer"}, {"role": "user", "content": "again"})
    request = GenerationRequest("x", messages, schema={"type": "object", "required": ["comments"]}, max_tokens=77,
                                temperature=0.2)
    assert json.dumps(BedrockProvider(settings, client=None).converse_kwargs(request)) == OLD_CANDIDATE_BODY


def test_builder_drops_blank_system_turns_and_sends_wire_types():
    body = converse_request(NOVA, ({"role": "system", "content": ""}, {"role": "user", "content": "q"}),
                            max_tokens=10.0, temperature=0)  # type: ignore[arg-type]
    assert "system" not in body
    assert json.dumps(body["inferenceConfig"]) == '{"maxTokens": 10, "temperature": 0.0}'


def test_builder_refuses_a_message_without_string_content():
    with pytest.raises(ConverseInputError, match="string role and content.*NoneType"):
        converse_request(NOVA, ({"role": "user", "content": None},), max_tokens=5)


def test_reply_reader_skips_reasoning_blocks():
    reply = read_reply({"output": {"message": {"content": [{"reasoningContent": {}}, {"text": "a"}, {"text": "b"}]}},
                        "stopReason": "end_turn", "usage": {"inputTokens": 3, "outputTokens": 2}})
    assert (reply.text, reply.stop_reason, reply.input_tokens, reply.output_tokens, reply.latency_ms) == (
        "ab", "end_turn", 3, 2, None)


# --- the backoff -------------------------------------------------------------------------------------------


def test_the_reward_judge_backs_off_with_the_engines_policy():
    from metrics.reward.bedrock_judge import BedrockJudgeClient
    from metrics.reward.judge import JudgeSettings

    import yaml

    rubric = yaml.safe_load((ROOT / "conf/judge/contract_review_rubric.yaml").read_text())
    settings = JudgeSettings.from_mapping({**rubric, "model_id": NOVA, "backoff_base_s": 0.5, "backoff_max_s": 20.0,
                                           "max_attempts": 6})
    judge = BedrockJudgeClient(settings, "", rng=random.Random(3))
    engine = BackoffPolicy(0.5, 20.0, 6, rng=random.Random(3))
    assert [judge.backoff.delay(a) for a in range(8)] == [engine.delay(a) for a in range(8)]


def test_backoff_fits_only_before_the_deadline():
    import time

    assert BackoffPolicy.fits(1.0, None)
    assert not BackoffPolicy.fits(1.0, time.monotonic() + 0.5)
    assert BackoffPolicy.fits(0.0, time.monotonic() + 5.0)


def test_the_shared_modules_import_only_the_standard_library():
    code = ("import sys, json\nbefore = set(sys.modules)\n"
            "import metrics.bedrock, metrics.backoff, metrics.reward.bedrock_judge\n"
            "tops = {n.split('.')[0] for n in set(sys.modules) - before}\n"
            "print(json.dumps(sorted(tops - set(sys.stdlib_module_names))))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert json.loads(out.stdout) == ["metrics"]
