"""Run a judge (metrics/judges, sans-I/O) through the Engine: any provider, bounded concurrency, retries,
and the generation cache. The cache key is (judge model identity, the rendered judge prompt = template +
inputs, schema, decoding, seed), so a rerun on the same outputs costs nothing; repeats use distinct seeds and
so miss the cache, which is what measuring self-consistency needs. A re-ask is a second engine round for the
replies that could not be read.

`judge_candidate_records` is the hook for `rft-evals run`: it adds the judge's values (per-criterion pass,
judge_score, ...) to the records of one candidate and returns estimates with bootstrap CIs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from evals.inference.cache import GenerationCache
from evals.inference.engine import Engine, EngineSettings
from evals.providers.base import GenerationRequest
from evals.providers.registry import ProviderContext, build_provider
from evals.samples.records import SampleRecord
from evals.stats.estimate import Estimate, estimate_all
from evals.inference.usage import UsageStats
from metrics.judges.base import Judge, JudgeConfigError
from metrics.judges.config import judge_from_config
from metrics.judges.driver import JudgedSample, judge_samples
from metrics.judges.types import JudgeReply, JudgeRequest, JudgeSample
from metrics.types import SampleScore
from tasks.capabilities import reference_text_of


def to_generation_request(request: JudgeRequest) -> GenerationRequest:
    return GenerationRequest(item_id=request.key, messages=request.messages, schema=request.schema,
                             max_tokens=request.max_tokens, temperature=request.temperature, seed=request.seed)


class EngineExecutor:
    """A driver `Execute` over an Engine: one engine run per round, one reply per request."""

    def __init__(self, engine: Engine, progress: str | None = None):
        self.engine = engine
        self.progress = progress

    def __call__(self, requests: Sequence[JudgeRequest]) -> list[JudgeReply]:
        outcomes = self.engine.run([to_generation_request(r) for r in requests], progress=self.progress)
        replies = []
        for outcome in outcomes:
            if outcome.error is not None:
                replies.append(JudgeReply(error=outcome.error))
                continue
            g = outcome.generation
            assert g is not None
            replies.append(JudgeReply(text=g.text, stop_reason=g.stop_reason, input_tokens=g.usage.input_tokens,
                                      output_tokens=g.usage.output_tokens, cached=outcome.cached))
        return replies


@dataclass
class JudgeRun:
    name: str
    judge: Judge
    config: Mapping[str, Any]
    judged: list[JudgedSample]
    usage: UsageStats
    model_id: str
    template_hash: str
    repeats: int = 1

    def scores(self, repeat: int = 0) -> list[SampleScore]:
        return [j.score for j in self.judged if j.repeat == repeat]

    def by_repeat(self) -> dict[str, list[SampleScore]]:
        """sample id -> its scores, one per repeat."""
        out: dict[str, list[SampleScore]] = {}
        for j in self.judged:
            out.setdefault(j.sample_id, []).append(j.score)
        return out

    @property
    def calls(self) -> int:
        return sum(j.calls for j in self.judged)

    @property
    def reasked(self) -> int:
        return sum(j.reasked for j in self.judged)

    def cost_per_1k_verdicts(self) -> dict[str, float]:
        """Cost and tokens per 1,000 judge calls, counting cached calls at the price they would have cost,
        so the figure does not drop to zero on a rerun."""
        u = self.usage
        calls = max(1, u.calls - u.error_count)
        tokens_in = u.input_tokens + u.cached_input_tokens
        tokens_out = u.output_tokens + u.cached_output_tokens
        return {"cost_usd_per_1k_verdicts": u.cost(tokens_in, tokens_out) / calls * 1000.0,
                "input_tokens_per_verdict": tokens_in / calls, "output_tokens_per_verdict": tokens_out / calls}


def judge_model_config(judge_cfg: Mapping[str, Any]) -> dict[str, Any]:
    model = judge_cfg.get("model")
    if not isinstance(model, Mapping):
        raise JudgeConfigError(f"judge config {judge_cfg.get('name', '?')!r} has no `model` sub-config; add "
                               "`defaults: [/model@model: smollm2]` (or another conf/model/*.yaml)")
    return {**model, "name": model.get("name") or f"{judge_cfg.get('name', 'judge')}-model"}


def run_judge(judge_cfg: Mapping[str, Any], samples: Sequence[JudgeSample], *, cache: GenerationCache | None,
              context: ProviderContext | None = None, repeats: int | None = None, engine: Engine | None = None,
              progress: str | None = None) -> JudgeRun:
    judge = judge_from_config(judge_cfg)
    model_cfg = judge_model_config(judge_cfg)
    usage = UsageStats(name=str(model_cfg["name"]), model_config=model_cfg)
    if engine is None:
        provider = build_provider(model_cfg, context or ProviderContext(task=None))
        engine = Engine(provider, EngineSettings.from_config(model_cfg), cache=cache, usage=usage)
    else:
        engine.usage = usage
    repeats = int(repeats if repeats is not None else judge.settings.repeats)
    judged = judge_samples(judge, samples, EngineExecutor(engine, progress), repeats=repeats)
    return JudgeRun(name=judge.settings.name, judge=judge, config=judge_cfg, judged=judged, usage=usage,
                    model_id=str(engine.provider.model_id), template_hash=judge.template_hash(), repeats=repeats)


# --- the `rft-evals run` hook -----------------------------------------------------------------------


def task_sample(task: Any, item: Mapping[str, Any], output: Any, sample_id: str | None = None) -> JudgeSample:
    """A judge sample for a task item: the window is the TargetDocument, the task's rendered Reference
    (playbook) the guidance."""
    return JudgeSample(id=sample_id or str(item["id"]), response=output, document=str(item.get("document", "")),
                       reference=reference_text_of(task))


@dataclass
class CandidateJudgement:
    run: JudgeRun
    scores: dict[str, SampleScore]  # item id -> the judge's score (repeat 0)
    estimates: list[Estimate] = field(default_factory=list)


def judge_candidate_records(task: Any, items: Sequence[Mapping[str, Any]], records: Sequence[SampleRecord],
                            judge_cfg: Mapping[str, Any], cache: GenerationCache | None, *,
                            context: ProviderContext | None = None, resamples: int = 1000, seed: int = 0,
                            update_records: bool = True) -> CandidateJudgement:
    """Judge every record that has an output. With update_records, each such record gains the judge's
    values (judge/<criterion>, judge_score, ...), its classified judge errors and details["judge"].
    Records without an output (the generation failed) are left alone: their error is already recorded."""
    by_id = {str(item["id"]): item for item in items}
    samples = [task_sample(task, by_id[r.item_id], r.output) for r in records
               if r.output is not None and r.item_id in by_id]
    run = run_judge(judge_cfg, samples, cache=cache, context=context, repeats=1,
                    progress=f"judging with {judge_cfg.get('name', 'judge')}")
    scores = {j.sample_id: j.score for j in run.judged}
    if update_records:
        for record in records:
            score = scores.get(record.item_id)
            if score is None:
                continue
            record.values.update(score.values)
            record.errors.extend(e.to_dict() for e in score.errors)
            record.details["judge"] = score.details
    estimates = estimate_all(run.judge.aggregates(), [s.values for s in scores.values()], resamples=resamples,
                             seed=seed)
    return CandidateJudgement(run=run, scores=scores, estimates=estimates)
