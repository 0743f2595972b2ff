"""What a run prints: a table per candidate (metric, value, 95% CI, n) with its errors and usage."""

from __future__ import annotations

import math
from collections.abc import Sequence

from rich.console import Console
from rich.table import Table

from evals.run.runner import CandidateResult


# per-category metrics printed as one table each (candidates in columns): risk F1 per risk category (contract
# review), F1 per class (classification tasks: unfair_tos, config tasks with `classification`)
CATEGORY_PREFIXES = ("risk_f1/", "f1/")


def _fmt(value: float) -> str:
    return "—" if value is None or math.isnan(value) else f"{value:.3f}"


def candidate_table(result: CandidateResult, *, include_prefixes: Sequence[str] = ()) -> Table:
    scored = sum(1 for r in result.records if r.scored)
    title = (f"{result.name}  [dim]({result.role}, {result.provider}: {result.model_id})[/dim]  "
             f"scored {scored}/{len(result.records)}, model calls {result.model_calls}")
    table = Table(title=title, title_justify="left")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_column("95% CI", justify="right")
    table.add_column("n", justify="right")
    for estimate in result.estimates:
        if "/" in estimate.name and not any(estimate.name.startswith(p) for p in include_prefixes):
            continue  # per-category rows go to the category table
        table.add_row(estimate.name, _fmt(estimate.value),
                      f"[{_fmt(estimate.ci_low)}, {_fmt(estimate.ci_high)}]", str(estimate.n))
    errors = ", ".join(f"{kind}: {count}" for kind, count in sorted(result.errors.items())) or "none"
    table.caption = f"errors: {errors}"
    table.caption_justify = "left"
    return table


def category_table(results: Sequence[CandidateResult], prefix: str = "risk_f1/") -> Table | None:
    names = [e.name for e in results[0].estimates if e.name.startswith(prefix)] if results else []
    if not names:
        return None
    table = Table(title=f"{prefix.rstrip('/')} per category", title_justify="left")
    table.add_column("category")
    for result in results:
        table.add_column(result.name, justify="right")
    for name in names:
        row = [name.removeprefix(prefix)]
        for result in results:
            estimate = next((e for e in result.estimates if e.name == name), None)
            row.append(_fmt(estimate.value) if estimate else "—")
        table.add_row(*row)
    return table


def print_results(results: Sequence[CandidateResult], console: Console | None = None) -> None:
    console = console or Console()
    for result in results:
        console.print(candidate_table(result, include_prefixes=("judge/",)))
        console.print(result.usage.table())
        if result.judge_usage is not None:
            console.print(result.judge_usage.table())
    for prefix in CATEGORY_PREFIXES:
        table = category_table(results, prefix)
        if table is not None:
            console.print(table)
