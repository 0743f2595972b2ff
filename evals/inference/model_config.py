"""One candidate's model config (conf/model/*.yaml), typed and checked once before any call: what the runner
reads from it (decoding, few-shot, role, engine limits). The provider still receives the mapping as written,
since each provider kind has keys of its own (a GGUF path, a Bedrock region, ...)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from evals.inference.engine import EngineSettings

DEFAULT_MAX_TOKENS = 512


class ModelConfigError(ValueError):
    """A model config key has the wrong type or range; the message names the config, the key and the fix."""


@dataclass(frozen=True)
class ModelConfig:
    name: str
    provider: str
    role: str = "candidate"
    few_shot: int = 0  # demonstrations from the task's training split in every prompt
    max_tokens: int = DEFAULT_MAX_TOKENS
    temperature: float = 0.0
    top_p: float | None = None
    seed: int | None = None  # the decoding seed; None with seed_given False means the run's seed
    seed_given: bool = False  # `seed: null` (no seed) differs from no `seed:` key (the run's seed)
    engine: EngineSettings = field(default_factory=EngineSettings)
    raw: Mapping[str, Any] = field(default_factory=dict)  # the config as written, with `name` filled in

    def request_seed(self, run_seed: int) -> int | None:
        return self.seed if self.seed_given else run_seed

    @classmethod
    def of(cls, config: ModelConfig | Mapping[str, Any], name: str = "") -> ModelConfig:
        """A ModelConfig as is, or one parsed from a mapping (callers and tests may pass either)."""
        return config if isinstance(config, ModelConfig) else cls.from_mapping(config, name)

    @classmethod
    def from_mapping(cls, config: Mapping[str, Any], name: str = "") -> ModelConfig:
        if not isinstance(config, Mapping):
            raise ModelConfigError(f"candidate {name!r}: a model config must be a mapping, got "
                                   f"{type(config).__name__}")
        name = str(config.get("name") or name or "?")
        where = f"model config {name!r}" + (f" ({config['_source']})" if config.get("_source") else "")
        seed = config.get("seed")
        top_p = config.get("top_p")
        try:
            engine = EngineSettings.from_config(config)
        except ValueError as exc:
            raise ModelConfigError(str(exc)) from None
        return cls(
            name=name,
            provider=str(config.get("provider")),
            role=str(config.get("role") or "candidate"),
            few_shot=_integer(config.get("few_shot") or 0, f"{where}: few_shot", 0),
            max_tokens=_integer(config.get("max_tokens") or DEFAULT_MAX_TOKENS, f"{where}: max_tokens", 1),
            temperature=_number(config.get("temperature") or 0.0, f"{where}: temperature"),
            top_p=None if top_p is None else _number(top_p, f"{where}: top_p"),
            seed=None if seed is None else _integer(seed, f"{where}: seed", None),
            seed_given="seed" in config,
            engine=engine,
            raw={**config, "name": name},
        )


def _integer(value: Any, where: str, minimum: int | None) -> int:
    """An int, or what reads as one exactly (256.0, "256" from a command-line override)."""
    floor = f" >= {minimum}" if minimum is not None else ""
    problem = ModelConfigError(f"{where} must be an integer{floor}, got {value!r}; fix it in conf/model/")
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise problem
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise problem from None
    if minimum is not None and number < minimum:
        raise problem
    return number


def _number(value: Any, where: str) -> float:
    problem = ModelConfigError(f"{where} must be a number >= 0, got {value!r}; fix it in conf/model/")
    if isinstance(value, bool):
        raise problem
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise problem from None
    if not math.isfinite(number) or number < 0:
        raise problem
    return number
