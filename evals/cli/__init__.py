"""The `rft-evals` command line: the dispatcher (dispatch.py) and its sub-commands (run, data, batch, reward).

Public: the names in __all__ (imported on first use); `main` is the console script (pyproject.toml)."""

from evals._exports import lazy_exports

_EXPORTS = {
    "COMMANDS": "dispatch",
    "main": "dispatch",
}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
