"""The nightly suite: its config, executor, analysis, gate, comparison with the previous night, judge
evaluation.

Public: the names in __all__ (imported on first use). `_`-prefixed modules serve this package only."""

from evals._exports import lazy_exports

_EXPORTS = {
    "resolve_run": "previous_night",
    "run_nightly": "nightly",
}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
