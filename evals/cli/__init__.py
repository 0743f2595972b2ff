"""The `rft-evals` command line: the dispatcher (main) and its sub-commands (run, data, batch, reward).

Public: the names in __all__ (imported on first use). `_`-prefixed modules serve this package only."""

from evals._exports import lazy_exports

_EXPORTS = {
    "COMMANDS": "main",
}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
