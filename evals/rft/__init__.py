"""Reinforcement fine-tuning artefacts: the reward Lambda's bundle (built, and invoked locally) and the
exported training data.

Public: the names in __all__ (imported on first use). `_`-prefixed modules serve this package only."""

from evals._exports import lazy_exports

_EXPORTS = {
    "LAMBDA_TIMEOUT_S": "bundle",
    "LocalContext": "bundle",
    "build_bundle": "bundle",
    "bundle_from_configs": "bundle",
    "invoke": "bundle",
    "load_reward_config": "bundle",
}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
