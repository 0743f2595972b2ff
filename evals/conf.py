"""Where the Hydra configs (the repository's top-level conf/ folder) are, in a checkout and in an install.

A source checkout or editable install reads conf/ next to the packages, so edits take effect at once; a wheel
carries the same files as the package `rft_evals_conf` (setup.py maps it to conf/), found through importlib.

The configs use one custom OmegaConf resolver, `rft_task_folder` (the run folder is named after the task's
own name, which for task=config is in the spec file); it is registered here, where every entry point that
loads the configs asks for their folder. `config_path` finds one config by name or path, `compose` composes a
config with overrides: the one place the commands do either."""

from __future__ import annotations

import importlib.util
import re
from functools import cache
from pathlib import Path
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from omegaconf import DictConfig

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


def config_path(name_or_path: str, group: str) -> Path:
    """A config by name (conf/<group>/<name>.yaml) or by path (a .yaml, .yml or .json file given as is)."""
    path = Path(name_or_path)
    return path if path.suffix in (".yaml", ".yml", ".json") else conf_dir() / group / f"{name_or_path}.yaml"


def compose(config_name: str, overrides: Sequence[str] = (), *, job_name: str = "app") -> DictConfig:
    """Compose conf/<config_name>.yaml with Hydra overrides, without starting a job. Inside a running Hydra
    app (the nightly, judge-eval) its own search path is reused, so `hydra.searchpath` overrides still apply.
    `job_name` defaults to Hydra's own ("app"): Hydra needs one to fill hydra.job.name."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    if GlobalHydra.instance().is_initialized():
        return hydra_compose(config_name=config_name, overrides=list(overrides))
    with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3", job_name=job_name):
        return hydra_compose(config_name=config_name, overrides=list(overrides))
