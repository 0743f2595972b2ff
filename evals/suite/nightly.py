"""`rft-evals nightly suite=<name>`: the nightly regression suite (Hydra entry, config conf/nightly.yaml).

1. One MLflow parent run tagged `suite=<name>`, `kind=nightly`; every task of the suite runs through
   `evals.run.command.execute` as a nested run of it (its candidates nested one level further).
2. From the task folders: paired comparisons, per-category F1, reward-production agreement and, when the suite
   names a pairwise judge, win rates (evals/suite/_analysis.py).
3. The baseline (evals/suite/previous_night.py) and the gate; nightly.json; the report (evals/report).
4. Everything is logged to the suite run (each task folder under `tasks/<task>` so a later night can use this
   one as its baseline); every figure of nightly.json also goes to MLflow as metrics (evals/suite/_metrics.py:
   each task's on its task run, all of them on the suite run) and the Markdown verdict becomes the runs'
   descriptions. The exit code is 1 when the gate finds a regression, 2 when a run could not finish."""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf, open_dict
from rich.console import Console

from evals.suite.previous_night import (GATE_TAG, KIND_TAG, NIGHTLY_KIND, SUITE_TAG, TASKS_ARTIFACT, Baseline,
                                   check_baseline, find_baseline)
from evals.json_safe import json_safe
from evals.suite._metrics import suite_task_metrics, task_metrics
from evals.suite._summary import suite_summary, summary_metrics
from evals.suite._analysis import (TaskContext, agreement, gate_section, resolved_pairs, task_context,
                                    task_section)
from evals.run.provenance import git_commit
from evals.run.outputs import TaskOutputs, load_task
from evals.suite.config import SuiteConfig, SuiteConfigError, TaskSpec
from evals.suite._executor import TaskRuns, open_executor
from evals.run.user_errors import USER_ERRORS, exit_on_user_error
from evals.conf import compose, conf_dir

log = logging.getLogger(__name__)
CONF_DIR = str(conf_dir())
# 0: no regression (or no baseline yet); 1: the gate found a regression; 2: a task run could not finish or the
# input is wrong (message printed); 3: an internal error (traceback printed).
EXIT_REGRESSION, EXIT_RUN_FAILED, EXIT_INTERNAL = 1, 2, 3
TASK_RUN_KIND = "nightly_task"  # the nested task runs; only the suite run carries kind=nightly


TASK_REWARD = "task"
PLAIN_PROGRESS_S = 30.0  # off a terminal (cron, CI logs): a progress line per candidate this often


def _elapsed(since: dt.datetime) -> str:
    seconds = int((dt.datetime.now() - since).total_seconds())
    return f"{seconds // 60}m{seconds % 60:02d}s"


# --- the run config of one task ------------------------------------------------------------------------


def _compose(overrides: list[str]) -> DictConfig:
    return compose("config", overrides)


def _reward_override(reward: str | None) -> list[str]:
    """`reward: task` keeps the task's own default (conf/reward/<task>_deterministic.yaml, if any); a name picks
    that config; null runs without a reward."""
    if reward == TASK_REWARD:
        return []
    return [f"reward={reward}"] if reward else ["~reward"]


def task_run_config(spec: TaskSpec, suite: SuiteConfig, nightly: Mapping[str, Any]) -> DictConfig:
    """The `rft-evals run` config of one task: conf/config.yaml composed with the suite's choices, with the
    nightly's tracking, cache, data root and bootstrap settings."""
    limit = "null" if spec.limit is None else str(spec.limit)
    overrides = [f"task={spec.name}", f"candidates={spec.candidates}", f"limit={limit}", f"seed={suite.seed}",
                 f"kind={TASK_RUN_KIND}", f"run_name={suite.name}/{spec.name}",
                 *_reward_override(spec.reward)]
    if spec.judge:
        overrides.append(f"judge={spec.judge}")
    overrides += list(spec.overrides)
    try:
        cfg = _compose(overrides)
    except Exception as exc:  # hydra's message names the missing group/option; add where it came from
        raise SuiteConfigError(f"{suite.source}: task {spec.name!r} cannot be composed with overrides "
                               f"{overrides}: {exc}") from exc
    with open_dict(cfg):
        cfg.tracking = OmegaConf.create(dict(nightly["tracking"]))
        cfg.cache = OmegaConf.create(dict(nightly["cache"]))
        cfg.data_root = nightly.get("data_root")
        cfg.bootstrap.resamples = suite.bootstrap_resamples
        if spec.only is not None:
            unknown = sorted(set(spec.only) - set(cfg.candidates))
            if unknown:
                raise SuiteConfigError(f"{suite.source}: `only` (task {spec.name}) names {unknown}, which "
                                       f"conf/candidates/{spec.candidates}.yaml does not have; it has "
                                       f"{sorted(cfg.candidates)}")
            for name in list(cfg.candidates):
                if name not in spec.only:
                    del cfg.candidates[name]
        for role, name in suite.for_task(spec.name).roles.items():
            if name in cfg.candidates:
                cfg.candidates[name].role = role
    return cfg


# --- MLflow --------------------------------------------------------------------------------------------


def _open_tracker(config: Mapping[str, Any]) -> Any:
    from evals.tracking.resilient import ResilientTracker
    from evals.tracking.tracker import TrackingSettings

    tracking = config["tracking"]
    return ResilientTracker(TrackingSettings.from_config(tracking)) if tracking.get("enabled", True) else None


def _set_tag(tracker: Any, run_id: str | None, key: str, value: str) -> None:
    if tracker is None or run_id is None or not tracker.online:
        return
    try:
        from mlflow.tracking import MlflowClient

        MlflowClient(tracking_uri=tracker.settings.uri).set_tag(run_id, key, value)
    except Exception as exc:  # noqa: BLE001 - the run folder is the record; MLflow is a convenience
        log.warning("could not tag MLflow run %s with %s=%s: %s", run_id, key, value, exc)


def gate_metrics(gate: Mapping[str, Any]) -> dict[str, float]:
    checks = gate.get("checks") or []
    regressions = sum(1 for c in checks if c.get("regressed"))
    metrics = {"gate/checks": float(len(checks)), "gate/regressions": float(regressions)}
    if gate.get("passed") is not None:  # not evaluated (no baseline) is neither a pass nor a failure
        metrics["gate/passed"] = float(bool(gate["passed"]))
    for c in checks:
        key = f"gate/{c.get('task')}/{c.get('candidate')}/{c.get('metric')}"
        if isinstance(c.get("delta"), int | float):
            metrics[f"{key}/delta"] = float(c["delta"])
        if isinstance(c.get("p_value"), int | float):
            metrics[f"{key}/p_value"] = float(c["p_value"])
    return metrics


# --- the suite -----------------------------------------------------------------------------------------


def _pairwise_rows(ctx: TaskContext, suite: SuiteConfig, config: Mapping[str, Any], data_root: Path | None,
                   console: Console) -> list[dict[str, Any]]:
    pairs, _ = resolved_pairs(ctx.outputs.records, suite)
    if not suite.pairwise_judge or not pairs:
        return []
    from evals.inference.cache import GenerationCache
    from evals.judging.pairwise import judge_pairs
    from evals.providers.registry import ProviderContext

    judge_cfg = OmegaConf.to_container(_compose([f"judge={suite.pairwise_judge}"]).judge, resolve=True)
    if judge_cfg.get("kind") != "pairwise":
        raise SuiteConfigError(f"{suite.source}: `pairwise_judge: {suite.pairwise_judge}` is a "
                               f"{judge_cfg.get('kind')} judge; name a pairwise one (e.g. pairwise)")
    cache_cfg = config["cache"]
    cache = GenerationCache(Path(cache_cfg["path"])) if cache_cfg.get("enabled", True) else None
    console.print(f"pairwise judge [bold]{suite.pairwise_judge}[/bold] on {len(pairs)} pair(s) of {ctx.name}")
    try:
        return judge_pairs(ctx.task, ctx.items, ctx.outputs.records, pairs, judge_cfg, cache=cache,
                           context=ProviderContext(task=ctx.task, data_root=data_root, seed=suite.seed))
    finally:
        if cache is not None:
            cache.close()


def analyse(contexts: Mapping[str, TaskContext], baseline: Baseline, suite: SuiteConfig, config: Mapping[str, Any],
            data_root: Path | None, console: Console) -> tuple[dict[str, Any], dict[str, Any]]:
    """(tasks section, gate section) of nightly.json."""
    resamples, seed = suite.bootstrap_resamples, suite.seed
    tasks: dict[str, Any] = {}
    for name, ctx in contexts.items():
        task_suite = suite.for_task(name)
        pairwise = _pairwise_rows(ctx, task_suite, config, data_root, console)
        tasks[name] = task_section(ctx, task_suite, resamples=resamples, seed=seed, pairwise_rows=pairwise)
    baseline_agreement = {}
    for name, outputs in baseline.tasks.items():
        if name in contexts and suite.gate.agreement:
            baseline_agreement[name] = agreement(task_context(outputs, data_root), suite.for_task(name), resamples,
                                                 seed)
    gate = gate_section(contexts, baseline.tasks or None, tasks, baseline_agreement, suite,
                        baseline_run_id=baseline.run_id, resamples=resamples, seed=seed)
    if not baseline.tasks:
        gate["passed"] = None  # not evaluated: the report says so instead of claiming a pass
        gate["notes"] = [baseline.note or "no baseline"]
    return tasks, gate


def regression_lines(gate: Mapping[str, Any]) -> list[str]:
    lines = []
    for c in gate.get("checks") or []:
        if not c.get("regressed"):
            continue
        lines.append(f"REGRESSION {c.get('task')}/{c.get('candidate')} {c.get('metric')}: "
                     f"{_fmt(c.get('baseline'))} -> {_fmt(c.get('current'))}, delta {_fmt(c.get('delta'), True)} "
                     f"95% CI [{_fmt(c.get('ci_low'), True)}, {_fmt(c.get('ci_high'), True)}], "
                     f"p={_fmt(c.get('p_value'))}, threshold {c.get('threshold_kind')} {_fmt(c.get('threshold'))}")
    return lines


def _fmt(value: Any, signed: bool = False) -> str:
    if not isinstance(value, int | float) or value != value:
        return "n/a"
    return f"{value:+.4f}" if signed else f"{value:.4f}"


def attached_sweep(path: str | None) -> dict[str, Any] | None:
    """The checkpoint sweep the suite names (its sweep.json), with where it came from; a missing or unreadable
    file becomes a note in the report instead of failing the night."""
    if not path:
        return None
    source = Path(path)
    if not source.is_file():
        return {"source": str(source), "note": f"no checkpoint sweep at {source}: run `rft-evals sweep` after "
                                                 "`rft-evals train` to see reward and metrics per RFT step here"}
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return {"source": str(source), "note": f"checkpoint sweep {source} unreadable: {exc}"}
    if not isinstance(data, dict) or not isinstance(data.get("curves"), dict):
        return {"source": str(source), "note": f"{source} is not a sweep.json of `rft-evals sweep` (no curves)"}
    return data | {"source": str(source)}


def run_nightly(cfg: DictConfig, run_dir: Path, console: Console | None = None) -> int:
    console = console or Console(width=None if sys.stdout.isatty() else 150)
    config: dict[str, Any] = OmegaConf.to_container(cfg, resolve=True)  # type: ignore[assignment]
    suite = SuiteConfig.from_mapping(config["suite"], source=_suite_source(config))
    run_dir.mkdir(parents=True, exist_ok=True)
    data_root = Path(config["data_root"]) if config.get("data_root") else None
    task_configs = {spec.name: task_run_config(spec, suite, config) for spec in suite.tasks}  # fail before running
    check_baseline(suite.baseline, config["tracking"], suite.source)
    tracker = _open_tracker(config)
    run_id = None
    if tracker is not None:
        from evals.tracking.resilient import process_tags

        tags = {SUITE_TAG: suite.name, KIND_TAG: NIGHTLY_KIND, GATE_TAG: "pending", "git_commit": git_commit(),
                **process_tags(str(run_dir))}
        name = config.get("run_name") or f"nightly {suite.name} {dt.datetime.now():%Y-%m-%d %H:%M}"
        run_id = tracker.start_parent(name, {"suite": config["suite"]}, tags)
    status, code = "FAILED", EXIT_RUN_FAILED
    started = dt.datetime.now()
    nightly: dict[str, Any] = {}
    report = None
    try:
        outputs: dict[str, TaskOutputs] = {}
        # executor=local runs the tasks here; executor=ray spreads (task, candidate) runs over a cluster
        executor = open_executor(config.get("executor"), TaskRuns(task_configs, run_dir, console, run_id,
                                                                  {SUITE_TAG: suite.name}))
        for number, spec in enumerate(suite.tasks, start=1):
            task_dir = run_dir / spec.name
            position = f"[{number}/{len(suite.tasks)}] {spec.name}"
            console.rule(f"{suite.name}: task {position} (elapsed {_elapsed(started)})")
            task_code = executor.run(spec.name, progress_label=position, progress_every_s=PLAIN_PROGRESS_S)
            if task_code:
                console.print(f"[bold red]task {spec.name} did not finish (exit {task_code}); the suite stops[/]")
                return EXIT_RUN_FAILED
            if tracker is not None:
                tracker.log_parent_artifact(task_dir, f"{TASKS_ARTIFACT}/{spec.name}")
            outputs[spec.name] = load_task(task_dir, spec.name)
        console.rule(f"{suite.name}: comparisons, agreement, gate")
        tracking = config["tracking"] if tracker is not None and tracker.online else None
        baseline = find_baseline(suite.baseline, suite.name, tracking=tracking, exclude_run_id=run_id,
                                 scratch=run_dir / "baseline")
        console.print(f"baseline: {baseline.source} {baseline.run_id or baseline.run_dir or ''} {baseline.note}",
                      markup=False, highlight=False)
        contexts = {name: task_context(out, data_root) for name, out in outputs.items()}
        tasks, gate = analyse(contexts, baseline, suite, config, data_root, console)
        nightly = json_safe({
            "suite": suite.name, "kind": NIGHTLY_KIND, "created": dt.datetime.now(dt.UTC).isoformat(),
            "git_commit": git_commit(), "run_id": run_id, "run_dir": str(run_dir), "baseline": baseline.to_dict(),
            "roles": _present_roles(suite, outputs), "stand_ins": suite.stand_ins, "tasks": tasks, "gate": gate,
            "suite_summary": suite_summary(tasks, suite.agreement.reward_metric),
            "sweep": attached_sweep(suite.sweep)})
        (run_dir / "nightly.json").write_text(json.dumps(nightly, indent=2, allow_nan=False), encoding="utf-8")
        code = EXIT_REGRESSION if gate.get("passed") is False else 0
        if (config.get("report") or {}).get("enabled", True):
            report = _render_report(nightly, run_dir, tracker, console)
            if report is None and code == 0:
                code = EXIT_INTERNAL  # the verdict stands (nightly.json is written); the report is a bug to fix
        status = "FINISHED"
    finally:
        if tracker is not None:
            _finish_tracking(tracker, run_id, run_dir, nightly, status, report)
    _print_summary(nightly, run_dir, report, run_id, console)
    return code


def _present_roles(suite: SuiteConfig, outputs: Mapping[str, TaskOutputs]) -> dict[str, str]:
    """The suite's roles whose candidate ran tonight (a suite narrowed with `only` drops the others)."""
    ran = {name for out in outputs.values() for name in out.records}
    return {role: name for role, name in suite.roles.items() if name in ran}


def _render_report(nightly: Mapping[str, Any], run_dir: Path, tracker: Any, console: Console) -> Any:
    """The report, logged to the suite run; None (with the traceback printed) when rendering fails: a broken
    figure must not hide the gate's verdict, which nightly.json already holds."""
    from evals.report import write_report

    try:
        report = write_report(nightly, run_dir / "report")
    except Exception:  # noqa: BLE001 - see docstring
        console.print("[bold red]the report could not be rendered[/]; nightly.json is complete:")
        console.print(traceback.format_exc(), markup=False, highlight=False)
        return None
    if tracker is not None:
        tracker.log_parent_artifact(run_dir / "report", "report")
    return report


def _finish_tracking(tracker: Any, run_id: str | None, run_dir: Path, nightly: Mapping[str, Any],
                     status: str, report: Any = None) -> None:
    gate = nightly.get("gate") or {}
    verdict = {True: "passed", False: "failed", None: "not_evaluated"}[gate.get("passed")] if gate else "error"
    _set_tag(tracker, run_id, GATE_TAG, verdict)
    if nightly:
        tracker.log_parent_metrics({**gate_metrics(gate), **summary_metrics(nightly.get("suite_summary") or {}),
                                    **suite_task_metrics(nightly)})
        tracker.log_parent_artifact(run_dir / "nightly.json")
        _log_task_runs(tracker, nightly)
        if report is not None and run_id:
            tracker.set_description(run_id, report.markdown.read_text(encoding="utf-8"))
    tracker.end(status)


def _log_task_runs(tracker: Any, nightly: Mapping[str, Any]) -> None:
    """Each task run gets its own figures as metrics (paired differences, agreement, gate) and its part of
    the Markdown verdict as its description."""
    from evals.report.markdown import render_markdown

    for name, task in (nightly.get("tasks") or {}).items():
        task_run = task.get("mlflow_run_id")
        if not task_run:
            continue
        tracker.log_run_metrics(task_run, task_metrics(name, task, nightly.get("gate")))
        try:
            one_task = {**nightly, "tasks": {name: task},
                        "gate": {**(nightly.get("gate") or {}),
                                 "checks": [c for c in (nightly.get("gate") or {}).get("checks") or []
                                            if c.get("task") == name]}}
            tracker.set_description(task_run, render_markdown(one_task))
        except Exception as exc:  # noqa: BLE001 - a description is a convenience; the metrics are logged
            log.warning("no MLflow description for task run %s: %s", task_run, exc)


def _print_summary(nightly: Mapping[str, Any], run_dir: Path, report: Any, run_id: str | None,
                   console: Console) -> None:
    plain = {"markup": False, "highlight": False}
    if report is not None:
        print(report.markdown.read_text(encoding="utf-8"), flush=True)
        for note in report.notes:
            console.print(f"figure not drawn: {note}", **plain)
    console.print(f"nightly.json: {run_dir / 'nightly.json'}", **plain)
    if run_id:
        console.print(f"MLflow suite run: {run_id}", **plain)
    for line in regression_lines(nightly.get("gate") or {}):
        console.print(line, style="bold red", **plain)
    if report is not None:
        console.print(f"report: file://{report.html.resolve()}", **plain)


def _suite_source(config: Mapping[str, Any]) -> str:
    try:
        choice = HydraConfig.get().runtime.choices.get("suite")
    except ValueError:  # not under hydra.main (tests call run_nightly directly)
        choice = None
    return f"conf/suite/{choice or config['suite'].get('name', '?')}.yaml"


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="nightly")
@exit_on_user_error
def hydra_main(cfg: DictConfig) -> None:
    try:
        code = run_nightly(cfg, Path(HydraConfig.get().runtime.output_dir))
    except USER_ERRORS:
        raise  # exit 2 with the message (exit_on_user_error)
    except Exception:  # noqa: BLE001 - Hydra would exit 1, which reads as "regression" to a scheduler
        traceback.print_exc()
        code = EXIT_INTERNAL
    if code:
        sys.exit(code)


def cli(argv: list[str]) -> int:
    # Hydra reads sys.argv itself; present the overrides as if `rft-evals nightly` were the program.
    sys.argv = [f"{sys.argv[0]} nightly", *argv]
    hydra_main()
    return 0
