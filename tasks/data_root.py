"""Where the benchmark data lives on this machine. The data is never committed: it is fetched (pinned URL +
sha256) or copied from a mirror into one root, laid out as `<dataset>/<path inside the dataset>`."""

from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "RFT_DATA_DIR"
FETCH_HINT = (
    "run `rft-evals data fetch` (or `rft-evals data fetch --from DIR` to copy from a local mirror), "
    f"or set {ENV_VAR} to a folder that already holds the data"
)


class MissingDataError(FileNotFoundError):
    """A data file the task needs is not under the data root."""


def data_root() -> Path:
    """The data root: $RFT_DATA_DIR if set, else the per-user cache folder `rft-evals/data`."""
    configured = os.environ.get(ENV_VAR, "").strip()
    if configured:
        return Path(configured).expanduser()
    # imported here: platformdirs is only needed when no root is configured
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("rft-evals")) / "data"


def require(relpath: str, root: Path | str | None = None) -> Path:
    """The path of `relpath` under the data root, or MissingDataError saying how to get it."""
    base = Path(root) if root is not None else data_root()
    path = base / relpath
    if not path.exists():
        raise MissingDataError(f"data file {relpath!r} is missing under the data root {str(base)!r}: {FETCH_HINT}")
    return path
