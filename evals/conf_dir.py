"""Where the Hydra configs (the repository's top-level conf/ folder) are, in a checkout and in an install.

A source checkout or editable install reads conf/ next to the packages, so edits take effect at once; a wheel
carries the same files as the package `rft_evals_conf` (setup.py maps it to conf/), found through importlib."""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path

CONF_PACKAGE = "rft_evals_conf"
_CHECKOUT_CONF = Path(__file__).resolve().parent.parent / "conf"


class ConfNotFoundError(FileNotFoundError):
    """Neither a source checkout's conf/ nor the installed config package exists."""


def _has_configs(folder: Path) -> bool:
    return (folder / "config.yaml").is_file()


@cache
def conf_dir() -> Path:
    """The folder holding config.yaml and the config groups (task/, model/, suite/, reward/, ...)."""
    if _has_configs(_CHECKOUT_CONF):
        return _CHECKOUT_CONF
    spec = importlib.util.find_spec(CONF_PACKAGE)
    for location in (spec.submodule_search_locations or []) if spec else []:
        if _has_configs(Path(location)):
            return Path(location)
    raise ConfNotFoundError(f"the rft-evals configs are missing: neither {_CHECKOUT_CONF} nor the installed "
                            f"package {CONF_PACKAGE!r} holds config.yaml; reinstall rft-evals")


def conf_path(*parts: str) -> Path:
    """A file or folder under conf/, e.g. conf_path("suite", "nightly.yaml")."""
    return conf_dir().joinpath(*parts)
