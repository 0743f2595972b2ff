"""Suite-level results: each role (base, SFT, RFT) across every task of the night. Tasks measure different
things, so the one number that spans them is the training reward each task defines (a macro average over the
tasks, each task weighing the same), next to the summed cost and errored items.

The average runs over the tasks EVERY role has a reward on (`common_tasks`): a role seen on fewer tasks (SFT
skipped on some) would otherwise be averaged over other tasks than the others, and the means would not
compare. Roles missing from some task are listed in `notes`."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any


def _number(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else math.nan


def suite_summary(tasks: Mapping[str, Mapping[str, Any]], reward_metric: str = "reward") -> dict[str, Any]:
    """{"by_role": {role: {"tasks", "reward_macro", "cost_usd", "errors", "per_task": {task: {...}}}}} from the
    `tasks` section of nightly.json (each candidate there carries its role)."""
    by_role: dict[str, dict[str, Any]] = {}
    for task_name, task in tasks.items():
        for candidate, entry in (task.get("candidates") or {}).items():
            role = entry.get("role")
            if not role:
                continue
            row = by_role.setdefault(str(role), {"per_task": {}, "cost_usd": 0.0, "errors": 0})
            reward = _number(((entry.get("metrics") or {}).get(reward_metric) or {}).get("value"))
            cost = _number((entry.get("usage") or {}).get("usage/cost_usd"))
            # items with an error (a truncated, unparseable answer is one item, not two)
            errors = entry.get("errored_items")
            if not isinstance(errors, int):
                errors = sum(int(n) for n in (entry.get("errors") or {}).values())
            row["per_task"][task_name] = {"candidate": candidate, "reward": reward, "cost_usd": cost,
                                          "errors": errors, "n": entry.get("n")}
            row["cost_usd"] += 0.0 if math.isnan(cost) else cost
            row["errors"] += errors
    with_reward = [{t for t, v in row["per_task"].items() if not math.isnan(v["reward"])} for row in by_role.values()]
    common = sorted(set.intersection(*with_reward)) if with_reward else []
    notes = []
    for role, row in by_role.items():
        rewards = [row["per_task"][t]["reward"] for t in common]
        row["tasks"] = len(row["per_task"])
        row["tasks_with_reward"] = sum(1 for v in row["per_task"].values() if not math.isnan(v["reward"]))
        row["reward_macro"] = sum(rewards) / len(rewards) if rewards else math.nan
        left_out = sorted(t for t, v in row["per_task"].items() if t not in common and not math.isnan(v["reward"]))
        if left_out:
            notes.append(f"{role}: {', '.join(left_out)} not in the mean (not every role ran there)")
    return {"reward_metric": reward_metric, "common_tasks": common, "by_role": by_role, "notes": notes}


def summary_metrics(summary: Mapping[str, Any]) -> dict[str, float]:
    """Flat MLflow metrics of the suite run: suite/<role>/reward_macro, cost_usd, errors."""
    metrics: dict[str, float] = {}
    for role, row in (summary.get("by_role") or {}).items():
        for key in ("reward_macro", "cost_usd", "errors", "tasks"):
            value = _number(row.get(key))
            if not math.isnan(value):
                metrics[f"suite/{role}/{key}"] = value
    return metrics
