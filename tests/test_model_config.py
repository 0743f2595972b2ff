"""One typed model config (evals/inference/model_config.py), parsed once per candidate: the request fields the runner
used to read key by key, the seed rule (no key: the run's seed; `seed: null`: no seed), and errors that name
the config and the key."""

from __future__ import annotations

import pytest

from evals.inference.model_config import ModelConfig, ModelConfigError


def test_defaults_and_the_seed_rule():
    plain = ModelConfig.from_mapping({"provider": "instant"}, "gold")
    assert (plain.name, plain.role, plain.few_shot, plain.max_tokens, plain.temperature, plain.top_p) == \
        ("gold", "candidate", 0, 512, 0.0, None)
    assert plain.request_seed(7) == 7 and plain.raw["name"] == "gold"
    assert ModelConfig.from_mapping({"provider": "x", "seed": None}).request_seed(7) is None
    assert ModelConfig.from_mapping({"provider": "x", "seed": 3}).request_seed(7) == 3
    typed = ModelConfig.from_mapping({"name": "m", "provider": "llamacpp", "few_shot": "2", "max_tokens": 256.0,
                                      "temperature": 0.7, "top_p": 0.9, "max_concurrency": 3})
    assert (typed.few_shot, typed.max_tokens, typed.temperature, typed.top_p) == (2, 256, 0.7, 0.9)
    assert typed.engine.max_concurrency == 3 and ModelConfig.of(typed) is typed


@pytest.mark.parametrize("key, value", [("few_shot", -1), ("max_tokens", "many"), ("max_tokens", 1.5),
                                        ("temperature", "hot"), ("top_p", float("nan")), ("seed", True),
                                        ("max_concurrency", "lots")])
def test_a_bad_key_names_the_config_and_the_key(key, value):
    with pytest.raises(ModelConfigError) as error:
        ModelConfig.from_mapping({"name": "m", "provider": "x", "_source": "conf/model/m.yaml", key: value})
    message = str(error.value)
    assert "'m'" in message and key in message
