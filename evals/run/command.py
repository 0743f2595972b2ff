"""`rft-evals run`: evaluate the configured candidates on one task (Hydra entry point)."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf
from rich.console import Console

from evals.run._console import print_results
from evals.inference.engine import FatalRunError
from evals.run.provenance import data_fingerprint, git_commit, ray_node
from evals.run.items import DatasetItems
from evals.inference.model_config import ModelConfig
from evals.run.aggregates import aggregates_for
from evals.providers.registry import ProviderContext
from evals.run.runner import (
    CandidateResult,
    RunSettings,
    candidate_metrics,
    evaluate_candidate,
    summary_entry,
    write_summary,
)
from evals.tracking.resilient import process_tags
from evals.run._sample_log import candidate_description, candidate_run_name, item_texts, log_traces, sample_table
from evals.run.resources import open_run
from evals.run.state import RunState
from evals.training.link import checkpoint_tags
from evals.run.user_errors import exit_on_user_error
from metrics.reward.config import RewardConfig
from metrics.reward.judge import JudgeClient
from tasks.capabilities import ReportsLoading
from tasks.registry import build_task
from evals.conf import conf_dir

log = logging.getLogger(__name__)
CONF_DIR = str(conf_dir())


def load_report(task: Any) -> dict[str, Any]:
    """What loading the task reported, for summary.json (`data.loaded`): per split, items kept and rows skipped
    by `on_bad_rows: skip` (where, id, reason). Empty for tasks that skip nothing by design."""
    return {"loaded": task.load_report()} if isinstance(task, ReportsLoading) else {}


def skipped_count(loading: Mapping[str, Any]) -> int:
    return sum(len(split.get("skipped") or []) for split in (loading.get("loaded") or {}).values())


def _candidate_tags(result: CandidateResult, task: Any, meta: Mapping[str, str],
                    model_cfg: Mapping[str, Any] | None = None) -> dict[str, str]:
    # a checkpoint trained by `rft-evals train` links back to its training run
    return {**meta, "candidate": result.name, "role": result.role, "provider": result.provider,
            "model_id": result.model_id, **checkpoint_tags(model_cfg or {})}


def _reward_config(reward: Mapping[str, Any] | None) -> RewardConfig | None:
    if not reward:
        return None
    return RewardConfig.from_mapping(reward, f"conf/reward/{reward.get('name', '?')}.yaml")


def _reward_judge(task: Any, reward: RewardConfig | None) -> JudgeClient | None:
    """The judge client of a reward with judge criteria: the one the Lambda builds, from the same bundle."""
    if reward is None or not reward.criteria:
        return None
    from evals.rft.bundle import build_bundle
    from metrics.reward.lambda_handler import build_judge

    return build_judge(build_bundle(task, reward))


def _open_parent(tracker: Any, state: RunState, run_name: str, config: Mapping[str, Any],
                 meta: Mapping[str, str], run_dir: Path, parent_run_id: str | None = None) -> str | None:
    """A new parent run, or, when resuming, the interrupted one reopened (its pid tag updated first, so the
    stale-run check below leaves it alone)."""
    tags = {**meta, **process_tags(str(run_dir))}
    if state.parent_run_id and tracker.parent_exists(state.parent_run_id):
        parent_id = tracker.resume_parent(state.parent_run_id, tags)
    else:
        state.candidate_run_ids.clear()  # a new parent: every candidate is logged under it
        parent_id = tracker.start_parent(run_name, config, tags, parent_run_id=parent_run_id)
    tracker.fail_stale_runs()
    return parent_id


def execute(cfg: DictConfig, run_dir: Path, console: Console | None = None, *, parent_run_id: str | None = None,
            tags: Mapping[str, str] | None = None, progress_label: str = "",
            progress_every_s: float | None = None) -> int:
    """`parent_run_id` nests this run's MLflow parent under another run (a nightly suite's); `tags` are added
    to its tags and to summary.json's meta; `progress_label` heads each candidate's progress bar and
    `progress_every_s` prints a plain progress line that often when the console is not a terminal."""
    # Logs and CI captures are not terminals; give the tables room instead of rich's 80-column default.
    console = console or Console(width=None if sys.stdout.isatty() else 150)
    config: dict[str, Any] = OmegaConf.to_container(cfg, resolve=True)  # type: ignore[assignment]
    # every candidate's config checked before anything is opened: a typo in the last one fails now
    models = {name: ModelConfig.from_mapping(model_cfg, name) for name, model_cfg in config["candidates"].items()}
    resources = open_run(config, run_dir)
    root, cache, tracker = resources.data_root, resources.cache, resources.tracker
    task = build_task(config["task"], data_root=root)
    dataset = task.load(config["task"]["split"])
    items = DatasetItems(task.select(dataset, config.get("limit"), config["seed"]))
    console.print(f"task [bold]{task.name}[/bold]: {len(items)} of {len(dataset)} items "
                  f"({config['task']['split']} split), data root {root}")
    meta = {
        "task": task.name,
        "git_commit": git_commit(),
        "data_fingerprint": data_fingerprint(items),
        "prompt_template_hash": task.prompt_template_hash(),
        "kind": str(config.get("kind") or "run"),
        **ray_node(),  # which cluster node ran this job (Ray launcher / nightly executor=ray)
        **(tags or {}),
    }
    state = RunState.begin(run_dir)
    if state.resumed:
        console.print(f"resuming the run in {run_dir} (resume #{state.resumed}): records already written are "
                      "kept, completed model and judge calls come from the cache")
    parent_id = None
    if tracker:
        state.tracking_uri = tracker.settings.uri
        run_name = config.get("run_name") or f"{task.name} {time.strftime('%Y-%m-%d %H:%M')}"
        parent_id = _open_parent(tracker, state, run_name, config, meta, run_dir, parent_run_id)
        state.parent_run_id = parent_id or state.parent_run_id
    state.save(run_dir)
    reward = _reward_config(config.get("reward"))
    settings = RunSettings(seed=int(config["seed"]), bootstrap_resamples=int(config["bootstrap"]["resamples"]),
                           run_dir=run_dir, reward=reward, judge=_reward_judge(task, reward),
                           judge_config=config.get("judge") or None,
                           chunk_size=int(config.get("chunk_size") or 2048), resume=bool(config.get("resume")),
                           progress_label=progress_label or task.name, progress_every_s=progress_every_s)
    context = ProviderContext(task=task, data_root=root, seed=settings.seed)
    trace_limit = (config.get("tracking") or {}).get("max_traces", 50)  # per candidate; null = every sample
    results: list[CandidateResult] = []
    status = "FAILED"  # until every candidate is done; a crash or Ctrl-C leaves the run resumable
    try:
        for name, model_cfg in config["candidates"].items():
            result = evaluate_candidate(task, items, name, models[name], context=context, cache=cache,
                                        settings=settings)
            if name not in state.finished_candidates:
                state.finished_candidates.append(name)
            if tracker and name in state.candidate_run_ids:
                result.mlflow_run_id = state.candidate_run_ids[name]  # logged before the interruption
            elif tracker:
                entry = summary_entry(result)
                aggregates = [a for a in aggregates_for(config, task) if a.name in entry["metrics"]]
                texts = item_texts(task, items)

                def traces(mlflow: Any, run_id: str, result: CandidateResult = result,
                           aggregates: list = aggregates, texts: Any = texts) -> int:
                    return log_traces(mlflow, run_id, result.records, aggregates, texts, task=task.name,
                                      candidate=result.name, role=result.role, limit=trace_limit, seed=settings.seed)

                # model_id: the resolved id (a GGUF file name when the config has none), never null
                result.mlflow_run_id = tracker.log_candidate(
                    name, config={**model_cfg, "model_id": result.model_id, "role": result.role},
                    tags={**_candidate_tags(result, task, meta, model_cfg), **process_tags(str(run_dir))},
                    metrics=candidate_metrics(entry), table=sample_table(result.records, aggregates, texts),
                    artifacts=[result.records_path] if result.records_path else [],
                    run_name=candidate_run_name(result.name, result.role),
                    description=candidate_description(task.name, result.name, result.role, entry), traces=traces,
                )
                if result.mlflow_run_id:
                    state.candidate_run_ids[name] = result.mlflow_run_id
            state.save(run_dir)
            results.append(result)
        status = "FINISHED"
    except FatalRunError as exc:
        console.print(f"[bold red]run stopped:[/bold red] {exc}")
        return 2
    finally:
        loading = load_report(task)
        write_summary(run_dir / "summary.json", results, {**meta, "mlflow_parent_run_id": parent_id}, loading)
        if tracker:
            tracker.log_parent_artifact(run_dir / "summary.json")
            if loading:
                tracker.log_parent_metrics({"rows_skipped": skipped_count(loading)})
            tracker.log_parent_artifact(run_dir / "resolved_config.yaml")
            tracker.end(status)
            if not tracker.online:
                state.tracking_pending, state.tracking_error = True, tracker.offline_reason
        state.status = status.lower()
        state.save(run_dir)
        resources.close()
    print_results(results, console)
    console.print(f"run folder: {run_dir}")
    if tracker and tracker.online:
        console.print(f"MLflow run id: [bold]{parent_id}[/bold]  (tracking URI {tracker.settings.uri}; "
                      f"open with: mlflow ui --backend-store-uri {tracker.settings.uri})")
    elif tracker:
        console.print(f"[bold yellow]MLflow tracking was unavailable[/bold yellow] ({tracker.offline_reason}); "
                      f"every result is in {run_dir}. Upload it when the server is back: "
                      f"[bold]rft-evals sync {run_dir}[/bold]")
    return 0


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="config")
@exit_on_user_error
def hydra_main(cfg: DictConfig) -> None:
    code = execute(cfg, Path(HydraConfig.get().runtime.output_dir))
    if code:
        sys.exit(code)
