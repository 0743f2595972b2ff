"""`rft-evals sweep`: every saved RFT checkpoint (rft/steps/step-<N>.gguf, served by `rft-evals train`) and
its starting point (step 0 = the SFT model) evaluated on the same held-out items in one `rft-evals run`; then
the reward and each production metric against the training step with 95% CIs (sweep.png), logged to MLflow
on a step axis, and the divergence flags (reward up while a production metric falls beyond its CI). A copy
goes to <checkpoints>/sweep/, where the nightly report of suite=trained picks it up.

    rft-evals sweep [--limit 100] [--seed 0] [--checkpoints-dir DIR] [-- hydra overrides for the run]"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from evals.report.plots import png_bytes
from evals.report.sweep import figure as sweep_figure
from evals.report.sweep import markdown as sweep_markdown
from evals.training.layout import Layout, default_checkpoints_dir
from evals.training.sweep_analysis import Point, as_dict, curves, divergences

SWEEP_KIND = "sweep"
TEMPLATE = "smollm2_rft"  # the RFT candidate of conf/candidates/trained.yaml: every step is it with another gguf


def step_candidates(layout: Layout, template: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Candidate name -> model config: step_0 (the SFT model) and step_<N> for every served checkpoint."""
    steps: list[tuple[int, Path]] = []
    if layout.gguf("sft").is_file():
        steps.append((0, layout.gguf("sft")))
    steps += layout.step_ggufs()
    if len(steps) < 2:
        raise FileNotFoundError(f"{layout.root}: the sweep needs the SFT GGUF and at least one served RFT "
                                "checkpoint (rft/steps/step-<N>.gguf); run `rft-evals train` (its serve stage "
                                "converts every checkpoint) or point --checkpoints-dir at a trained folder")
    # a step linked to the final RFT file is evaluated as that file (same model id: the nightly's answers are reused)
    return {f"step_{step}": {**template, "name": f"smollm2-rft-step{step}", "gguf": str(path.resolve()),
                             "role": "checkpoint", "training_step": step} for step, path in steps}


def run_config(layout: Layout, limit: int, seed: int, overrides: Sequence[str]) -> Any:
    from omegaconf import OmegaConf, open_dict

    from evals.suite.nightly import _compose

    cfg = _compose(["candidates=trained", f"limit={limit}", f"seed={seed}", f"kind={SWEEP_KIND}",
                    "run_name=sweep/contract_review", *overrides])
    template = OmegaConf.to_container(cfg.candidates[TEMPLATE], resolve=True)
    trained_task = layout.read_manifest().get("task_config")
    with open_dict(cfg):
        if trained_task:  # the checkpoints are asked with the prompt they were trained on
            cfg.task = OmegaConf.create({**trained_task, "split": cfg.task.split})
        cfg.candidates = OmegaConf.create(step_candidates(layout, template))  # type: ignore[arg-type]
    return cfg


def plot(result: Mapping[str, Any], out: Path, title: str) -> Path:
    """sweep.png, drawn by the report's sweep figure (the nightly report embeds the same one)."""
    out.write_bytes(png_bytes(sweep_figure(result, title)))
    return out


def publish_latest(layout: Layout, files: Sequence[Path]) -> Path:
    """Copy the sweep's files to <checkpoints>/sweep/, where a suite that names it (conf/suite/trained.yaml
    `sweep:`) finds the latest sweep of these checkpoints for its report."""
    import shutil

    folder = layout.root / "sweep"
    folder.mkdir(parents=True, exist_ok=True)
    for path in files:
        shutil.copy2(path, folder / path.name)
    return folder


def log_to_mlflow(tracking: Mapping[str, Any], summary: Mapping[str, Any], series: Mapping[str, Sequence[Point]],
                  flags: Sequence[Any], files: Sequence[Path], training_run_id: str | None) -> str | None:
    """A sweep run (nested under the evaluation run) with each metric on the step axis; tagged with the
    training run it evaluates."""
    if not tracking.get("enabled"):
        return None
    import mlflow

    from evals.tracking.tracker import Tracker, TrackingSettings

    tracker = Tracker(TrackingSettings.from_config(tracking))
    client = mlflow.tracking.MlflowClient()
    tags = {"kind": SWEEP_KIND, "divergence": str(bool(flags)).lower()}
    parent = (summary.get("meta") or {}).get("mlflow_parent_run_id")
    if parent:
        tags["mlflow.parentRunId"] = str(parent)
    if training_run_id:
        tags["training_run_id"] = training_run_id
    run = client.create_run(tracker.experiment_id, run_name="checkpoint-sweep", tags=tags)
    for metric, points in series.items():
        for p in points:
            for suffix, value in (("", p.value), ("_ci_low", p.ci_low), ("_ci_high", p.ci_high)):
                client.log_metric(run.info.run_id, f"sweep/{metric}{suffix}", value, step=p.step)
    client.log_metric(run.info.run_id, "sweep/divergences", float(len(flags)))
    for path in files:
        client.log_artifact(run.info.run_id, str(path))
    client.set_terminated(run.info.run_id, "FINISHED")
    return run.info.run_id


def sweep(layout: Layout, limit: int, seed: int, overrides: Sequence[str], out_dir: Path | None = None) -> int:
    from omegaconf import OmegaConf
    from rich.console import Console

    from evals.run.command import execute

    console = Console()
    cfg = run_config(layout, limit, seed, overrides)
    run_dir = out_dir or Path("runs") / time.strftime("%Y-%m-%d") / time.strftime("%H-%M-%S-sweep")
    run_dir.mkdir(parents=True, exist_ok=True)
    code = execute(cfg, run_dir, console, tags={"kind": SWEEP_KIND})
    if code:
        return code
    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    by_step = {int(name.removeprefix("step_")): entry for name, entry in summary["candidates"].items()}
    series = curves(by_step)
    flags = divergences(series)
    result = as_dict(series, flags) | {"limit": limit, "run_dir": str(run_dir)}
    (run_dir / "sweep.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
    figure = plot(result, run_dir / "sweep.png",
                  f"checkpoint sweep: {summary['meta'].get('task', '')}, {limit} held-out items")
    (run_dir / "sweep.md").write_text(sweep_markdown(result), encoding="utf-8")
    files = [figure, run_dir / "sweep.json", run_dir / "sweep.md"]
    latest = publish_latest(layout, files)
    tracking = OmegaConf.to_container(cfg.tracking, resolve=True)
    run_id = log_to_mlflow(tracking, summary, series, flags, files,  # type: ignore[arg-type]
                           layout.read_manifest().get("mlflow_run_id"))
    console.print(sweep_markdown(result))
    console.print(f"sweep plot: {figure} (latest copy for the nightly report: {latest})"
                  + (f"; MLflow sweep run {run_id}" if run_id else ""))
    return 0


def cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="rft-evals sweep", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoints-dir", type=Path, default=None,
                        help="the folder `rft-evals train` wrote (default: $RFT_CHECKPOINTS_DIR or "
                             ".rft-evals/checkpoints)")
    parser.add_argument("--limit", type=int, default=100, help="held-out items (test split), the same for all")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="run folder (default: runs/<date>/<time>-sweep)")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides for the evaluation run, e.g. tracking=none")
    args = parser.parse_args(argv)
    layout = Layout(args.checkpoints_dir or default_checkpoints_dir())
    try:
        return sweep(layout, args.limit, args.seed, args.overrides, args.out)
    except FileNotFoundError as exc:
        print(f"rft-evals sweep: error: {exc}", file=sys.stderr)
        return 2
