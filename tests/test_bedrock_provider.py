"""Bedrock provider: the real boto3 client against the loopback fake runtime (tests/fakes/bedrock_server.py).

Requests are counted at the server, so "retried" and "not retried" are what went over the wire, not what
the client believes it did."""

from __future__ import annotations

import json
import random
import statistics
import threading
import time
from collections import defaultdict
from pathlib import Path

import pytest

from evals.inference.engine import Engine, EngineSettings, FatalRunError
from evals.providers.base import GenerationRequest, ProviderError
from evals.providers.bedrock import BedrockConfigError, BedrockProvider, build
from evals.providers.registry import ProviderContext, build_provider
from metrics.backoff import BackoffPolicy
from metrics.errors import ErrorKind

try:  # repo root on sys.path (python -m pytest, or pytest's pythonpath = ["."])
    from tests.fakes.bedrock_server import (
        FakeBedrock,
        Script,
        echo,
        fault,
        malformed,
        reply,
        reset,
        truncated,
    )
except ModuleNotFoundError:  # plain `pytest`: only tests/ itself is on sys.path
    from fakes.bedrock_server import FakeBedrock, Script, echo, fault, malformed, reply, reset, truncated

REPO = Path(__file__).resolve().parents[1]
CONTEXT = ProviderContext(task=None)
SECRET = "fake-secret-key-never-printed"
ARN = "arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/abcdef123456"
SCHEMA = {"type": "object", "properties": {"comments": {"type": "array", "maxItems": 5}},
          "required": ["comments"]}


@pytest.fixture(autouse=True)
def aws_env(monkeypatch, tmp_path):
    """Dummy credentials only; the developer's ~/.aws and the instance metadata are never consulted."""
    for var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL",
                "AWS_ENDPOINT_URL_BEDROCK_RUNTIME", "AWS_REGION", "AWS_DEFAULT_REGION",
                "RFT_NOVA_SFT_MODEL_ARN", "RFT_NOVA_RFT_MODEL_ARN", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_WEB_IDENTITY_TOKEN_FILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDFAKEFAKEFAKE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def fake():
    with FakeBedrock(Script()) as server:
        yield server


def model_config(fake: FakeBedrock | None, **overrides) -> dict:
    config = {
        "_source": "conf/model/test_model.yaml", "name": "test-nova", "role": "base", "provider": "bedrock",
        "model_id": "us.amazon.nova-2-lite-v1:0", "region": "us-east-1", "profile": None,
        "endpoint_url": fake.url if fake is not None else None, "read_timeout": 10.0, "max_tokens": None,
        "temperature": None, "top_p": None, "structured_output": "prompt", "max_concurrency": 8,
    }
    config.update(overrides)
    return config


def make_provider(fake: FakeBedrock | None, **overrides) -> BedrockProvider:
    provider = build_provider(model_config(fake, **overrides), CONTEXT)
    assert isinstance(provider, BedrockProvider)
    return provider


def ask(item_id: str = "item-1", text: str = "review this", **kwargs) -> GenerationRequest:
    messages = ({"role": "system", "content": "You review contracts."}, {"role": "user", "content": text})
    return GenerationRequest(item_id=item_id, messages=messages, **kwargs)


def fast_engine(provider, *, attempts: int = 4, base_s: float = 0.001, **settings) -> Engine:
    settings = EngineSettings(max_attempts=attempts, **settings)
    backoff = BackoffPolicy(base_s=base_s, max_s=1.0, max_attempts=attempts, rng=random.Random(7))
    return Engine(provider, settings, backoff=backoff)


# --- request and response mapping -----------------------------------------------------------------

def test_request_maps_to_converse_fields(fake):
    provider = make_provider(fake, model_id=ARN, structured_output="native", temperature=0.2, top_p=0.9)
    messages = ({"role": "system", "content": "rules"}, {"role": "user", "content": "first"},
                {"role": "assistant", "content": "an answer"}, {"role": "user", "content": "again"})
    provider.generate(GenerationRequest("a", messages, schema=SCHEMA, max_tokens=77, stop=("END",)))

    (seen,) = fake.seen
    assert seen.model_id == ARN  # the ARN survives percent-encoding in the URL path
    assert seen.operation == "converse"
    body = seen.body
    assert body["system"] == [{"text": "rules"}]
    assert [(m["role"], m["content"]) for m in body["messages"]] == [
        ("user", [{"text": "first"}]), ("assistant", [{"text": "an answer"}]), ("user", [{"text": "again"}])]
    assert body["inferenceConfig"] == {"maxTokens": 77, "temperature": 0.2, "topP": 0.9,
                                       "stopSequences": ["END"]}
    text_format = body["outputConfig"]["textFormat"]
    assert text_format["type"] == "json_schema"
    assert json.loads(text_format["structure"]["jsonSchema"]["schema"]) == SCHEMA


def test_prompt_structured_output_sends_no_output_config(fake):
    provider = make_provider(fake, structured_output="prompt")
    provider.generate(ask(schema=SCHEMA))
    assert "outputConfig" not in fake.seen[0].body


def test_model_config_inference_params_win_over_request_defaults(fake):
    provider = make_provider(fake, max_tokens=300, temperature=0.7)
    provider.generate(ask(max_tokens=512, temperature=0.0))
    assert fake.seen[0].body["inferenceConfig"] == {"maxTokens": 300, "temperature": 0.7}


def test_additional_request_fields_pass_through(fake):
    from omegaconf import OmegaConf

    extra = OmegaConf.create({"reasoning_effort": "low", "nested": {"list": [1, 2]}})
    make_provider(fake, additional_request_fields=extra).generate(ask())
    assert fake.seen[0].body["additionalModelRequestFields"] == {"reasoning_effort": "low",
                                                                 "nested": {"list": [1, 2]}}


def test_response_maps_text_stop_reason_usage_and_latency(fake):
    fake.script.then(reply('{"comments": []}', latency_s=0.05))
    generation = make_provider(fake).generate(ask())
    assert generation.text == '{"comments": []}'
    assert generation.stop_reason == "end_turn"
    assert not generation.truncated
    assert generation.usage.input_tokens > 0 and generation.usage.output_tokens > 0
    assert generation.latency_ms >= 50  # the server's metrics.latencyMs
    assert generation.model_id == "us.amazon.nova-2-lite-v1:0"


def test_gpt_oss_reasoning_block_is_skipped(fake):
    from omegaconf import OmegaConf

    config = OmegaConf.to_container(OmegaConf.load(REPO / "conf/model/gpt_oss_120b.yaml"), resolve=True)
    config["endpoint_url"] = fake.url
    fake.script.then(reply('{"verdict": "pass"}', reasoning="The user wants a verdict; think it over."))
    generation = build(config, CONTEXT).generate(ask())
    assert generation.text == '{"verdict": "pass"}'
    assert fake.seen[0].model_id == "openai.gpt-oss-120b-1:0"


def test_max_tokens_stop_marks_the_output_truncated(fake):
    fake.script.then(truncated('{"comments": [{"text_excerpt": "we may'))
    generation = make_provider(fake).generate(ask())
    assert generation.stop_reason == "max_tokens"
    assert generation.truncated
    with pytest.raises(json.JSONDecodeError):  # what the metrics layer will record as truncated output
        json.loads(generation.text)


@pytest.mark.parametrize("stop", ["content_filtered", "guardrail_intervened"])
def test_filter_stop_reasons_are_recorded_not_raised(fake, stop):
    fake.script.then(reply("", stop_reason=stop))
    generation = make_provider(fake).generate(ask())
    assert generation.stop_reason == stop
    assert not generation.truncated


def test_identity_ignores_routing_but_not_decoding(fake):
    a = make_provider(fake, region="us-east-1", temperature=0.0).identity()
    b = make_provider(fake, region="us-west-2", endpoint_url="http://127.0.0.1:1", temperature=0.0).identity()
    c = make_provider(fake, temperature=0.5).identity()
    assert a == b
    assert a != c
    assert "region" not in a and "endpoint_url" not in a


def test_endpoint_from_environment_variable(fake, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", fake.url)
    make_provider(None).generate(ask())  # endpoint_url null in the config
    assert fake.requests() == 1


def test_fake_serves_invoke_model_too(fake):
    client = make_provider(fake).client
    fake.script.then(reply("invoked"))
    response = client.invoke_model(modelId="amazon.nova-lite-v1:0", body=json.dumps({"messages": []}))
    payload = json.loads(response["body"].read())
    assert payload["output"]["message"]["content"] == [{"text": "invoked"}]
    assert fake.seen[0].operation == "invoke"


# --- error classification ---------------------------------------------------------------------------

RETRYABLE = {
    "ThrottlingException": ErrorKind.THROTTLED,
    "ModelNotReadyException": ErrorKind.PROVIDER,
    "ServiceUnavailableException": ErrorKind.PROVIDER,
    "InternalServerException": ErrorKind.PROVIDER,
    "ModelTimeoutException": ErrorKind.TIMEOUT,
}


def retryable_faults():
    cases = [pytest.param(fault(code), kind, id=code) for code, kind in RETRYABLE.items()]
    cases.append(pytest.param(reset(), ErrorKind.PROVIDER, id="connection-reset"))
    cases.append(pytest.param(malformed(), ErrorKind.PROVIDER, id="malformed-json"))
    return cases


@pytest.mark.parametrize("behaviour, kind", retryable_faults())
def test_retryable_faults_are_classified(fake, behaviour, kind):
    fake.script.then(behaviour)
    with pytest.raises(ProviderError) as caught:
        make_provider(fake).generate(ask())
    assert (caught.value.kind, caught.value.retryable, caught.value.fatal) == (kind, True, False)
    assert fake.requests() == 1  # botocore itself did not retry


@pytest.mark.parametrize("behaviour, kind", retryable_faults())
def test_engine_retries_each_retryable_fault(fake, behaviour, kind):
    fake.script.then(behaviour, behaviour)
    (outcome,) = fast_engine(make_provider(fake)).run([ask()], progress=None)
    assert outcome.ok and outcome.generation.text == "ok"
    assert outcome.attempts == 3
    assert fake.requests() == 3


def test_read_timeout_is_a_retryable_timeout(fake):
    fake.script.then(reply("late", latency_s=1.0))
    with pytest.raises(ProviderError) as caught:
        make_provider(fake, read_timeout=0.2).generate(ask())
    assert caught.value.kind is ErrorKind.TIMEOUT and caught.value.retryable


NOT_RETRIED = [
    pytest.param(fault("ValidationException", "Input is too long for requested model."),
                 ErrorKind.VALIDATION, id="validation-input"),
    pytest.param(fault("ModelErrorException", "The model could not process the input."),
                 ErrorKind.PROVIDER, id="model-error"),
]


@pytest.mark.parametrize("behaviour, kind", NOT_RETRIED)
def test_sample_level_errors_fail_one_sample_without_retry(fake, behaviour, kind):
    fake.script.then(behaviour)
    # One at a time, so the scripted fault meets the first request.
    outcomes = fast_engine(make_provider(fake), max_concurrency=1).run([ask("bad"), ask("good")], progress=None)
    by_id = {o.request.item_id: o for o in outcomes}
    assert by_id["bad"].error.kind is kind and by_id["bad"].attempts == 1
    assert by_id["good"].ok  # one bad sample does not sink the batch
    assert fake.requests() == 2


FATAL = [
    pytest.param(fault("ValidationException", "The provided model identifier is invalid."),
                 ErrorKind.VALIDATION, "model_id", id="validation-model-id"),
    pytest.param(fault("ResourceNotFoundException", "Could not resolve the foundation model."),
                 ErrorKind.VALIDATION, "model_id", id="resource-not-found"),
    pytest.param(fault("AccessDeniedException", "You don't have access to the model."),
                 ErrorKind.AUTH, "AWS_PROFILE", id="access-denied"),
    pytest.param(fault("UnrecognizedClientException", "The security token included in the request is invalid."),
                 ErrorKind.AUTH, "aws configure", id="unrecognized-client"),
]


@pytest.mark.parametrize("behaviour, kind, hint", FATAL)
def test_fatal_errors_stop_the_run_with_a_message_naming_the_fix(fake, behaviour, kind, hint):
    fake.script.then(behaviour)
    provider = make_provider(fake, model_id=ARN)
    with pytest.raises(FatalRunError) as caught:
        fast_engine(provider, max_concurrency=1).run([ask(f"i{n}") for n in range(5)], progress=None)
    message = str(caught.value)
    assert caught.value.kind is kind
    assert "conf/model/test_model.yaml" in message and hint in message
    assert SECRET not in message
    assert fake.requests() == 1  # not retried, and the rest of the run was not attempted


def test_missing_credentials_give_one_clear_message(fake, monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    provider = make_provider(fake)
    with pytest.raises(ProviderError) as caught:
        provider.generate(ask())
    error = caught.value
    assert (error.kind, error.fatal, error.retryable) == (ErrorKind.AUTH, True, False)
    for hint in ("AWS_PROFILE", "aws configure", "AWS_ACCESS_KEY_ID", "conf/model/test_model.yaml"):
        assert hint in str(error)
    assert fake.requests() == 0
    with pytest.raises(FatalRunError):
        fast_engine(provider).run([ask("a"), ask("b")], progress=None)


def test_unknown_profile_is_a_config_error(monkeypatch):
    with pytest.raises(BedrockConfigError, match="field profile.*AWS_PROFILE"):
        make_provider(None, profile="no-such-profile")
    monkeypatch.setenv("AWS_PROFILE", "also-missing")
    with pytest.raises(BedrockConfigError, match="also-missing.*aws configure"):
        make_provider(None)


# --- model ids from the environment -------------------------------------------------------------

def test_unset_arn_names_the_env_var_and_the_override():
    config = model_config(None, model_id=None, model_id_env="RFT_NOVA_SFT_MODEL_ARN", role="sft",
                          _source="conf/model/nova_sft.yaml")
    with pytest.raises(BedrockConfigError) as caught:
        build(config, CONTEXT)
    message = str(caught.value)
    for part in ("conf/model/nova_sft.yaml", "model_id", "RFT_NOVA_SFT_MODEL_ARN", "candidates.sft.model_id="):
        assert part in message


def test_non_numeric_inference_parameter_is_a_config_error():
    with pytest.raises(BedrockConfigError, match="test_model.yaml: field temperature must be a number"):
        make_provider(None, temperature="warm")


def test_malformed_message_fails_its_own_sample_only(fake):
    bad = GenerationRequest("bad", ({"role": "user", "content": None},))  # type: ignore[dict-item]
    outcomes = fast_engine(make_provider(fake)).run([bad, ask("good")], progress=None)
    assert outcomes[0].error.kind is ErrorKind.INPUT and "bad" in outcomes[0].error.message
    assert outcomes[1].ok
    assert fake.requests() == 1


def test_malformed_arn_is_rejected_before_any_call():
    with pytest.raises(BedrockConfigError, match="model_id.*not a Bedrock ARN"):
        build(model_config(None, model_id="arn:aws:bedrock:us-east-1:oops"), CONTEXT)


def _compose_candidates(overrides: list[str]):
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base=None):
        cfg = compose(config_name="config", overrides=["candidates=nova", *overrides])
    return OmegaConf.to_container(cfg.candidates, resolve=True)


def test_nova_candidate_set_composes_base_sft_rft(monkeypatch):
    monkeypatch.setenv("RFT_NOVA_SFT_MODEL_ARN", ARN)
    candidates = _compose_candidates(["candidates.rft.model_id=" + ARN.replace("abcdef", "fedcba")])
    assert sorted(candidates) == ["base", "rft", "sft"]
    assert candidates["base"]["model_id"] == "us.amazon.nova-2-lite-v1:0"
    assert candidates["sft"]["model_id"] == ARN
    assert candidates["rft"]["model_id"].endswith("fedcba123456")
    assert [candidates[k]["role"] for k in ("base", "sft", "rft")] == ["base", "sft", "rft"]
    assert candidates["sft"]["provider"] == "bedrock"  # inherited from nova_2_lite
    assert candidates["sft"]["_source"] == "conf/model/nova_sft.yaml"


def test_nova_candidate_with_unset_arn_fails_at_build(monkeypatch):
    candidates = _compose_candidates([])
    assert candidates["rft"]["model_id"] is None
    with pytest.raises(BedrockConfigError, match="RFT_NOVA_RFT_MODEL_ARN.*candidates.rft.model_id="):
        build(candidates["rft"], CONTEXT)


# --- the engine against the fake: storms, concurrency, deadlines, backoff -------------------------

def test_throttling_storm_ends_every_sample_throttled_after_the_budget(fake):
    fake.script.fault_rate = 1.0  # every request throttled
    requests = [ask(f"item-{n}") for n in range(30)]
    outcomes = fast_engine(make_provider(fake), attempts=3).run(requests, progress=None)
    assert len(outcomes) == 30
    assert {o.request.item_id for o in outcomes} == {r.item_id for r in requests}
    assert all(o.error is not None and o.error.kind is ErrorKind.THROTTLED for o in outcomes)
    assert all(o.attempts == 3 for o in outcomes)
    assert fake.requests() == 90


def test_partial_storm_loses_no_sample(fake):
    fake.script.fault_rate = 0.5
    requests = [ask(f"item-{n}") for n in range(60)]
    outcomes = fast_engine(make_provider(fake), attempts=4).run(requests, progress=None)
    assert [o.index for o in outcomes] == list(range(60))
    kinds = {o.error.kind if o.error else "ok" for o in outcomes}
    assert kinds <= {"ok", ErrorKind.THROTTLED}
    assert sum(o.ok for o in outcomes) >= 40  # 1 - 0.5**4 of them expected to succeed
    assert fake.requests() == sum(o.attempts for o in outcomes)


def test_peak_in_flight_never_exceeds_max_concurrency(fake):
    fake.script.default = echo(latency_s=0.05)
    provider = make_provider(fake, max_concurrency=4)
    engine = fast_engine(provider, max_concurrency=64)  # the provider's own ceiling wins
    outcomes = engine.run([ask(f"i{n}", text=f"text {n}") for n in range(24)], progress=None)
    assert all(o.ok for o in outcomes)
    assert [o.generation.text for o in outcomes] == [f"text {n}" for n in range(24)]
    assert fake.peak_in_flight == 4  # reached, never exceeded


def test_call_deadline_holds_against_a_hanging_model(fake):
    fake.script.default = reply("too late", latency_s=3.0)
    provider = make_provider(fake, call_deadline_s=0.4)  # also caps the socket read timeout
    assert provider.settings.read_timeout == pytest.approx(0.4)
    started = time.monotonic()
    outcomes = fast_engine(provider, call_deadline_s=0.4).run([ask("a"), ask("b")], progress=None)
    elapsed = time.monotonic() - started
    assert all(o.error is not None and o.error.kind is ErrorKind.TIMEOUT for o in outcomes)
    assert elapsed < 1.5


def test_backoff_grows_with_jitter(fake):
    """Each item is throttled three times, then served. The gaps between an item's attempts, seen at the
    server, follow full jitter: uniform in [0, base * 2**k], so their mean grows with k and they vary."""
    attempts: dict[str, int] = defaultdict(int)

    def throttle_thrice(model_id, body):
        key = body["messages"][-1]["content"][0]["text"]
        attempts[key] += 1
        return fault("ThrottlingException") if attempts[key] <= 3 else None

    fake.script.respond = throttle_thrice
    # Ceilings 0.3, 0.6, 1.0 s (capped): far apart next to the up to ~0.1 s of round trip and thread
    # scheduling that 24 concurrent retries add on a loaded 2-core machine.
    base = 0.3
    requests = [ask(f"i{n}", text=f"item {n}") for n in range(24)]
    outcomes = fast_engine(make_provider(fake, max_concurrency=24), attempts=5, base_s=base,
                           max_concurrency=24).run(requests, progress=None)
    assert all(o.ok and o.attempts == 4 for o in outcomes)

    arrivals: dict[str, list[float]] = defaultdict(list)
    for seen in fake.seen:
        arrivals[seen.body["messages"][-1]["content"][0]["text"]].append(seen.at)
    gaps = [[times[k + 1] - times[k] for times in arrivals.values()] for k in range(3)]
    means = [statistics.mean(g) for g in gaps]
    assert means[0] < means[1] < means[2]
    for k, g in enumerate(gaps):
        ceiling = min(1.0, base * 2 ** k)
        assert max(g) <= ceiling + 0.2  # bounded by the ceiling, plus round trip and scheduling slack
        assert statistics.pstdev(g) > ceiling / 8  # jittered, not a fixed step (uniform: ceiling/3.5)


def test_server_counts_peak_in_flight_under_direct_threads(fake):
    """The fake's own counter is right: N threads blocked in the server at once are counted as N."""
    fake.script.default = reply(latency_s=0.2)
    provider = make_provider(fake, max_concurrency=6)
    threads = [threading.Thread(target=provider.generate, args=(ask(),)) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert fake.peak_in_flight == 6


# --- the standalone fake (its own process, asyncio), as scripts/bench_engine.py runs it ------------------

@pytest.fixture
def standalone_fake():
    """`python -m tests.fakes.bedrock_server`: echo replies after 50 ms, about 30% of requests throttled."""
    import subprocess
    import sys

    command = [sys.executable, "-m", "tests.fakes.bedrock_server", "--echo", "--latency-ms", "50",
               "--throttle-rate", "0.3", "--seed", "3"]
    child = subprocess.Popen(command, cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        url = child.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), url
        yield url
    finally:
        child.stdin.close()  # the server stops when its stdin closes
        assert child.wait(timeout=10) == 0


def test_standalone_fake_speaks_the_same_protocol(standalone_fake):
    import urllib.request

    provider = build_provider({**model_config(None), "endpoint_url": standalone_fake, "max_concurrency": 16},
                              CONTEXT)
    requests = [ask(f"i{n}", text=f"text {n}") for n in range(40)]
    started = time.monotonic()
    outcomes = fast_engine(provider, attempts=8, max_concurrency=16).run(requests, progress=None)
    assert [o.generation.text for o in outcomes] == [f"text {n}" for n in range(40)]  # echoed, in order
    assert all(o.generation.latency_ms >= 50 for o in outcomes)  # the server's metrics.latencyMs
    assert time.monotonic() - started < 5.0  # 16 in flight, not one at a time
    with urllib.request.urlopen(f"{standalone_fake}/_fake/stats", timeout=5) as response:
        stats = json.load(response)
    retries = sum(o.attempts for o in outcomes) - len(outcomes)
    assert stats["outcomes"].get("ThrottlingException", 0) == retries > 0  # throttles retried, counted
    assert stats["total"] == len(outcomes) + retries
    assert 1 < stats["peak_in_flight"] <= 16


# --- client_processes: the same boto3 client in worker processes -----------------------------------------

def test_client_processes_must_be_positive():
    with pytest.raises(BedrockConfigError, match="test_model.yaml: field client_processes"):
        build(model_config(None, client_processes=0), CONTEXT)


def test_client_processes_serve_calls_and_keep_the_error_classes(fake):
    """Two worker processes, each with its own real boto3 client: answers come back in request order,
    throttles are retried (counted at the server), a per-sample error stays per sample, and a fatal error
    still stops the run."""
    throttled_once: set[str] = set()

    def respond(model_id, body):
        text = body["messages"][-1]["content"][0]["text"]
        if text == "bad input":
            return fault("ValidationException", "Input is too long for requested model.")
        if text.startswith("text") and text not in throttled_once:
            throttled_once.add(text)
            return fault("ThrottlingException")
        return echo(latency_s=0.05)

    fake.script.respond = respond
    provider = make_provider(fake, client_processes=2, max_concurrency=8)
    try:
        workers = provider._workers.processes
        assert len(workers) == 2 and all(p.is_alive() for p in workers)
        requests = [ask(f"i{n}", text=f"text {n}") for n in range(16)] + [ask("bad", text="bad input")]
        outcomes = fast_engine(provider, attempts=3, max_concurrency=8).run(requests, progress=None)
        assert [o.generation.text for o in outcomes[:16]] == [f"text {n}" for n in range(16)]
        assert all(o.attempts == 2 for o in outcomes[:16])  # one throttle each, then served
        assert outcomes[16].error.kind is ErrorKind.VALIDATION and outcomes[16].attempts == 1
        assert fake.requests() == 16 * 2 + 1
        assert fake.peak_in_flight <= 8

        fake.script.respond = None
        fake.script.default = fault("AccessDeniedException", "not authorized")
        with pytest.raises(FatalRunError, match="refused the credentials"):
            fast_engine(provider).run([ask("x")], progress=None)
    finally:
        provider.close()
    assert not any(p.is_alive() for p in workers)


def test_a_dead_client_process_fails_calls_clearly(fake):
    fake.script.default = reply("ok")
    provider = make_provider(fake, client_processes=2)
    try:
        assert provider.generate(ask()).text == "ok"
        for process in provider._workers.processes:
            process.kill()
            process.join(timeout=5)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not all(w.dead for w in provider._workers._workers):
            time.sleep(0.02)  # each pipe's reader notices its child's exit
        with pytest.raises(ProviderError, match="every Bedrock client process has exited") as caught:
            provider.generate(ask())
        assert caught.value.fatal and "exit code" in str(caught.value)
    finally:
        provider.close()
