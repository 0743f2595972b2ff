"""What MLflow shows per sample: the `samples.json` table and one trace per sample with its assessments.

The table has, per item: the input (document excerpt), the gold answer, the output, the errors, and one
column per run-level metric of the candidate holding that sample's own score (evals/samples/scores.py: risk_f1
is the sample's F1 from its tp/fp/fn, grounding its own ratio; null only where the sample's score is
undefined, e.g. a ratio with nothing to divide by, or the sample was not scored).

Traces are MLflow 3's per-sample evaluation records: a span with the input and the output, linked to the
candidate's run, an expectation (the gold answer) and feedback per metric (source CODE), per reward (its
components as the rationale) and per judge verdict (source LLM_JUDGE, the judge's justification as the
rationale). MLflow's evaluation view then compares candidates sample by sample. A large run logs a seeded
sample of its records (`limit`); the counts are returned so the caller can log them."""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from evals.samples.records import SampleRecord
from evals.tracking.redact import redact_text
from evals.samples.scores import sample_score
from metrics.aggregates import Aggregate

log = logging.getLogger(__name__)

INPUT_CHARS = 3000
GOLD_CHARS = 3000
OUTPUT_CHARS = 6000
DEFAULT_TABLE_ROWS = 2000  # rows of samples.json on a large run (a seeded sample; the records file has all)
DEFAULT_TRACES = 50  # traces per candidate (a seeded sample on larger runs)


@dataclass(frozen=True)
class ItemText:
    """What a sample row shows of its item."""

    input: str
    gold: str


ItemLookup = Callable[[Sequence[str]], Mapping[str, ItemText]]  # item ids -> their texts


def _clip(text: str | None, limit: int) -> str:
    text = "" if text is None else str(text)
    return text if len(text) <= limit else text[:limit].rstrip() + " …[truncated]"


def item_texts(task: Any, items: Sequence[Mapping[str, Any]]) -> ItemLookup:
    """A lookup of input and gold text by item id over the run's items (read only for the ids asked for)."""
    position: dict[str, int] | None = None

    def lookup(ids: Sequence[str]) -> dict[str, ItemText]:
        nonlocal position
        if position is None:
            all_ids = items.ids() if hasattr(items, "ids") else [str(i["id"]) for i in items]
            position = {item_id: i for i, item_id in enumerate(all_ids)}
        out = {}
        for item_id in ids:
            index = position.get(str(item_id))
            if index is None:
                continue
            item = items[index]
            try:
                gold = task.render_gold(item)
            except Exception as exc:  # noqa: BLE001 - a task without a renderable gold still shows its input
                gold = f"(gold not renderable: {type(exc).__name__})"
            out[str(item_id)] = ItemText(_clip(item.get("document"), INPUT_CHARS), _clip(gold, GOLD_CHARS))
        return out

    return lookup


def chosen(records: Sequence[SampleRecord], limit: int | None, seed: int = 0) -> list[SampleRecord]:
    """Up to `limit` records with their output kept (a seeded sample, in item order); all when limit is None."""
    full = [r for r in records if r.output is not None or not r.scored]
    if limit is None or len(full) <= limit:
        return full
    keep = set(random.Random(seed).sample(range(len(full)), limit))
    return [r for i, r in enumerate(full) if i in keep]


def _score(aggregate: Aggregate, record: SampleRecord) -> float | None:
    if not record.scored:
        return None
    value = sample_score(aggregate, record.values)
    return None if math.isnan(value) else round(value, 6)


def sample_table(records: Sequence[SampleRecord], aggregates: Sequence[Aggregate],
                 texts: ItemLookup | None = None, *, limit: int | None = DEFAULT_TABLE_ROWS,
                 seed: int = 0) -> dict[str, list[Any]]:
    """The per-sample table logged to MLflow as samples.json: one row per item, a column per metric."""
    rows = chosen(records, limit, seed)
    looked_up = texts([r.item_id for r in rows]) if texts is not None else {}
    table: dict[str, list[Any]] = {"item_id": [], "input": [], "gold": [], "output": [], "errors": [],
                                   "stop_reason": [], "cached": []}
    names = [a.name for a in aggregates]
    for name in names:
        table[name] = []
    for record in rows:
        text = looked_up.get(record.item_id)
        table["item_id"].append(record.item_id)
        table["input"].append(redact_text(text.input) if text else "")
        table["gold"].append(text.gold if text else "")
        table["output"].append(_clip(record.output, OUTPUT_CHARS))
        table["errors"].append(",".join(e.get("kind", "") for e in record.errors))
        table["stop_reason"].append(record.stop_reason)
        table["cached"].append(record.cached)
        for aggregate in aggregates:
            table[aggregate.name].append(_score(aggregate, record))
    return table


# --- traces ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Assessment:
    kind: str  # expectation | feedback
    name: str
    value: Any
    source_type: str = "CODE"  # CODE | LLM_JUDGE | HUMAN
    source_id: str = "rft-evals"
    rationale: str | None = None


def _reward_rationale(details: Mapping[str, Any]) -> str | None:
    reward = details.get("reward")
    if not isinstance(reward, Mapping):
        return None
    parts = [f"{c.get('name')}={c.get('value')}" for c in reward.get("components") or [] if isinstance(c, Mapping)]
    if reward.get("gate"):
        parts.append(f"gate failed: {reward['gate']}")
    return ", ".join(parts) or None


def assessments(record: SampleRecord, aggregates: Sequence[Aggregate], text: ItemText | None
                ) -> list[Assessment]:
    """The gold answer, a feedback per metric the sample has a score for, the reward with its components and
    each judge verdict with its justification."""
    out = []
    if text is not None and text.gold:
        out.append(Assessment("expectation", "gold", text.gold, source_type="HUMAN", source_id="task gold"))
    for aggregate in aggregates:
        value = _score(aggregate, record)
        if value is None:
            continue
        rationale = _reward_rationale(record.details) if aggregate.name == "reward" else None
        out.append(Assessment("feedback", aggregate.name, value, rationale=rationale))
    judge = record.details.get("judge") if isinstance(record.details, Mapping) else None
    if isinstance(judge, Mapping):
        for criterion, verdict in (judge.get("verdicts") or {}).items():
            if not isinstance(verdict, Mapping):
                continue
            value = verdict.get("verdict")
            out.append(Assessment("feedback", f"judge/{criterion}",
                                  value if isinstance(value, bool | int | float | str) else str(value),
                                  source_type="LLM_JUDGE", source_id=str(judge.get("judge") or "judge"),
                                  rationale=redact_text(str(verdict.get("justification") or "")) or None))
    if record.errors:
        out.append(Assessment("feedback", "errors", ",".join(e.get("kind", "") for e in record.errors)))
    return out


def log_traces(mlflow: Any, run_id: str, records: Sequence[SampleRecord], aggregates: Sequence[Aggregate],
               texts: ItemLookup | None, *, task: str, candidate: str, role: str,
               limit: int | None = DEFAULT_TRACES, seed: int = 0) -> int:
    """One trace per chosen sample, linked to the candidate's run; returns how many were logged."""
    from mlflow.entities import AssessmentSource

    rows = chosen(records, limit, seed)
    looked_up = texts([r.item_id for r in rows]) if texts is not None else {}
    logged = []
    for record in rows:
        text = looked_up.get(record.item_id)
        with mlflow.start_span(name=f"{task}/{candidate}", span_type="CHAIN", run_id=run_id) as span:
            span.set_inputs({"item_id": record.item_id, "document": redact_text(text.input) if text else ""})
            span.set_outputs({"output": _clip(record.output, OUTPUT_CHARS)})
            span.set_attributes({"task": task, "candidate": candidate, "role": role,
                                 "stop_reason": record.stop_reason, "cached": record.cached})
            mlflow.update_current_trace(tags={"task": task, "candidate": candidate, "role": role,
                                              "item_id": record.item_id})
            logged.append((span.trace_id, record, text))
    flush = getattr(mlflow, "flush_trace_async_logging", None)
    if flush is not None:
        flush()  # the assessments below need the traces stored
    for trace_id, record, text in logged:
        for a in assessments(record, aggregates, text):
            source = AssessmentSource(source_type=a.source_type, source_id=a.source_id)
            if a.kind == "expectation":
                mlflow.log_expectation(trace_id=trace_id, name=a.name, value=a.value, source=source)
            else:
                mlflow.log_feedback(trace_id=trace_id, name=a.name, value=a.value, source=source,
                                    rationale=a.rationale)
    return len(logged)


# --- names and descriptions -----------------------------------------------------------------------------


def candidate_run_name(name: str, role: str | None) -> str:
    """`RFT · tfidf_baseline`: the role first, so a run list reads as base / SFT / RFT."""
    return f"{role.upper()} · {name}" if role and role != "candidate" else name


def candidate_description(task: str, name: str, role: str | None, entry: Mapping[str, Any]) -> str:
    """The candidate run's MLflow description: what it is and its headline numbers, in Markdown."""
    lines = [f"**{candidate_run_name(name, role)}** on `{task}`: {entry.get('scored', 0)} of {entry.get('n', 0)} "
             f"items scored, model `{entry.get('model_id')}`.", "", "| metric | value | 95% CI |", "|---|---|---|"]
    for metric, e in (entry.get("metrics") or {}).items():
        if "/" in metric:
            continue
        value, low, high = (e.get(k) for k in ("value", "ci_low", "ci_high"))
        fmt = (lambda x: "n/a" if not isinstance(x, int | float) or x != x else f"{x:.3f}")  # noqa: E731
        lines.append(f"| {metric} | {fmt(value)} | [{fmt(low)}, {fmt(high)}] |")
    errors = entry.get("errors") or {}
    lines += ["", "Errors: " + (", ".join(f"{k} {v}" for k, v in errors.items()) if errors else "none") + ".",
              "", "Per sample: the Traces / Evaluations tab (a sample of items with their assessments) and "
              "samples.json (input, gold, output and every metric)."]
    return "\n".join(lines)
