"""Task kinds by name. A task module is imported only when its kind is built, so listing tasks or scoring
one task never pulls in the others' dependencies.

A task config's `kind:` is a registered name, a plug-in's entry point in group `rft_evals.tasks`, or an
outside builder named directly as "package.module:build" (a third-party task needs no edit here). A builder
is `build(cfg, data_root=None) -> Task`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from metrics.plugin_registry import Registry
from tasks.base import Task


class UnknownTaskError(ValueError):
    pass


TaskBuilder = Callable[..., Task]

TASKS: Registry[TaskBuilder] = Registry("task kind", "rft_evals.tasks", UnknownTaskError, allow_paths=True)
TASKS.register("contract_review", "tasks.contract_review.task:build")
TASKS.register("nda_policy", "tasks.nda_policy.task:build")
TASKS.register("cuad_risks", "tasks.cuad_risks.task:build")
TASKS.register("unfair_tos", "tasks.unfair_tos.task:build")
TASKS.register("config", "tasks.config_task.task:build")  # a task declared entirely in YAML (see README)


def build_task(cfg: Mapping[str, Any], data_root: Path | str | None = None) -> Task:
    kind = cfg.get("kind", cfg.get("name"))
    build = TASKS.lookup(kind, f"task config {cfg.get('name', '?')!r} (conf/task/*.yaml `kind:`)")
    return build(cfg, data_root=data_root)
