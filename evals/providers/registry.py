"""Provider kinds by name. Modules are imported only when their kind is used, so a run with the
baseline never imports llama_cpp, and a run against Bedrock never loads a GGUF file."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from evals.providers.base import Provider

# kind -> "module:factory". A factory is `build(config, context) -> Provider`.
PROVIDER_KINDS: dict[str, str] = {
    "llamacpp": "evals.providers.llamacpp:build",
    "baseline": "evals.providers.tfidf:build",
    "replay": "evals.providers.replay:build",
    "bedrock": "evals.providers.bedrock.client:build",
    "openai": "evals.providers.openai_compatible:build",
    "majority": "evals.providers.majority:build",
    "instant": "evals.providers.instant:build",  # benchmarks and tests: answers at once, in process
}


@dataclass
class ProviderContext:
    """What a provider may need beyond its own config: the task (the baseline trains on its training
    split, few-shot prompts take its examples), the data root, and the run seed."""

    task: Any
    data_root: Path | None = None
    seed: int = 0
    extras: dict[str, Any] = field(default_factory=dict)


class ProviderFactory(Protocol):
    def __call__(self, config: Mapping[str, Any], context: ProviderContext) -> Provider: ...


class UnknownProviderError(ValueError):
    pass


def build_provider(config: Mapping[str, Any], context: ProviderContext) -> Provider:
    kind = config.get("provider")
    if kind not in PROVIDER_KINDS:
        raise UnknownProviderError(
            f"model config {config.get('name', '?')!r}: provider {kind!r} is not known; "
            f"use one of {sorted(PROVIDER_KINDS)} in conf/model/*.yaml"
        )
    module_name, factory_name = PROVIDER_KINDS[kind].split(":")
    factory: ProviderFactory = getattr(importlib.import_module(module_name), factory_name)
    return factory(config, context)
