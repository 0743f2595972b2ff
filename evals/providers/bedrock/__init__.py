"""Amazon Bedrock: the Converse client, its worker processes and batch inference jobs. `build` is the provider
registry's factory: it wires the client to worker processes when the model config asks for them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from evals.providers.bedrock.client import (BedrockConfigError, BedrockProvider, BedrockSettings, make_client,
                                            settings_from_config)
from evals.providers.bedrock.workers import ClientWorkers
from evals.providers.registry import ProviderContext

__all__ = ["BedrockConfigError", "BedrockProvider", "BedrockSettings", "build", "make_client",
           "settings_from_config"]


def build(config: Mapping[str, Any], context: ProviderContext) -> BedrockProvider:
    settings = settings_from_config(config, context)
    client = make_client(settings)  # also in the parent: a bad profile or region fails here, with its message
    workers = ClientWorkers(settings, settings.client_processes) if settings.client_processes > 1 else None
    return BedrockProvider(settings, client, workers)
