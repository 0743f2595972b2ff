"""Calling models at scale: the engine (concurrency, retries, deadlines, rate limits), the generation
cache, token usage, a candidate's typed model config and the requests built from a task's items.

Public: the names in __all__ (imported on first use). `_`-prefixed modules serve this package only."""

from evals._exports import lazy_exports

_EXPORTS = {
    "CallOutcome": "engine",
    "Engine": "engine",
    "EngineSettings": "engine",
    "FatalRunError": "engine",
    "CacheError": "cache",
    "GenerationCache": "cache",
    "ModelConfig": "model_config",
    "ModelConfigError": "model_config",
    "ProgressBar": "progress",
    "build_requests": "requests",
    "UsageStats": "usage",
}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
