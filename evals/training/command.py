"""`rft-evals train`: base -> SFT -> RFT -> GGUFs for llama.cpp, configured by conf/train.yaml (stage settings in
conf/train/sft.yaml and conf/train/rft.yaml). Each stage runs in its own process, so its wall time and peak
memory (RSS) are measured alone and the memory of one stage is returned before the next starts. One MLflow run
holds the training (a nested run per stage, where TRL logs its loss, reward, reward components and KL curves
by step); the GGUFs carry its id, and evaluation runs of them are tagged with it (evals/training/link.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from evals.conf import conf_dir
from evals.training.layout import Layout
from evals.training.settings import RftSettings, SftSettings
from evals.training.stages import STAGES

CONF_DIR = str(conf_dir())
MLFLOW_STAGES = ("sft", "rft")  # the stages that log curves


@dataclass(frozen=True)
class StageResult:
    stage: str
    wall_seconds: float
    cpu_seconds: float  # user + system CPU of the stage's process: what the stage costs whatever the load
    peak_rss_mb: float
    exit_code: int


def run_stage(stage: str, config_file: Path, env: Mapping[str, str], log_file: Path | None = None) -> StageResult:
    """Run one stage in a child process; its own peak RSS comes from wait4 (not the max over all children)."""
    command = [sys.executable, "-m", "evals.training.stages", stage, str(config_file)]
    started = time.perf_counter()
    process = subprocess.Popen(command, env=dict(env))
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return StageResult(stage, round(time.perf_counter() - started, 1), round(usage.ru_utime + usage.ru_stime, 1),
                       round(usage.ru_maxrss / 1024, 1), process.returncode)


def check_stages(stages: Sequence[str]) -> list[str]:
    unknown = [s for s in stages if s not in STAGES]
    if unknown:
        raise ValueError(f"train.stages: unknown stages {unknown}; choose from {list(STAGES)} (in that order)")
    return sorted(stages, key=STAGES.index)


class TrainingTracker:
    """The MLflow side: a parent run for the training, a nested run per curve-logging stage."""

    def __init__(self, tracking: Mapping[str, Any], layout: Layout):
        import mlflow

        from evals.tracking.tracker import Tracker, TrackingSettings

        self._mlflow = mlflow
        self._tracker = Tracker(TrackingSettings.from_config(tracking))  # sets the URI and the experiment
        self.layout = layout

    def start(self, config: Mapping[str, Any], run_id: str | None) -> str:
        from evals.tracking.tracker import _params

        client = self._mlflow.tracking.MlflowClient()
        if run_id:  # a resumed training keeps its run
            client.set_terminated(run_id, "RUNNING")
            return run_id
        run = client.create_run(self._tracker.experiment_id, run_name=f"train-{config['task']['name']}",
                                tags={"kind": "training", "task": str(config["task"]["name"]),
                                      "checkpoints_dir": str(self.layout.root)})
        for key, value in _params(config).items():
            client.log_param(run.info.run_id, key, value)
        return run.info.run_id

    def stage_run(self, parent_id: str, stage: str) -> str:
        client = self._mlflow.tracking.MlflowClient()
        run = client.create_run(self._tracker.experiment_id, run_name=stage,
                                tags={"mlflow.parentRunId": parent_id, "kind": "training", "training_stage": stage})
        return run.info.run_id

    def log_stage(self, parent_id: str, result: StageResult) -> None:
        client = self._mlflow.tracking.MlflowClient()
        client.log_metric(parent_id, f"{result.stage}_wall_seconds", result.wall_seconds)
        client.log_metric(parent_id, f"{result.stage}_cpu_seconds", result.cpu_seconds)
        client.log_metric(parent_id, f"{result.stage}_peak_rss_mb", result.peak_rss_mb)

    def end(self, run_id: str, status: str) -> None:
        client = self._mlflow.tracking.MlflowClient()
        client.log_artifact(run_id, str(self.layout.manifest))
        client.set_terminated(run_id, status)


def train(config: Mapping[str, Any], console: Any) -> int:
    from rich.markup import escape

    stages = check_stages(list(config.get("stages") or STAGES))  # before anything is written
    SftSettings.from_mapping(config.get("sft"))  # bad settings fail now, not after the stages before them
    RftSettings.from_mapping(config.get("rft"))
    layout = Layout(Path(str(config["checkpoints_dir"])), str(config.get("serve_type") or "f16"))
    layout.root.mkdir(parents=True, exist_ok=True)
    tracking = config.get("tracking") or {}
    tracker = TrainingTracker(tracking, layout) if tracking.get("enabled") else None
    manifest = layout.read_manifest()
    run_id = tracker.start(config, manifest.get("mlflow_run_id")) if tracker else None
    manifest = layout.update_manifest(mlflow_run_id=run_id, task=config["task"]["name"], task_config=config["task"],
                                      serve_type=layout.out_type, stage_run_ids=manifest.get("stage_run_ids", {}),
                                      stages=manifest.get("stages", {}))
    status = "FAILED"
    try:
        for stage in stages:
            stage_config = dict(config)
            env = {**os.environ, "PYTHONUNBUFFERED": "1"}
            if config.get("torch_threads"):  # OpenMP worker threads spin: on a busy machine fewer go faster
                env["OMP_NUM_THREADS"] = str(config["torch_threads"])
            if tracker and run_id and stage in MLFLOW_STAGES:
                stage_run = tracker.stage_run(run_id, stage)
                manifest["stage_run_ids"][stage] = stage_run
                layout.update_manifest(stage_run_ids=manifest["stage_run_ids"])
                stage_config["_mlflow_run_id"] = stage_run
                # transformers' MLflow callback logs TRL's curves into this run
                env.update(MLFLOW_RUN_ID=stage_run, MLFLOW_TRACKING_URI=str(tracking["uri"]),
                           MLFLOW_EXPERIMENT_NAME=str(tracking.get("experiment") or "rft-evals"))
            config_file = layout.root / f".{stage}-config.json"
            config_file.write_text(json.dumps(stage_config, default=str), encoding="utf-8")
            console.print(f"[bold]train[/bold] stage [bold]{stage}[/bold] ...")
            result = run_stage(stage, config_file, env)
            manifest["stages"][stage] = asdict(result)
            layout.update_manifest(stages=manifest["stages"])
            if tracker and run_id:
                tracker.log_stage(run_id, result)
            console.print(f"  {stage}: {result.wall_seconds:.0f} s wall, {result.cpu_seconds:.0f} CPU-s, peak RSS "
                          f"{result.peak_rss_mb / 1024:.2f} GB, exit {result.exit_code}")
            if result.exit_code != 0:
                rerun = escape(f"stages=[{','.join(stages[stages.index(stage):])}]")  # not rich markup
                console.print(f"[bold red]stage {stage} failed[/bold red] (exit {result.exit_code}); rerun "
                              f"`rft-evals train {rerun}` after fixing it")
                return 1
        status = "FINISHED"
    finally:
        if tracker and run_id:
            tracker.end(run_id, status)
    print_summary(layout, console)
    return 0


def print_summary(layout: Layout, console: Any) -> None:
    from rich.table import Table

    manifest = layout.read_manifest()
    table = Table(title=f"training in {layout.root}")
    for column in ("stage", "wall", "CPU", "peak RSS", "exit"):
        table.add_column(column)
    for stage, result in sorted(manifest.get("stages", {}).items(), key=lambda item: STAGES.index(item[0])):
        table.add_row(stage, f"{result['wall_seconds'] / 60:.1f} min", f"{result.get('cpu_seconds', 0) / 60:.1f} min",
                      f"{result['peak_rss_mb'] / 1024:.2f} GB", str(result["exit_code"]))
    console.print(table)
    for stage in ("base", "sft", "rft"):
        if layout.gguf(stage).is_file():
            console.print(f"{stage}: {layout.gguf(stage)}")
    steps = layout.step_ggufs()
    if steps:
        console.print(f"RFT checkpoints served for the sweep: steps {[s for s, _ in steps]}")
    if manifest.get("mlflow_run_id"):
        console.print(f"MLflow training run: [bold]{manifest['mlflow_run_id']}[/bold]")


def hydra_entry() -> None:
    import hydra
    from omegaconf import DictConfig, OmegaConf
    from rich.console import Console

    from evals.run.user_errors import exit_on_user_error

    @hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="train")
    @exit_on_user_error
    def _main(cfg: DictConfig) -> None:
        config = OmegaConf.to_container(cfg, resolve=True)
        code = train(config, Console(width=None if sys.stdout.isatty() else 150))  # type: ignore[arg-type]
        if code:
            sys.exit(code)

    _main()


def cli(argv: list[str]) -> int:
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__)
        print("usage: rft-evals train [stages=[base,sft,rft,serve]] [sft.examples=N] [rft.steps=N] "
              "[checkpoints_dir=DIR] [task=...] [reward=...]")
        return 0
    sys.argv = [f"{sys.argv[0]} train", *argv]
    hydra_entry()
    return 0
