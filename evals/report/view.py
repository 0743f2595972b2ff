"""Tolerant read access to a nightly.json dict: the one place that knows its shape.

The plots, the HTML and the Markdown all read the contract through these helpers, so a missing key, a null
float or a comparison stored the other way round is handled once, not in every renderer.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

ALPHA = 0.05  # significance level for marking Holm-adjusted p-values
ROLE_ORDER = ("base", "sft", "rft")
# Deltas the report leads with, as (minuend role, subtrahend role): RFT-SFT, then RFT-base.
PREFERRED_DELTAS = (("rft", "sft"), ("rft", "base"))
MAX_FALLBACK_DELTAS = 3


class ReportInputError(ValueError):
    """The nightly dict cannot be rendered; the message names the key and the fix."""


def num(value: Any) -> float:
    """A float, or NaN for None, NaN, booleans and anything non-numeric (the contract writes NaN as null)."""
    if isinstance(value, bool) or value is None:
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def is_num(value: Any) -> bool:
    return not math.isnan(num(value))


def mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def rows(value: Any) -> list[Mapping[str, Any]]:
    if not isinstance(value, Sequence) or isinstance(value, str | bytes):
        return []
    return [r for r in value if isinstance(r, Mapping)]


def check_nightly(nightly: Any) -> Mapping[str, Any]:
    if not isinstance(nightly, Mapping):
        raise ReportInputError(f"nightly must be a mapping (the parsed nightly.json), got {type(nightly).__name__}")
    if not isinstance(nightly.get("tasks"), Mapping):
        raise ReportInputError("nightly.json has no 'tasks' mapping: write one entry per task "
                               "({'<task>': {'candidates': ..., 'comparisons': ...}}), even if empty")
    return nightly


def roles(nightly: Mapping[str, Any]) -> dict[str, str]:
    """role -> candidate, from the top-level mapping, completed by each candidate's own `role` field."""
    found = {str(k): str(v) for k, v in mapping(nightly.get("roles")).items() if v}
    for task in mapping(nightly.get("tasks")).values():
        for name, cand in mapping(mapping(task).get("candidates")).items():
            role = mapping(cand).get("role")
            if role and str(role) not in found:
                found[str(role)] = str(name)
    return found


def task_roles(nightly: Mapping[str, Any], task: Mapping[str, Any]) -> dict[str, str]:
    """role -> candidate for one task: its candidates' own `role` fields first (a suite may give a role to
    another candidate on another task, e.g. a majority-class baseline where a TF-IDF one does not apply)."""
    own = {}
    for name, cand in mapping(mapping(task).get("candidates")).items():
        role = mapping(cand).get("role")
        if role and str(role) not in own:
            own[str(role)] = str(name)
    present = set(mapping(mapping(task).get("candidates")))
    fallback = {r: c for r, c in roles(nightly).items() if r not in own and (not present or c in present)}
    return {**own, **fallback}


def role_of(candidate: str, role_map: Mapping[str, str]) -> str | None:
    for role, name in role_map.items():
        if name == candidate:
            return role
    return None


def candidates(task: Mapping[str, Any], role_map: Mapping[str, str]) -> list[str]:
    """Candidates of a task: base, SFT, RFT first (in that order), then the others as stored."""
    names = [str(n) for n in mapping(task.get("candidates"))]
    by_role = [role_map[r] for r in ROLE_ORDER if role_map.get(r) in names]
    return by_role + [n for n in names if n not in by_role]


def candidate_label(candidate: str, role_map: Mapping[str, str]) -> str:
    role = role_of(candidate, role_map)
    return f"{candidate} ({role.upper() if role in ROLE_ORDER else role})" if role else candidate


def metric_names(task: Mapping[str, Any]) -> list[str]:
    """Every metric any candidate reports, in first-seen order."""
    seen: dict[str, None] = {}
    for cand in mapping(task.get("candidates")).values():
        for name in mapping(mapping(cand).get("metrics")):
            seen.setdefault(str(name), None)
    return list(seen)


@dataclass(frozen=True)
class Value:
    value: float
    ci_low: float
    ci_high: float
    n: int | None


def metric(task: Mapping[str, Any], candidate: str, name: str) -> Value:
    m = mapping(mapping(mapping(mapping(task.get("candidates")).get(candidate)).get("metrics")).get(name))
    n = m.get("n")
    return Value(num(m.get("value")), num(m.get("ci_low")), num(m.get("ci_high")),
                 int(n) if isinstance(n, int | float) and not isinstance(n, bool) and math.isfinite(n) else None)


@dataclass(frozen=True)
class Delta:
    """One paired comparison, oriented as a - b (flipped from the stored row when needed)."""

    metric: str
    a: str
    b: str
    diff: float
    ci_low: float
    ci_high: float
    p_value: float
    p_holm: float
    test: str
    n_pairs: int | None
    wins: int | None
    ties: int | None
    losses: int | None
    higher_is_better: bool
    mde: float = math.nan  # minimum detectable |difference| at 80% power (NaN: none detectable, or not stored)
    has_mde: bool = False  # the row carries an mde (older nightly.json files do not)
    permutations: int | None = None  # 1: no item differs between the two, so no spread to size an MDE on

    @property
    def significant(self) -> bool:
        return is_num(self.p_holm) and self.p_holm < ALPHA

    @property
    def verdict(self) -> str:
        """'better' / 'worse' for a Holm-significant difference in the metric's direction, else 'ns' or 'na'."""
        if not is_num(self.diff):
            return "na"
        if not self.significant or self.diff == 0:
            return "ns"
        return "better" if (self.diff > 0) == self.higher_is_better else "worse"


def _int_or_none(value: Any) -> int | None:
    return int(value) if is_num(value) else None


def _delta(row: Mapping[str, Any], flip: bool) -> Delta:
    sign = -1.0 if flip else 1.0
    low, high = sign * num(row.get("ci_low")), sign * num(row.get("ci_high"))
    wins, losses = _int_or_none(row.get("wins")), _int_or_none(row.get("losses"))
    hib = row.get("higher_is_better")
    return Delta(
        metric=str(row.get("metric", "")), a=str(row.get("b" if flip else "a", "")),
        b=str(row.get("a" if flip else "b", "")), diff=sign * num(row.get("diff")),
        ci_low=min(low, high) if flip else low, ci_high=max(low, high) if flip else high,
        p_value=num(row.get("p_value")), p_holm=num(row.get("p_holm")), test=str(row.get("test") or ""),
        n_pairs=_int_or_none(row.get("n_pairs")), wins=losses if flip else wins, ties=_int_or_none(row.get("ties")),
        losses=wins if flip else losses, higher_is_better=True if hib is None else bool(hib),
        mde=num(row.get("mde")), has_mde="mde" in row, permutations=_int_or_none(row.get("permutations")),
    )


def deltas(task: Mapping[str, Any]) -> list[Delta]:
    """Every stored comparison, as stored (a - b)."""
    return [_delta(r, flip=False) for r in rows(task.get("comparisons"))]


def delta(task: Mapping[str, Any], metric_name: str, a: str, b: str) -> Delta | None:
    """The comparison a - b for a metric, flipping a stored b - a row."""
    for r in rows(task.get("comparisons")):
        if str(r.get("metric")) != metric_name:
            continue
        if (r.get("a"), r.get("b")) == (a, b):
            return _delta(r, flip=False)
        if (r.get("a"), r.get("b")) == (b, a):
            return _delta(r, flip=True)
    return None


def delta_pairs(task: Mapping[str, Any], role_map: Mapping[str, str]) -> list[tuple[str, str]]:
    """The (a, b) pairs to show as delta columns: RFT-SFT and RFT-base when those roles have comparisons,
    otherwise the pairs the comparisons hold (first few, in stored order)."""
    stored = [(str(r.get("a")), str(r.get("b"))) for r in rows(task.get("comparisons"))]
    present = set(stored) | {(b, a) for a, b in stored}
    pairs = [(role_map[x], role_map[y]) for x, y in PREFERRED_DELTAS
             if x in role_map and y in role_map and (role_map[x], role_map[y]) in present]
    if pairs:
        return pairs
    unique = list(dict.fromkeys(stored))
    return unique[:MAX_FALLBACK_DELTAS]


def higher_is_better(task: Mapping[str, Any], metric_name: str) -> bool:
    for r in rows(task.get("comparisons")):
        if str(r.get("metric")) == metric_name and r.get("higher_is_better") is not None:
            return bool(r.get("higher_is_better"))
    return True


def gate_checks(nightly: Mapping[str, Any], task_name: str | None = None, regressed_only: bool = True
                ) -> list[Mapping[str, Any]]:
    checks = rows(mapping(nightly.get("gate")).get("checks"))
    return [c for c in checks if (not regressed_only or c.get("regressed"))
            and (task_name is None or str(c.get("task")) == task_name)]


def gate_status(nightly: Mapping[str, Any]) -> str:
    """'passed', 'failed' or 'none' (no gate, e.g. the first night without a baseline)."""
    gate = nightly.get("gate")
    if not isinstance(gate, Mapping) or gate.get("passed") is None:
        return "none"
    return "passed" if gate.get("passed") else "failed"


def usage(task: Mapping[str, Any], candidate: str, key: str) -> float:
    return num(mapping(mapping(mapping(task.get("candidates")).get(candidate)).get("usage")).get(key))


def agreement_entries(task: Mapping[str, Any], candidate_order: Iterable[str]
                      ) -> list[tuple[str, Mapping[str, Any]]]:
    """(who, entry) for each agreement block: candidates in order, then the others ('pooled', which older
    nightly.json files have, last)."""
    agreement = mapping(task.get("agreement"))
    order = [c for c in candidate_order if c in agreement]
    rest = [str(k) for k in agreement if k not in order and k != "pooled"]
    tail = ["pooled"] if "pooled" in agreement else []
    return [(who, mapping(agreement[who])) for who in order + rest + tail]


def ranked_regressions(task: Mapping[str, Any], pairs: Sequence[tuple[str, str]], limit: int = 3,
                       first: Iterable[str] = ()) -> list[Delta]:
    """The significant drops among the shown delta pairs: metrics in `first` (the gate's) lead, then largest."""
    lead = set(first)
    names = dict.fromkeys(metric_names(task) + [str(r.get("metric")) for r in rows(task.get("comparisons"))])
    worse = [d for a, b in pairs for name in names
             if (d := delta(task, name, a, b)) is not None and d.verdict == "worse"]
    return sorted(worse, key=lambda d: (d.metric not in lead, -abs(d.diff)))[:limit]
