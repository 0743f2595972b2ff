"""Where the Hydra configs (the repository's top-level conf/ folder) are, in a checkout and in an install.

A source checkout or editable install reads conf/ next to the packages, so edits take effect at once; a wheel
carries the same files as the package `rft_evals_conf` (setup.py maps it to conf/), found through importlib.

The configs use one custom OmegaConf resolver, `rft_task_folder` (the run folder is named after the task's
own name, which for task=config is in the spec file); it is registered here, where every entry point that
loads the configs asks for their folder."""

from __future__ import annotations

import importlib.util
import re
from functools import cache
from pathlib import Path
from typing import Any

CONF_PACKAGE = "rft_evals_conf"
_CHECKOUT_CONF = Path(__file__).resolve().parent.parent / "conf"


class ConfNotFoundError(FileNotFoundError):
    """Neither a source checkout's conf/ nor the installed config package exists."""


def _has_configs(folder: Path) -> bool:
    return (folder / "config.yaml").is_file()


def task_folder_name(name: Any, spec: Any = None) -> str:
    """The run folder's task part: the `name:` of a config task's spec file, else the task config's name. A
    spec that cannot be read falls back to the config's name; the run then reports the spec's error itself."""
    chosen = str(name)
    if spec:
        try:
            import yaml

            declared = yaml.safe_load(Path(str(spec)).expanduser().read_text(encoding="utf-8")).get("name")
            chosen = str(declared) if declared else chosen
        except (OSError, AttributeError, ValueError, yaml.YAMLError):
            pass
    return re.sub(r"[^\w.-]+", "_", chosen) or "task"


def _register_resolvers() -> None:
    from omegaconf import OmegaConf

    if not OmegaConf.has_resolver("rft_task_folder"):
        OmegaConf.register_new_resolver("rft_task_folder", task_folder_name)


@cache
def conf_dir() -> Path:
    """The folder holding config.yaml and the config groups (task/, model/, suite/, reward/, ...)."""
    _register_resolvers()
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
