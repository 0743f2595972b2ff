"""nightly.json as flat MLflow metrics, so every figure of a night charts across nights.

Keys use roles where a candidate has one (`compare/rft-sft/risk_f1/diff`), so a chart survives a change of
model behind a role; candidates without a role use their name. Per task (logged on the task's run, and on the
suite run with the task name in front):

- compare/<a>-<b>/<metric>/{diff, ci_low, ci_high, p_value, p_holm, mde, wins, ties, losses}
- agreement/<candidate>/<production metric>/{spearman, kendall, kappa, auroc, n} (within the candidate)
- policy_agreement/<production metric>/{kendall, spearman, discordant_pairs, candidates}
- gate/<candidate>/<metric>/{delta, p_value, mde, regressed}

Undefined values (NaN, null) are left out: MLflow charts no NaN. Zeros stay."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

COMPARISON_FIELDS = ("diff", "ci_low", "ci_high", "p_value", "p_holm", "mde", "wins", "ties", "losses")
AGREEMENT_STATS = ("spearman", "kendall", "kappa", "auroc")


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    return None


def _key(*parts: Any) -> str:
    """An MLflow metric key: letters, digits and _-./ only (a candidate name may hold anything)."""
    return "/".join(re.sub(r"[^A-Za-z0-9_.\-/ ]+", "_", str(p)) for p in parts)[:250]


def _label(candidate: str, candidates: Mapping[str, Any]) -> str:
    role = (candidates.get(candidate) or {}).get("role")
    return str(role) if role else str(candidate)


def task_metrics(task_name: str, task: Mapping[str, Any], gate: Mapping[str, Any] | None = None
                 ) -> dict[str, float]:
    """The flat metrics of one task's section of nightly.json (and its gate checks)."""
    candidates = task.get("candidates") or {}
    out: dict[str, float] = {}

    def put(key: str, value: Any) -> None:
        number = _number(value)
        if number is not None:
            out[key] = number

    for row in task.get("comparisons") or []:
        pair = f"{_label(row.get('a'), candidates)}-{_label(row.get('b'), candidates)}"
        for field in COMPARISON_FIELDS:
            put(_key("compare", pair, row.get("metric"), field), row.get(field))
    for who, block in (task.get("agreement") or {}).items():
        for production, stats in (block.get("production") or {}).items():
            put(_key("agreement", _label(who, candidates), production, "n"), stats.get("n"))
            for name in AGREEMENT_STATS:
                put(_key("agreement", _label(who, candidates), production, name), (stats.get(name) or {}).get("value"))
    for production, entry in ((task.get("policy_agreement") or {}).get("production") or {}).items():
        put(_key("policy_agreement", production, "kendall"), entry.get("kendall"))
        put(_key("policy_agreement", production, "spearman"), entry.get("spearman"))
        put(_key("policy_agreement", production, "candidates"), entry.get("n"))
        put(_key("policy_agreement", production, "discordant_pairs"), len(entry.get("discordant") or []))
    for check in (gate or {}).get("checks") or []:
        if check.get("task") != task_name:
            continue
        base = _key("gate", _label(check.get("candidate"), candidates), check.get("metric"))
        for field in ("delta", "p_value", "mde", "regressed"):
            put(f"{base}/{field}", check.get(field))
    return out


def suite_task_metrics(nightly: Mapping[str, Any]) -> dict[str, float]:
    """Every task's metrics with the task name in front, for the suite run."""
    out: dict[str, float] = {}
    for name, task in (nightly.get("tasks") or {}).items():
        out.update({_key(name, key): value for key, value in task_metrics(name, task, nightly.get("gate")).items()})
    return out
