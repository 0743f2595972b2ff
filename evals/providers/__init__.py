"""Candidate model providers: the provider contract (base.py), the registry that builds one from a model config
(registry.py), and one module per provider kind.

Public: the names in __all__ (imported on first use)."""

from evals._exports import lazy_exports

_EXPORTS = {
    "Generation": "base",
    "GenerationRequest": "base",
    "Provider": "base",
    "ProviderError": "base",
    "Usage": "base",
    "PROVIDER_KINDS": "registry",
    "ProviderContext": "registry",
    "UnknownProviderError": "registry",
    "build_provider": "registry",
}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
