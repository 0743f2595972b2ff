"""Where a nightly suite runs its task runs (`executor=` in conf/nightly.yaml).

- `local` (the default): each task's `rft-evals run` in this process, one after the other.
- `ray`: every (task, candidate) pair as one Ray task on an existing cluster (`executor.address`). A worker runs
  the ordinary run path (`evals.run.command.execute`) on one candidate with tracking off and sends the run
  folder's files back; this process joins a task's candidates into one task folder, exactly the layout a local
  night writes, and logs it to MLflow under the suite run (the upload `rft-evals sync` does). The comparisons,
  gate and report then read the same files as on one machine. Results travel through Ray, so the nodes need no
  shared filesystem for run folders; data and the generation cache stay per node (docs/scaling.md).

The nightly asks an executor for one task's exit code at a time (`run(name)`), in the suite's order; the Ray
executor has submitted every pair up front, so later tasks run while earlier ones are joined."""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
import socket
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from omegaconf import DictConfig, OmegaConf
from rich.console import Console

log = logging.getLogger(__name__)
EXIT_TASK_FAILED = 2  # what `execute` returns when a run cannot finish


class SuiteExecutorError(ValueError):
    """A bad `executor` config or an unreachable cluster; the message names the option and the fix."""


class SuiteExecutor(Protocol):
    def run(self, task: str, **execute_options: Any) -> int:
        """Run (or wait for) one task of the suite into its folder; its exit code (0 = finished).
        `execute_options` (progress display) go to `evals.run.command.execute` where it runs here."""
        ...


@dataclass
class TaskRuns:
    """What every executor is given: the run config of each task, where its folder goes, how to log it."""

    configs: Mapping[str, DictConfig]
    run_dir: Path
    console: Console
    parent_run_id: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)

    def folder(self, task: str) -> Path:
        return self.run_dir / task


class LocalExecutor:
    """One task after the other in this process."""

    def __init__(self, runs: TaskRuns, options: Mapping[str, Any]):
        self.runs = runs

    def run(self, task: str, **execute_options: Any) -> int:
        from evals.run.command import execute

        return execute(self.runs.configs[task], self.runs.folder(task), self.runs.console,
                       parent_run_id=self.runs.parent_run_id, tags=self.runs.tags, **execute_options)


# --- Ray -----------------------------------------------------------------------------------------------


def worker_identity() -> dict[str, str]:
    """Which process and Ray node ran this code."""
    from evals.run.provenance import ray_node

    return {"pid": str(os.getpid()), "host": socket.gethostname(), "ray_node_id": "", **ray_node()}


def run_one_candidate(config: dict[str, Any], task: str, candidate: str, tags: dict[str, str]) -> dict[str, Any]:
    """The body of one Ray task: `rft-evals run` of one candidate of one task in a scratch folder, tracking off
    (the driver logs the joined task). Returns the exit code, the console output and the folder's files."""
    from evals.run.command import execute

    one = {**config, "candidates": {candidate: config["candidates"][candidate]},
           "tracking": {**config["tracking"], "enabled": False}}
    scratch = Path(tempfile.mkdtemp(prefix=f"rft-evals-{task}-{candidate}-"))
    out = io.StringIO()
    try:
        code = execute(OmegaConf.create(one), scratch, Console(file=out, width=150), tags=tags)
        files = {str(p.relative_to(scratch)): p.read_text(encoding="utf-8")
                 for p in [scratch / "summary.json", *sorted((scratch / "records").glob("*.jsonl"))] if p.is_file()}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return {"code": code, "output": out.getvalue(), "files": files, "worker": worker_identity()}


@dataclass
class _Pair:
    task: str
    candidate: str
    ref: Any  # the Ray object ref of run_one_candidate's result


class RayExecutor:
    """Every (task, candidate) pair as one Ray task; `run(task)` waits for that task's pairs and joins them."""

    def __init__(self, runs: TaskRuns, options: Mapping[str, Any]):
        try:
            import ray
        except ImportError as exc:
            raise SuiteExecutorError('executor=ray needs Ray: pip install -e ".[ray]" (on this machine and on '
                                     "every node of the cluster)") from exc
        self.ray, self.runs = ray, runs
        address = options.get("address") or "auto"
        try:
            ray.init(address=address, ignore_reinit_error=True, log_to_driver=False,
                     **({"namespace": options["namespace"]} if options.get("namespace") else {}))
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise SuiteExecutorError(f"executor.address={address}: cannot connect to a Ray cluster ({exc}); start "
                                     "one (`ray start --head`) or give its address (<head>:6379)") from exc
        remote = ray.remote(num_cpus=float(options.get("num_cpus", 1)),
                            max_retries=int(options.get("max_retries", 0)))(run_one_candidate)
        self.pairs: dict[str, list[_Pair]] = {}
        for task, cfg in runs.configs.items():
            config = _portable(OmegaConf.to_container(cfg, resolve=True))  # type: ignore[arg-type]
            self.pairs[task] = [_Pair(task, name, remote.remote(config, task, name, dict(runs.tags)))
                                for name in config["candidates"]]
        total = sum(len(p) for p in self.pairs.values())
        runs.console.print(f"Ray cluster {address}: {total} (task, candidate) run(s) submitted, "
                           f"{ray.cluster_resources().get('CPU', 0):g} CPU(s) in the cluster")

    def run(self, task: str, **execute_options: Any) -> int:
        # execute_options (progress display) are not sent: remote runs print into a buffer nobody watches
        results: dict[str, dict[str, Any]] = {}
        for pair in self.pairs[task]:
            try:
                results[pair.candidate] = self.ray.get(pair.ref)
            except self.ray.exceptions.RayError as exc:  # a node or worker died, or the task raised
                self.runs.console.print(f"[bold red]{task}/{pair.candidate} failed on the Ray cluster:[/] "
                                        f"{type(exc).__name__}: {_first_line(exc)}")
                self._cancel_rest()
                return EXIT_TASK_FAILED
        for name, result in results.items():
            worker = result["worker"]
            self.runs.console.print(f"{task}/{name}: ran in pid {worker['pid']} on node "
                                    f"{worker['ray_node_id'][:12]} ({worker['host']})", markup=False)
            if result["code"]:
                self.runs.console.print(result["output"], markup=False, highlight=False)
                self._cancel_rest()
                return int(result["code"])
        folder = self.runs.folder(task)
        join_task_folder(folder, self.runs.configs[task], results)
        log_task_folder(folder, self.runs.parent_run_id, self.runs.console)
        return 0

    def _cancel_rest(self) -> None:
        """The nightly stops at the first failed task: free the cluster of the pairs it will not read."""
        for pairs in self.pairs.values():
            for pair in pairs:
                self.ray.cancel(pair.ref, force=True)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[-1] if text else ""


def _portable(config: dict[str, Any]) -> dict[str, Any]:
    """Paths a worker must read as this process means them: a relative cache path becomes absolute."""
    cache = dict(config.get("cache") or {})
    if cache.get("path"):
        cache["path"] = str(Path(cache["path"]).expanduser().resolve())
    return {**config, "cache": cache}


# --- joining a task's candidates into one run folder --------------------------------------------------------


def join_task_folder(folder: Path, cfg: DictConfig, results: Mapping[str, Mapping[str, Any]]) -> None:
    """The folder a local `execute` of the whole task would have written: resolved_config.yaml, records/,
    summary.json (candidates in the config's order, meta of the run plus where each candidate ran) and
    run_state.json (finished, MLflow upload pending until log_task_folder)."""
    from evals.tracking.redact import redact
    from evals.run.state import RunState

    folder.mkdir(parents=True, exist_ok=True)
    config: dict[str, Any] = OmegaConf.to_container(cfg, resolve=True)  # type: ignore[assignment]
    (folder / "resolved_config.yaml").write_text(OmegaConf.to_yaml(OmegaConf.create(redact(config))),
                                                 encoding="utf-8")
    meta: dict[str, Any] = {}
    candidates: dict[str, Any] = {}
    workers: dict[str, dict[str, str]] = {}
    for name in config["candidates"]:
        result = results[name]
        for path, text in result["files"].items():
            if path != "summary.json":
                (folder / path).parent.mkdir(parents=True, exist_ok=True)
                (folder / path).write_text(text, encoding="utf-8")
        summary = json.loads(result["files"]["summary.json"])
        meta = meta or dict(summary.get("meta") or {})
        candidates[name] = summary["candidates"][name]
        workers[name] = dict(result["worker"])
    meta.pop("mlflow_parent_run_id", None)
    summary = {"meta": {**meta, "mlflow_parent_run_id": None, "executor": "ray", "workers": workers},
               "candidates": candidates}
    (folder / "summary.json").write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")
    state = RunState.begin(folder)
    state.status, state.finished_candidates = "finished", list(candidates)
    state.tracking_pending = bool((config.get("tracking") or {}).get("enabled", True))
    state.save(folder)


def log_task_folder(folder: Path, parent_run_id: str | None, console: Console) -> None:
    """Log a joined task folder to MLflow under the suite run; when MLflow is unreachable the folder keeps
    everything and `rft-evals sync` uploads it later, as for a local run."""
    from evals.run.state import RunState
    from evals.run.sync import SyncError, sync_run

    state = RunState.load(folder)
    if state is None or not state.tracking_pending:
        return
    try:
        result = sync_run(folder, parent_run_id=parent_run_id)
    except SyncError as exc:
        console.print(f"[bold yellow]MLflow:[/] {exc}; every result is in {folder}: [bold]rft-evals sync "
                      f"{folder}[/bold]")
        return
    summary_path = folder / "summary.json"
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    summary["meta"]["mlflow_parent_run_id"] = result["parent_run_id"]
    summary_path.write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")


# --- the registry ----------------------------------------------------------------------------------------

EXECUTORS: dict[str, Callable[[TaskRuns, Mapping[str, Any]], SuiteExecutor]] = {
    "local": LocalExecutor,
    "ray": RayExecutor,
}


def open_executor(options: Mapping[str, Any] | None, runs: TaskRuns) -> SuiteExecutor:
    options = dict(options or {"name": "local"})
    name = str(options.get("name") or "local")
    if name not in EXECUTORS:
        raise SuiteExecutorError(f"executor={name} is unknown; choose one of {sorted(EXECUTORS)} "
                                 "(conf/executor/<name>.yaml)")
    return EXECUTORS[name](runs, options)
