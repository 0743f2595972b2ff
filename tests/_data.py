"""The one place tests find the benchmark data: the configured data root ($RFT_DATA_DIR, else the folder
`rft-evals data fetch` fills). No machine path and no fallback: a test that needs data it cannot find fails
with a message saying how to get it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tasks.data_root import ENV_VAR, data_root

DATA_ROOT: Path = data_root()
DATA: str = str(DATA_ROOT)  # for configs, subprocess environments and Hydra overrides


def require_dataset(name: str = "claudette", root: Path | None = None) -> Path:
    """The data root, or a test failure naming the variable and the command that fixes it."""
    base = DATA_ROOT if root is None else root
    if not (base / name).is_dir():
        pytest.fail(f"benchmark data set {name!r} not found under the data root {base}: set {ENV_VAR} to a folder "
                    "holding the data, or run `rft-evals data fetch` (`--from DIR` copies from a local mirror)",
                    pytrace=False)
    return base
