"""Provider kinds by name. Modules are imported only when their kind is used, so a run with the
baseline never imports llama_cpp, and a run against Bedrock never loads a GGUF file.

A model config's `provider:` is a registered name, a plug-in's entry point in group `rft_evals.providers`, or
an outside factory named directly as "package.module:build". A factory is `build(config, context) -> Provider`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from evals.providers.base import Provider
from metrics.plugin_registry import Registry


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


PROVIDER_KINDS: Registry[ProviderFactory] = Registry("provider", "rft_evals.providers", UnknownProviderError,
                                                     allow_paths=True)
PROVIDER_KINDS.register("llamacpp", "evals.providers.llamacpp:build")
PROVIDER_KINDS.register("baseline", "evals.providers.tfidf:build")
PROVIDER_KINDS.register("replay", "evals.providers.replay:build")
PROVIDER_KINDS.register("bedrock", "evals.providers.bedrock:build")
PROVIDER_KINDS.register("openai", "evals.providers.openai_compatible:build")
PROVIDER_KINDS.register("majority", "evals.providers.majority:build")
PROVIDER_KINDS.register("instant", "evals.providers.instant:build")  # benchmarks and tests: answers at once


def build_provider(config: Mapping[str, Any], context: ProviderContext) -> Provider:
    factory = PROVIDER_KINDS.lookup(config.get("provider"), f"model config {config.get('name', '?')!r} "
                                                            "(conf/model/*.yaml `provider:`)")
    return factory(config, context)
