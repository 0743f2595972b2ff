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

from evals.console import print_results
from evals.engine import FatalRunError
from evals.provenance import data_fingerprint, git_commit
from evals.providers.registry import ProviderContext
from evals.runner import CandidateResult, RunSettings, evaluate_candidate, sample_table, write_summary
from evals.run_resources import open_run
from evals.user_errors import exit_on_user_error
from metrics.reward.config import RewardConfig
from metrics.reward.judge import JudgeClient
from tasks.registry import build_task

log = logging.getLogger(__name__)
CONF_DIR = str(Path(__file__).resolve().parent.parent / "conf")


def _candidate_tags(result: CandidateResult, task: Any, meta: Mapping[str, str]) -> dict[str, str]:
    return {**meta, "candidate": result.name, "role": result.role, "provider": result.provider,
            "model_id": result.model_id}


def _key_metric_names(result: CandidateResult) -> list[str]:
    return [e.name for e in result.estimates if "/" not in e.name]


def _reward_config(reward: Mapping[str, Any] | None) -> RewardConfig | None:
    if not reward:
        return None
    return RewardConfig.from_mapping(reward, f"conf/reward/{reward.get('name', '?')}.yaml")


def _reward_judge(task: Any, reward: RewardConfig | None) -> JudgeClient | None:
    """The judge client of a reward with judge criteria: the one the Lambda builds, from the same bundle."""
    if reward is None or not reward.criteria:
        return None
    from evals.reward_cli import build_bundle
    from metrics.reward.lambda_handler import build_judge

    return build_judge(build_bundle(task, reward))


def execute(cfg: DictConfig, run_dir: Path, console: Console | None = None) -> int:
    # Logs and CI captures are not terminals; give the tables room instead of rich's 80-column default.
    console = console or Console(width=None if sys.stdout.isatty() else 150)
    config: dict[str, Any] = OmegaConf.to_container(cfg, resolve=True)  # type: ignore[assignment]
    resources = open_run(config, run_dir)
    root, cache, tracker = resources.data_root, resources.cache, resources.tracker
    task = build_task(config["task"], data_root=root)
    dataset = task.load(config["task"]["split"])
    items = [dict(row) for row in task.select(dataset, config.get("limit"), config["seed"])]
    console.print(f"task [bold]{task.name}[/bold]: {len(items)} of {len(dataset)} items "
                  f"({config['task']['split']} split), data root {root}")
    meta = {
        "task": task.name,
        "git_commit": git_commit(),
        "data_fingerprint": data_fingerprint(items),
        "prompt_template_hash": task.prompt_template_hash(),
        "kind": str(config.get("kind") or "run"),
    }
    parent_id = None
    if tracker:
        parent_id = tracker.start_parent(config.get("run_name") or f"{task.name}-{int(time.time())}", config, meta)
    reward = _reward_config(config.get("reward"))
    settings = RunSettings(seed=int(config["seed"]), bootstrap_resamples=int(config["bootstrap"]["resamples"]),
                           run_dir=run_dir, reward=reward, judge=_reward_judge(task, reward),
                           judge_config=config.get("judge") or None)
    context = ProviderContext(task=task, data_root=root, seed=settings.seed)
    results: list[CandidateResult] = []
    status = "FINISHED"
    try:
        for name, model_cfg in config["candidates"].items():
            result = evaluate_candidate(task, items, name, model_cfg, context=context, cache=cache, settings=settings)
            if tracker:
                metrics = {}
                for estimate in result.estimates:
                    metrics[estimate.name] = estimate.value
                    metrics[f"{estimate.name}_ci_low"] = estimate.ci_low
                    metrics[f"{estimate.name}_ci_high"] = estimate.ci_high
                metrics.update(result.usage.to_metrics())
                if result.judge_usage is not None:
                    metrics.update(result.judge_usage.to_metrics("judge_"))
                metrics["samples"] = len(result.records)
                metrics["samples_scored"] = sum(1 for r in result.records if r.scored)
                metrics["model_calls"] = result.model_calls
                for kind, count in result.errors.items():
                    metrics[f"errors/{kind}"] = count
                result.mlflow_run_id = tracker.log_candidate(
                    name, config=model_cfg, tags=_candidate_tags(result, task, meta), metrics=metrics,
                    table=sample_table(result, _key_metric_names(result)),
                    artifacts=[result.records_path] if result.records_path else [],
                )
            results.append(result)
    except FatalRunError as exc:
        status = "FAILED"
        console.print(f"[bold red]run stopped:[/bold red] {exc}")
        return 2
    finally:
        write_summary(run_dir / "summary.json", results, {**meta, "mlflow_parent_run_id": parent_id})
        if tracker:
            tracker.log_parent_artifact(run_dir / "summary.json")
            tracker.log_parent_artifact(run_dir / "resolved_config.yaml")
            tracker.end(status)
        resources.close()
    print_results(results, console)
    console.print(f"run folder: {run_dir}")
    if tracker:
        console.print(f"MLflow run id: [bold]{parent_id}[/bold]  (tracking URI {tracker.settings.uri}; "
                      f"open with: mlflow ui --backend-store-uri {tracker.settings.uri})")
    return 0


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="config")
@exit_on_user_error
def hydra_main(cfg: DictConfig) -> None:
    code = execute(cfg, Path(HydraConfig.get().runtime.output_dir))
    if code:
        sys.exit(code)
