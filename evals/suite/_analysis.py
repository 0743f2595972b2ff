"""From run outputs on disk to the `tasks` and `gate` sections of nightly.json.

Per task: the candidates' metrics and usage (from summary.json), paired comparisons between the suite's
pairs (evals/stats/paired.py), per-category F1 with its support, reward-production agreement (evals/stats/agreement.py)
and, when the suite names one, pairwise-judge win rates. The gate compares each candidate with itself in the
baseline run, item by item (evals/suite/gate.py). `rft-evals nightly` and `rft-evals compare` both use this."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evals.samples.records import SampleRecord
from evals.run.aggregates import aggregates_for
from evals.run.outputs import TaskOutputs, summary_candidate
from evals.suite.config import SuiteConfig
from metrics.aggregates import Aggregate, AggregateKind

log = logging.getLogger(__name__)


@dataclass
class TaskContext:
    """A task's outputs with what the statistics need: the task (for aggregates and documents) and items."""

    outputs: TaskOutputs
    task: Any
    aggregates: list[Aggregate]
    items: dict[str, Mapping[str, Any]]  # item id -> item (its document for the disagreement examples)
    notes: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.outputs.name


def task_context(outputs: TaskOutputs, data_root: Path | None) -> TaskContext:
    from tasks.registry import build_task

    task_cfg = outputs.config.get("task")
    if not isinstance(task_cfg, Mapping):
        raise ValueError(f"{outputs.directory}/resolved_config.yaml has no `task` section; the run folder is "
                         "incomplete (was it written by `rft-evals run`?)")
    task = build_task(task_cfg, data_root=data_root)
    wanted = {r.item_id for records in outputs.records.values() for r in records}
    dataset = task.load(task_cfg.get("split") or "test")
    items = {str(row["id"]): row for row in dataset if str(row["id"]) in wanted}
    return TaskContext(outputs, task, aggregates_for(outputs.config, task), items)


# --- sections of one task -----------------------------------------------------------------------------


def candidate_section(ctx: TaskContext, suite: SuiteConfig) -> dict[str, Any]:
    out = {}
    for name in ctx.outputs.candidates:
        summary = summary_candidate(ctx.outputs, name)
        metrics = {m: {"value": e.get("value"), "ci_low": e.get("ci_low"), "ci_high": e.get("ci_high"),
                       "n": e.get("n")} for m, e in (summary.get("metrics") or {}).items()}
        out[name] = {"role": suite.role_of(name) or summary.get("role"), "model_id": summary.get("model_id"),
                     "n": summary.get("n", len(ctx.outputs.records.get(name, []))), "scored": summary.get("scored"),
                     "errors": summary.get("errors") or {}, "metrics": metrics, "usage": summary.get("usage") or {},
                     "mlflow_run_id": summary.get("mlflow_run_id")}
    return out


def resolved_pairs(records: Mapping[str, Any], suite: SuiteConfig) -> tuple[list[tuple[str, str]], list[str]]:
    """The suite's pairs as candidate names, keeping those whose both sides have records; notes for the rest."""
    pairs, notes = [], []
    for a, b in suite.pairs:
        pa, pb = suite.resolve(a), suite.resolve(b)
        if pa in records and pb in records:
            pairs.append((pa, pb))
        else:
            notes.append(f"pair {a}-{b} skipped: {pa if pa not in records else pb} has no records in this run")
    return pairs, notes


def comparisons(ctx: TaskContext, pairs: Sequence[tuple[str, str]], resamples: int, seed: int) -> list[dict]:
    from evals.stats.paired import compare_candidates

    if not pairs:
        return []
    return compare_candidates(ctx.outputs.records, ctx.aggregates, pairs, resamples=resamples, seed=seed)


def per_category(ctx: TaskContext) -> dict[str, dict[str, dict[str, Any]]]:
    """candidate -> category -> {f1, support}, for F1 aggregates named `<metric>/<category>`. The F1 comes
    from summary.json (the run's own estimate); support = gold positives (tp + fn) over the scored records."""
    categorical = [a for a in ctx.aggregates if a.kind is AggregateKind.F1 and "/" in a.name]
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for name, records in ctx.outputs.records.items():
        metrics = summary_candidate(ctx.outputs, name).get("metrics") or {}
        rows = {}
        for aggregate in categorical:
            tp_key, _, fn_key = aggregate.inputs
            support = sum(int(r.values.get(tp_key, 0) + r.values.get(fn_key, 0)) for r in records if r.scored)
            rows[aggregate.name.split("/", 1)[1]] = {"f1": (metrics.get(aggregate.name) or {}).get("value"),
                                                     "support": support}
        if rows:
            out[name] = rows
    return out


def documents(ctx: TaskContext) -> dict[str, str]:
    return {item_id: str(item.get("document", "")) for item_id, item in ctx.items.items()}


def golds(ctx: TaskContext) -> dict[str, str]:
    """item id -> the gold answer as the task writes it (the suspect cards show it next to the output)."""
    out = {}
    for item_id, item in ctx.items.items():
        try:
            out[item_id] = str(ctx.task.render_gold(item))
        except Exception as exc:  # noqa: BLE001 - a gold that cannot be rendered must not sink the night
            out[item_id] = f"(gold not renderable: {type(exc).__name__})"
    return out


def policy_level(ctx: TaskContext, suite: SuiteConfig) -> dict[str, Any]:
    """Across the night's candidates: does the mean reward order them as each production metric does?"""
    from evals.stats.agreement import policy_agreement

    spec = suite.agreement
    values = {}
    for name in ctx.outputs.candidates:
        metrics = summary_candidate(ctx.outputs, name).get("metrics") or {}
        values[name] = {m: (metrics.get(m) or {}).get("value") for m in (spec.reward_metric, *spec.production)}
    directions = {a.name: a.higher_is_better for a in ctx.aggregates}
    return policy_agreement(values, spec.reward_metric, list(spec.production), directions)


def agreement(ctx: TaskContext, suite: SuiteConfig, resamples: int, seed: int) -> dict[str, Any]:
    from evals.stats.agreement import agreement_section

    spec = suite.agreement
    has_reward = any(spec.reward_metric in r.values for recs in ctx.outputs.records.values() for r in recs)
    if not spec.production or not has_reward:
        if not has_reward:
            ctx.notes.append(f"agreement skipped: no record has the reward metric `{spec.reward_metric}` "
                             "(the suite has no reward?)")
        return {}
    return agreement_section(ctx.outputs.records, reward_metric=spec.reward_metric,
                             production=spec.production, reward_threshold=spec.reward_threshold,
                             documents=documents(ctx), golds=golds(ctx), aggregates=ctx.aggregates, top_k=spec.top_k,
                             resamples=resamples, seed=seed)


def task_section(ctx: TaskContext, suite: SuiteConfig, *, resamples: int, seed: int,
                 pairwise_rows: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
    pairs, notes = resolved_pairs(ctx.outputs.records, suite)
    ctx.notes.extend(notes)
    section = {
        "n_items": len({r.item_id for recs in ctx.outputs.records.values() for r in recs}),
        "mlflow_run_id": (ctx.outputs.summary.get("meta") or {}).get("mlflow_parent_run_id"),
        "candidates": candidate_section(ctx, suite),
        "comparisons": comparisons(ctx, pairs, resamples, seed),
        "pairwise_judge": list(pairwise_rows),
        "per_category": per_category(ctx),
        "agreement": agreement(ctx, suite, resamples, seed),
    }
    if section["agreement"]:  # the same question asked of the policies: the reward's order vs each metric's
        section["policy_agreement"] = policy_level(ctx, suite)
    section["headline_metrics"] = headline_metrics(ctx, suite)
    section["notes"] = list(ctx.notes)
    return section


def headline_metrics(ctx: TaskContext, suite: SuiteConfig) -> list[str]:
    """What the verdict table shows for the task: the gated metrics, the agreement's production metrics and the
    reward, those the task reports, in that order."""
    reported = {a.name for a in ctx.aggregates}
    wanted = [*suite.gate.metrics, *suite.agreement.production, suite.agreement.reward_metric]
    return [m for m in dict.fromkeys(wanted) if m in reported]


# --- the gate ------------------------------------------------------------------------------------------


def _records(outputs: TaskOutputs, candidate: str) -> list[SampleRecord]:
    return outputs.records.get(candidate, [])


def gate_section(current: Mapping[str, TaskContext], baseline: Mapping[str, TaskOutputs] | None,
                 current_tasks: Mapping[str, Mapping[str, Any]], baseline_agreement: Mapping[str, Mapping],
                 suite: SuiteConfig, *, baseline_run_id: str | None, resamples: int, seed: int,
                 strict: bool = True) -> dict[str, Any]:
    """Each gated candidate against itself in the baseline, on the items both runs have, per metric with a
    threshold; then the agreement statistics against the baseline's. `strict`: a threshold on a metric no
    task reports is an error (the suite's own runs); otherwise a note (two arbitrary runs compared)."""
    if not baseline:
        return {"passed": None, "baseline_run_id": baseline_run_id, "checks": [],
                "notes": ["no baseline: nothing to gate against"]}
    from evals.suite.gate import GateConfigError, GateThreshold, gate_checks

    checks: list[dict[str, Any]] = []
    notes: list[str] = []
    def thresholds_of(task_suite: SuiteConfig) -> list[GateThreshold]:
        return [GateThreshold.parse(m, t, f"{suite.source}: gate.metrics") for m, t in task_suite.gate.metrics.items()]

    known = {a.name for ctx in current.values() for a in ctx.aggregates}
    wanted = {t.metric for name in current for t in thresholds_of(suite.for_task(name))}
    unknown = sorted(wanted - known)
    if unknown and not strict:
        notes.append(f"gate.metrics {unknown}: not reported by these runs; not checked")
    elif unknown:  # a threshold no task reports would never fire: refuse it rather than pass silently
        raise GateConfigError(f"{suite.source}: gate.metrics names {unknown}, which no task of the suite reports; "
                              f"known metrics: {sorted(known)}")
    for task_name, ctx in current.items():
        task_suite = suite.for_task(task_name)
        reported = {a.name for a in ctx.aggregates}
        # Suite-wide thresholds apply to the tasks that report the metric (risk_f1 means nothing to nda_policy).
        thresholds = [t for t in thresholds_of(task_suite) if t.metric in reported]
        base = baseline.get(task_name)
        if base is None:
            notes.append(f"{task_name}: not in the baseline run; not gated")
            continue
        for candidate in ctx.outputs.records:
            if not suite.gated(candidate):
                continue
            if candidate not in base.records:
                notes.append(f"{task_name}/{candidate}: not in the baseline run; not gated")
                continue
            checks.extend(gate_checks(_records(ctx.outputs, candidate), _records(base, candidate), ctx.aggregates,
                                      thresholds, task=task_name, candidate=candidate, resamples=resamples,
                                      seed=seed, alpha=suite.gate.alpha))
        checks.extend(_agreement_checks(task_name, current_tasks.get(task_name, {}).get("agreement") or {},
                                        baseline_agreement.get(task_name) or {}, task_suite))
    return {"passed": not any(c.get("regressed") for c in checks), "baseline_run_id": baseline_run_id,
            "checks": checks, "notes": notes}


def _agreement_checks(task_name: str, current: Mapping[str, Any], baseline: Mapping[str, Any],
                      suite: SuiteConfig) -> list[dict[str, Any]]:
    """Agreement statistic (e.g. spearman of reward vs risk_f1) within each gated candidate, against the
    baseline's: a drop beyond the threshold whose interval clears it counts as a regression."""
    from evals.suite.gate import GateThreshold, gate_scalar

    checks = []
    for who, entry in current.items():
        if not suite.gated(who):
            continue
        base_entry = baseline.get(who) or {}
        for production, stats in (entry.get("production") or {}).items():
            base_stats = (base_entry.get("production") or {}).get(production) or {}
            for statistic, spec in suite.gate.agreement.items():
                now, before = stats.get(statistic) or {}, base_stats.get(statistic) or {}
                if not now or not before:
                    continue
                metric = f"agreement/{statistic}/{production}"
                threshold = GateThreshold.parse(statistic, spec, f"{suite.source}: gate.agreement")
                checks.append(gate_scalar(metric, {**now, "n": stats.get("n")}, before, threshold, task=task_name,
                                          candidate=who))
    return checks
