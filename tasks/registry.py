"""Task kinds by name. A task module is imported only when its kind is built, so listing tasks or scoring
one task never pulls in the others' dependencies."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tasks.base import Task

# kind -> "module:factory". A factory is `build(cfg, data_root=None) -> Task`.
TASKS: dict[str, str] = {
    "contract_review": "tasks.contract_review.task:build",
    "nda_policy": "tasks.nda_policy.task:build",
    "cuad_risks": "tasks.cuad_risks.task:build",
    "unfair_tos": "tasks.unfair_tos.task:build",
    "config": "tasks.config_task.task:build",  # a task declared entirely in YAML (see README)
}


class UnknownTaskError(ValueError):
    pass


def build_task(cfg: Mapping[str, Any], data_root: Path | str | None = None) -> Task:
    kind = cfg.get("kind", cfg.get("name"))
    if kind not in TASKS:
        raise UnknownTaskError(
            f"task config {cfg.get('name', '?')!r}: kind {kind!r} is not known; "
            f"use one of {sorted(TASKS)} in conf/task/*.yaml"
        )
    module_name, factory_name = TASKS[kind].split(":")
    factory = getattr(importlib.import_module(module_name), factory_name)
    return factory(cfg, data_root=data_root)
