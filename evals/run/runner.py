"""One evaluation run: every candidate answers every selected item through the engine, the task scores
each answer with the shared metrics layer, and the results go to the run folder and MLflow."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evals.inference.cache import GenerationCache
from evals.inference.engine import CallOutcome, Engine
from evals.providers.registry import ProviderContext, build_provider
from evals.inference.model_config import ModelConfig
from evals.inference.progress import ProgressBar
from evals.inference.requests import build_requests
from evals.json_safe import json_safe
from evals.samples.records import RecordWriter, SampleRecord, compact_values, completed_records, error_counts
from evals.stats.estimate import Estimate, estimate_all
from evals.inference.usage import UsageStats
from metrics.aggregates import mean
from metrics.errors import ClassifiedError, ErrorKind
from metrics.reward.config import RewardConfig
from metrics.reward.judge import JudgeClient
from metrics.reward.sample import reward_from_record
from tasks.base import Item, Task

log = logging.getLogger(__name__)
RECORD_BATCH = 256  # records written to the JSONL file together on fast runs (see RecordWriter)
RECORD_FLUSH_S = 0.2  # a record is written at once when the last write is older than this, else with the next


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
    chunk_size: int = 2048  # items asked per engine pass; bounds memory on large runs
    keep_full_records: int = 20_000  # records kept whole in memory; later ones keep only values and errors
    resume: bool = False  # keep the records already in the run folder and ask only for the missing items
    extras: dict[str, Any] = field(default_factory=dict)
    progress_label: str = ""  # shown before the candidate's name on its progress bar (a night: "[2/4] task")
    progress_every_s: float | None = None  # off a terminal: a plain progress line this often (None: silent)


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
    except Exception as exc:  # a scorer bug must not sink the batch; it is recorded as ours and counted apart
        log.exception("scoring failed for %s / %s", name, item["id"])
        record.errors.append(ClassifiedError(ErrorKind.INTERNAL, f"the scorer raised {exc!r}", "score").to_dict())
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


def _chunks(indices: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    for start in range(0, len(indices), size):
        yield indices[start:start + size]


def _item_ids(items: Sequence[Item]) -> list[str]:
    """The ids in item order; from the id column alone when the items can say (DatasetItems.ids)."""
    ids = getattr(items, "ids", None)
    return list(ids()) if callable(ids) else [str(item["id"]) for item in items]


def _take(items: Sequence[Item], indices: Sequence[int]) -> list[Item]:
    """The items at `indices`: one slice when they are consecutive (a fresh run), which a lazy dataset
    reads in one batch; one at a time otherwise (a resumed run's gaps)."""
    if indices and indices[-1] - indices[0] + 1 == len(indices):
        return list(items[indices[0]:indices[-1] + 1])
    return [items[i] for i in indices]


def evaluate_candidate(
    task: Task,
    items: Sequence[Item],
    name: str,
    model_cfg: ModelConfig | Mapping[str, Any],
    *,
    context: ProviderContext,
    cache: GenerationCache | None,
    settings: RunSettings,
) -> CandidateResult:
    """Generate, score (and judge) every item for one candidate.

    Records stream to `records/<name>.jsonl` as they are scored (after judging, when a judge is set), so a
    crash loses at most the calls in flight. Items that already have a record there (a resumed run) are
    not asked again; the model and judge calls of the others come from the cache when they were made."""
    model = ModelConfig.of(model_cfg, name)
    model_cfg = model_cfg.raw if isinstance(model_cfg, ModelConfig) else model_cfg
    provider = build_provider(model.raw, context)
    usage = UsageStats(name=name, model_config=model_cfg)
    engine = Engine(provider, model.engine, cache=cache, usage=usage)
    role = model.role
    records_path = settings.run_dir / "records" / f"{name}.jsonl"
    if not settings.resume and records_path.exists():
        records_path.unlink()  # a fresh run never mixes its records with an earlier run's
    done = completed_records(records_path)
    ids = _item_ids(items)
    wanted = set(ids)
    kept = [record for item_id, record in done.items() if item_id in wanted]
    todo = [i for i, item_id in enumerate(ids) if item_id not in done]
    del wanted, done
    if kept:
        log.info("%s: %d of %d items already have records in %s; asking for the other %d", name, len(kept),
                 len(items), records_path, len(todo))
    memory = _RecordMemory(settings.keep_full_records)
    for record in kept:
        memory.add(record)
    fresh: list[SampleRecord] = []  # held back for the judge, when one is set
    # One bar per candidate over all its items (generation, then judging), with elapsed time and ETA.
    label = f"{settings.progress_label} · {name}" if settings.progress_label else name
    bar = ProgressBar(label, len(todo), plain_every_s=settings.progress_every_s)
    try:
        # Records are written in batches on fast runs; the cache is committed first, so every record on disk
        # has its model call cached (a resumed run never asks the model for an item it has a record for).
        flush_cache = cache.flush if cache is not None else None
        with RecordWriter(records_path, batch_size=RECORD_BATCH, flush_interval_s=RECORD_FLUSH_S,
                          before_flush=flush_cache) as writer:
            for chunk in _chunks(todo, settings.chunk_size):
                chunk_items = _take(items, chunk)
                requests = build_requests(task, chunk_items, model, settings.seed)
                for outcome in engine.run_iter(requests, progress=None):
                    record = score_outcome(task, chunk_items[outcome.index], outcome, name, role, settings)
                    bar.advance()
                    if settings.judge_config:
                        fresh.append(record)
                        continue
                    writer.write(record)
                    memory.add(record)
            judge_usage = None
            if settings.judge_config:
                judge_usage = _judge(task, items, fresh, cache, context, settings)
                for record in fresh:  # written after judging so each record carries its verdicts
                    writer.write(record)
                    memory.add(record)
    finally:
        bar.close()
    records = memory.records
    # Item order before the statistics: records arrive in completion order, which differs between runs (and
    # after a resume), and the bootstrap draws by position, so the intervals would too.
    order = {item_id: i for i, item_id in enumerate(ids)}
    records.sort(key=lambda r: order.get(r.item_id, len(order)))
    aggregates = task.aggregates() + ([mean("reward")] if settings.reward is not None else [])
    estimates = estimate_all(aggregates, [r.values for r in records if r.scored],
                             resamples=settings.bootstrap_resamples, seed=settings.seed)
    if settings.judge_config:
        estimates.extend(_judge_estimates(settings.judge_config, records, settings))
    return CandidateResult(
        name=name,
        role=role,
        provider=model.provider,
        model_id=str(provider.model_id),
        config=model_cfg,
        records=records,
        estimates=estimates,
        usage=usage,
        model_calls=sum(1 for r in records if not r.cached and r.attempts > 0),
        records_path=records_path,
        judge_usage=judge_usage,
    )


class _RecordMemory:
    """What a run keeps in memory per record: everything for the first `full` records (the per-sample table,
    the console), then only values and errors, so a 100,000-item run stays flat. The full records are on disk."""

    def __init__(self, full: int):
        self.full = full
        self.records: list[SampleRecord] = []

    def add(self, record: SampleRecord) -> None:
        if len(self.records) < self.full:
            record.values = compact_values(record.values)  # an equal dict with shared keys and numbers
            self.records.append(record)
        else:
            self.records.append(record.slim())


def _judge(task: Task, items: Sequence[Item], records: list[SampleRecord], cache: GenerationCache | None,
           context: ProviderContext, settings: RunSettings) -> UsageStats:
    from evals.judging.judge import judge_candidate_records

    assert settings.judge_config is not None
    judgement = judge_candidate_records(task, items, records, settings.judge_config, cache, context=context,
                                        resamples=settings.bootstrap_resamples, seed=settings.seed)
    return judgement.run.usage


def _judge_estimates(judge_cfg: Mapping[str, Any], records: Sequence[SampleRecord],
                     settings: RunSettings) -> list[Estimate]:
    """The judge's run metrics over every judged record, those judged before a resume included."""
    from metrics.judges.config import judge_from_config

    aggregates = judge_from_config(judge_cfg).aggregates()
    inputs = {name for aggregate in aggregates for name in aggregate.inputs}
    judged = [r.values for r in records if inputs & r.values.keys()]
    return estimate_all(aggregates, judged, resamples=settings.bootstrap_resamples, seed=settings.seed)


def summary_entry(result: CandidateResult) -> dict[str, Any]:
    """One candidate in summary.json: everything its MLflow run is built from (see evals/run/sync.py)."""
    return {
        "role": result.role,
        "provider": result.provider,
        "model_id": result.model_id,
        "n": len(result.records),
        "scored": sum(1 for x in result.records if x.scored),
        "errors": result.errors,  # per kind: one item may have two (truncated, then unparseable)
        "errored_items": sum(1 for x in result.records if x.errors),
        "model_calls": result.model_calls,
        "metrics": {e.name: e.as_dict() for e in result.estimates},
        "usage": result.usage.to_metrics(),
        "judge_usage": result.judge_usage.to_metrics() if result.judge_usage is not None else None,
        "mlflow_run_id": result.mlflow_run_id,
    }


def candidate_metrics(entry: Mapping[str, Any]) -> dict[str, float]:
    """A candidate's MLflow metrics, from its summary entry: the live run and `rft-evals sync` log the same."""
    metrics: dict[str, float] = {}
    for name, estimate in entry["metrics"].items():
        metrics[name] = estimate["value"]
        metrics[f"{name}_ci_low"] = estimate["ci_low"]
        metrics[f"{name}_ci_high"] = estimate["ci_high"]
    metrics.update(entry["usage"])
    metrics.update({f"judge_{k}": v for k, v in (entry.get("judge_usage") or {}).items()})
    metrics["samples"] = entry["n"]
    metrics["samples_scored"] = entry["scored"]
    metrics["model_calls"] = entry["model_calls"]
    # Every error kind, zeros included: a chart across nights needs the nights without errors too.
    for kind in ErrorKind:
        metrics[f"errors/{kind}"] = 0
    for kind, count in entry["errors"].items():
        metrics[f"errors/{kind}"] = count
    metrics["errors/items"] = entry.get("errored_items", sum(int(c) for c in entry["errors"].values()))
    return metrics


def write_summary(path: Path, results: Sequence[CandidateResult], meta: Mapping[str, Any],
                  data: Mapping[str, Any] | None = None) -> None:
    """summary.json, strict JSON: an undefined figure (NaN, e.g. F1 with no positives) is written as null.
    `data`: what loading the task reported (e.g. a config task's skipped rows per split)."""
    summary = {"meta": dict(meta), "candidates": {r.name: summary_entry(r) for r in results}}
    if data:
        summary["data"] = dict(data)
    text = json.dumps(json_safe(summary), indent=2, default=str, allow_nan=False)
    path.write_text(text, encoding="utf-8")
