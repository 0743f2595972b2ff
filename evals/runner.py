"""One evaluation run: every candidate answers every selected item through the engine, the task scores
each answer with the shared metrics layer, and the results go to the run folder and MLflow."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evals.cache import GenerationCache
from evals.engine import CallOutcome, Engine, EngineSettings
from evals.providers.base import GenerationRequest
from evals.providers.registry import ProviderContext, build_provider
from evals.records import RecordWriter, SampleRecord, error_counts
from evals.statistics import Estimate, estimate_all
from evals.usage import UsageStats
from metrics.aggregates import mean
from metrics.errors import ClassifiedError, ErrorKind
from metrics.reward.config import RewardConfig
from metrics.reward.judge import JudgeClient
from metrics.reward.sample import reward_from_record
from tasks.base import Item, Task

log = logging.getLogger(__name__)


@dataclass
class CandidateResult:
    name: str
    role: str
    provider: str
    model_id: str
    config: Mapping[str, Any]
    records: list[SampleRecord]
    estimates: list[Estimate]
    usage: UsageStats
    model_calls: int  # calls that reached the model (cache misses)
    records_path: Path | None = None
    mlflow_run_id: str | None = None
    judge_usage: UsageStats | None = None  # the judge's calls for this candidate, when a judge is set

    @property
    def errors(self) -> dict[str, int]:
        return error_counts(self.records)


@dataclass
class RunSettings:
    seed: int = 0
    bootstrap_resamples: int = 1000
    run_dir: Path = Path("runs/latest")
    reward: RewardConfig | None = None  # the training reward, recorded per sample as the metric `reward`
    judge: JudgeClient | None = None  # for reward components that read judge criteria
    judge_config: Mapping[str, Any] | None = None  # a conf/judge config: its scores become run metrics
    extras: dict[str, Any] = field(default_factory=dict)


def build_requests(
    task: Task, items: Sequence[Item], model_cfg: Mapping[str, Any], seed: int
) -> list[GenerationRequest]:
    few_shot = int(model_cfg.get("few_shot") or 0)
    examples = task.few_shot_examples(few_shot, seed) if few_shot else []
    schema = task.output_schema()
    return [
        GenerationRequest(
            item_id=str(item["id"]),
            messages=tuple(task.messages(item, examples)),
            schema=schema,
            max_tokens=int(model_cfg.get("max_tokens") or 512),
            temperature=float(model_cfg.get("temperature") or 0.0),
            top_p=model_cfg.get("top_p"),
            seed=model_cfg.get("seed", seed),
            context=dict(item),
        )
        for item in items
    ]


def score_outcome(task: Task, item: Item, outcome: CallOutcome, name: str, role: str,
                  settings: RunSettings | None = None) -> SampleRecord:
    """Turn one engine outcome into a record: scored, or carrying the classified error. With a reward
    config, the record also gets the training reward, computed by the same function the Lambda calls."""
    record = SampleRecord(candidate=name, role=role, item_id=str(item["id"]), output=None,
                          attempts=outcome.attempts, cached=outcome.cached)
    if outcome.error is not None:
        record.errors.append(outcome.error.to_dict())
        return record
    generation = outcome.generation
    assert generation is not None  # an outcome has a generation or an error
    record.output = generation.text
    record.stop_reason = generation.stop_reason
    record.truncated = generation.truncated
    record.input_tokens = generation.usage.input_tokens
    record.output_tokens = generation.usage.output_tokens
    record.latency_ms = generation.latency_ms
    try:
        score = task.score(generation.text, task.reference(item))
    except Exception as exc:  # a scorer bug must not sink the batch; it is recorded and counted
        log.exception("scoring failed for %s / %s", name, item["id"])
        record.errors.append(ClassifiedError(ErrorKind.INPUT, f"scoring failed: {exc!r}", "score").to_dict())
        return record
    record.values = dict(score.values)
    record.errors.extend(e.to_dict() for e in score.errors)
    record.details = score.details
    if generation.truncated:
        record.errors.append(ClassifiedError(ErrorKind.TRUNCATED, "the model hit its max_tokens budget",
                                             "generate").to_dict())
    if settings is not None and settings.reward is not None:
        reward = reward_from_record(score.values, score.errors, settings.reward, settings.judge,
                                    generation.text, task.reference(item))
        record.values["reward"] = reward.score
        record.details["reward"] = reward.to_dict()
    return record


def evaluate_candidate(
    task: Task,
    items: Sequence[Item],
    name: str,
    model_cfg: Mapping[str, Any],
    *,
    context: ProviderContext,
    cache: GenerationCache | None,
    settings: RunSettings,
) -> CandidateResult:
    provider = build_provider({**model_cfg, "name": model_cfg.get("name") or name}, context)
    usage = UsageStats(name=name, model_config=model_cfg)
    engine = Engine(provider, EngineSettings.from_config(model_cfg), cache=cache, usage=usage)
    requests = build_requests(task, items, model_cfg, settings.seed)
    role = str(model_cfg.get("role") or "candidate")
    records = [score_outcome(task, item, outcome, name, role, settings)
               for item, outcome in zip(items, engine.run(requests, progress=f"{name}"), strict=True)]
    aggregates = task.aggregates() + ([mean("reward")] if settings.reward is not None else [])
    estimates = estimate_all(aggregates, [r.values for r in records if r.scored],
                             resamples=settings.bootstrap_resamples, seed=settings.seed)
    judge_usage = None
    if settings.judge_config:
        from evals.judging import judge_candidate_records

        judgement = judge_candidate_records(task, items, records, settings.judge_config, cache,
                                            context=context, resamples=settings.bootstrap_resamples,
                                            seed=settings.seed)
        estimates.extend(judgement.estimates)
        judge_usage = judgement.run.usage
    # Written after judging so each record carries its verdicts; every item has a line, scored or not.
    records_path = settings.run_dir / "records" / f"{name}.jsonl"
    with RecordWriter(records_path) as writer:
        for record in records:
            writer.write(record)
    return CandidateResult(
        name=name,
        role=role,
        provider=str(model_cfg.get("provider")),
        model_id=str(provider.model_id),
        config=model_cfg,
        records=records,
        estimates=estimates,
        usage=usage,
        model_calls=sum(1 for r in records if not r.cached and r.attempts > 0),
        records_path=records_path,
        judge_usage=judge_usage,
    )


def sample_table(result: CandidateResult, metric_names: Sequence[str]) -> dict[str, list[Any]]:
    """The per-sample table logged to MLflow: one row per item, key metrics as columns."""
    table: dict[str, list[Any]] = {"item_id": [], "output": [], "errors": [], "stop_reason": [], "cached": []}
    for name in metric_names:
        table[name] = []
    for record in result.records:
        table["item_id"].append(record.item_id)
        table["output"].append(record.output or "")
        table["errors"].append(",".join(e["kind"] for e in record.errors))
        table["stop_reason"].append(record.stop_reason)
        table["cached"].append(record.cached)
        for name in metric_names:
            table[name].append(record.values.get(name))
    return table


def write_summary(path: Path, results: Sequence[CandidateResult], meta: Mapping[str, Any]) -> None:
    summary = {
        "meta": dict(meta),
        "candidates": {
            r.name: {
                "role": r.role,
                "provider": r.provider,
                "model_id": r.model_id,
                "n": len(r.records),
                "scored": sum(1 for x in r.records if x.scored),
                "errors": r.errors,
                "model_calls": r.model_calls,
                "metrics": {e.name: e.as_dict() for e in r.estimates},
                "usage": r.usage.to_metrics(),
                "mlflow_run_id": r.mlflow_run_id,
            }
            for r in results
        },
    }
    path.write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")
