"""Read what a run left on disk: per task, summary.json, the resolved config and the per-sample records.

Two layouts are read the same way: a plain `rft-evals run` folder (summary.json and records/ at its top) and
a nightly folder (one such folder per task, named after the task; the `tasks/` artifact of a nightly MLflow
run has the same shape once downloaded)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from evals.samples.records import SampleRecord, read_records


class RunDataError(ValueError):
    """A folder that holds no run results; the message names the folder and what was expected."""


@dataclass
class TaskOutputs:
    name: str
    directory: Path
    summary: dict[str, Any]
    config: dict[str, Any]  # the resolved run config (secrets redacted), {} when absent
    records: dict[str, list[SampleRecord]] = field(default_factory=dict)  # candidate -> records, by item id

    @property
    def candidates(self) -> list[str]:
        return list(self.summary.get("candidates") or self.records)


def read_task_records(directory: Path) -> dict[str, list[SampleRecord]]:
    """candidate -> its records, by item id. A resumed run may have written an item twice: the last record wins.
    The files hold records in completion order, which differs from run to run (threads, Ray workers); the
    paired bootstrap draws by position, so a fixed order keeps two runs of the same outputs at the same figures."""
    out: dict[str, list[SampleRecord]] = {}
    for path in sorted((directory / "records").glob("*.jsonl")):
        by_item: dict[str, SampleRecord] = {}
        for record in read_records(path):
            by_item[record.item_id] = record
        if by_item:
            out[next(iter(by_item.values())).candidate] = [by_item[i] for i in sorted(by_item)]
    return out


def load_task(directory: Path, name: str | None = None) -> TaskOutputs:
    summary_path = directory / "summary.json"
    if not summary_path.is_file():
        raise RunDataError(f"{directory}: no summary.json; give a folder written by `rft-evals run` or "
                           "`rft-evals nightly` (or one of a nightly run's task folders)")
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    config_path = directory / "resolved_config.yaml"
    # resolved_config.yaml is already resolved: read it as plain data, interpolation syntax left alone
    config = OmegaConf.to_container(OmegaConf.load(config_path), resolve=False) if config_path.is_file() else {}
    task_name = name or str((summary.get("meta") or {}).get("task") or directory.name)
    records = read_task_records(directory)
    # summary.json lists the candidates in run order; keep that order for tables and plots.
    order = list(summary.get("candidates") or {})
    records = {c: records[c] for c in order if c in records} | {c: r for c, r in records.items() if c not in order}
    return TaskOutputs(task_name, directory, summary, config or {}, records)


def load_run(directory: Path) -> dict[str, TaskOutputs]:
    """task name -> its outputs, from a plain run folder or a nightly folder."""
    directory = Path(directory)
    if not directory.is_dir():
        raise RunDataError(f"{directory}: not a folder; give a run folder (runs/<date>/<time>-...) or an MLflow "
                           "run id")
    if (directory / "summary.json").is_file():
        task = load_task(directory)
        return {task.name: task}
    tasks = {}
    for sub in sorted(p for p in directory.iterdir() if (p / "summary.json").is_file()):
        task = load_task(sub, sub.name)
        tasks[task.name] = task
    if not tasks and (directory / "tasks").is_dir():
        return load_run(directory / "tasks")
    if not tasks:
        raise RunDataError(f"{directory}: no summary.json here or in a task subfolder; is this a run folder?")
    return tasks


def summary_candidate(task: TaskOutputs, candidate: str) -> Mapping[str, Any]:
    return (task.summary.get("candidates") or {}).get(candidate) or {}
