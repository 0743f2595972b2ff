"""Pairwise-judge win rates between candidates: for each pair (a, b) and each item both answered, the
pairwise judge (metrics/judges/pairwise, both orders) says which answer is better; the per-item outcomes
become a `pairwise_judge` row of nightly.json (evals.stats.paired.win_rate). The judge runs through the same
engine path as every other judge (evals.judging.judge.run_judge), cached, so a rerun on the same outputs is free."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from evals.inference.cache import GenerationCache
from evals.judging.judge import run_judge
from evals.stats.paired import win_rate
from evals.providers.registry import ProviderContext
from evals.samples.records import SampleRecord
from metrics.judges.pairwise import A, B, TIE
from metrics.judges.types import JudgeSample
from metrics.types import SampleScore
from tasks.capabilities import reference_text_of


def outcome(score: SampleScore) -> str | None:
    """One judged pair -> "a" | "b" | "tie" | "inconsistent"; None when no order could be read."""
    winner = score.details.get("winner")
    if winner is None:
        return None
    if winner == TIE:
        return "tie" if score.values.get("pair_consistent", 1.0) >= 1.0 else "inconsistent"
    return {A: "a", B: "b"}[winner]


def pair_samples(task: Any, items: Mapping[str, Mapping[str, Any]], a: Sequence[SampleRecord],
                 b: Sequence[SampleRecord]) -> list[JudgeSample]:
    """One sample per item both candidates answered; the document is the item's text, the reference the
    task's guidance (the playbook for contract review)."""
    b_by_item = {r.item_id: r for r in b}
    reference = reference_text_of(task)
    samples = []
    for record in a:
        other = b_by_item.get(record.item_id)
        item = items.get(record.item_id)
        if other is None or item is None or record.output is None or other.output is None:
            continue
        samples.append(JudgeSample(id=record.item_id, response=record.output, other=other.output,
                                   document=str(item.get("document", "")), reference=reference))
    return samples


def judge_pairs(task: Any, items: Mapping[str, Mapping[str, Any]],
                records_by_candidate: Mapping[str, Sequence[SampleRecord]], pairs: Sequence[tuple[str, str]],
                judge_cfg: Mapping[str, Any], *, cache: GenerationCache | None,
                context: ProviderContext | None = None) -> list[dict[str, Any]]:
    rows = []
    for a, b in pairs:
        samples = pair_samples(task, items, records_by_candidate[a], records_by_candidate[b])
        if not samples:
            continue
        run = run_judge(judge_cfg, samples, cache=cache, context=context, repeats=1,
                        progress=f"pairwise {a} vs {b}")
        outcomes = [o for o in (outcome(j.score) for j in run.judged if j.repeat == 0) if o is not None]
        row = win_rate(outcomes, a=a, b=b)
        row["unread"] = len(samples) - len(outcomes)  # pairs whose verdict could not be read in either order
        row["judge"] = run.name
        row["judge_model_id"] = run.model_id
        rows.append(row)
    return rows
