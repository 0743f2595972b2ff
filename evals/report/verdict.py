"""The decision a reader needs first, as data both renderers share: per task, the headline metrics of the
roles (base, SFT, RFT) with the paired differences between them, and what the night's sample could detect.

Headline metrics: the task's own list in nightly.json (`headline_metrics`: the gated metrics, the agreement's
production metrics and the reward) or, for older files, its first three metrics."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from evals.report import view

FALLBACK_HEADLINES = 3
TEST_NOTE = ("Every difference is paired (same items) and tested with one test for every metric kind, the paired "
             "permutation test (exact when few items differ); its 95% interval comes from the same test, so it "
             "excludes 0 exactly when p < 0.05. p_holm adjusts over a pair's metrics; ▲/▼ mark p_holm < 0.05. "
             "MDE: the smallest difference the test would find with 80% power at this sample size.")


@dataclass(frozen=True)
class VerdictRow:
    task: str
    metric: str
    n_items: int | None
    values: dict[str, view.Value]  # candidate -> its value
    deltas: list[view.Delta | None]  # one per pair of `pairs`
    gated: bool


@dataclass(frozen=True)
class Verdict:
    pairs_by_task: dict[str, list[tuple[str, str]]]
    roles_by_task: dict[str, dict[str, str]]
    rows: list[VerdictRow]

    @property
    def pair_titles(self) -> list[str]:
        """Column titles over every task: the role pairs (RFT − SFT, RFT − BASE, …) in first-seen order."""
        seen: dict[str, None] = {}
        for task, pairs in self.pairs_by_task.items():
            for a, b in pairs:
                seen.setdefault(pair_title(a, b, self.roles_by_task[task]), None)
        return list(seen)

    def delta_for(self, row: VerdictRow, title: str) -> view.Delta | None:
        pairs = self.pairs_by_task.get(row.task, [])
        for (a, b), d in zip(pairs, row.deltas, strict=True):
            if pair_title(a, b, self.roles_by_task[row.task]) == title:
                return d
        return None


def pair_title(a: str, b: str, role_map: Mapping[str, str]) -> str:
    ra, rb = view.role_of(a, role_map), view.role_of(b, role_map)
    return f"{ra.upper()} − {rb.upper()}" if ra and rb else f"{a} − {b}"


def headline_metrics(task: Mapping[str, Any]) -> list[str]:
    names = view.metric_names(task)
    listed = [str(m) for m in task.get("headline_metrics") or [] if str(m) in names]
    return listed or names[:FALLBACK_HEADLINES]


def verdict(nightly: Mapping[str, Any]) -> Verdict:
    pairs_by_task, roles_by_task, rows = {}, {}, []
    gated = {(str(c.get("task")), str(c.get("metric"))) for c in view.gate_checks(nightly, regressed_only=False)}
    for name, task in view.mapping(nightly.get("tasks")).items():
        task = view.mapping(task)
        role_map = view.task_roles(nightly, task)
        pairs = view.delta_pairs(task, role_map)
        pairs_by_task[str(name)], roles_by_task[str(name)] = pairs, role_map
        candidates = view.candidates(task, role_map)
        n_items = task.get("n_items")
        for metric in headline_metrics(task):
            rows.append(VerdictRow(
                task=str(name), metric=metric, n_items=int(n_items) if view.is_num(n_items) else None,
                values={c: view.metric(task, c, metric) for c in candidates},
                deltas=[view.delta(task, metric, a, b) for a, b in pairs], gated=(str(name), metric) in gated))
    return Verdict(pairs_by_task, roles_by_task, rows)


def role_columns(nightly: Mapping[str, Any]) -> list[str]:
    """The roles present in any task, in base, SFT, RFT order."""
    present = {r for task in view.mapping(nightly.get("tasks")).values()
               for r in view.task_roles(nightly, view.mapping(task))}
    return [r for r in view.ROLE_ORDER if r in present]


def value_of_role(v: Verdict, row: VerdictRow, role: str) -> view.Value | None:
    candidate = v.roles_by_task.get(row.task, {}).get(role)
    return row.values.get(candidate) if candidate else None


def _mde_text(entries: Sequence[tuple[str, float, Any]], limit: int, identical: int = 0) -> str:
    """'<what> <mde> (n=...)' for the detectable ones, then how many could detect nothing at all, then how many
    had no item change (no spread to size an MDE on)."""
    shown = [f"{what} {mde:.3f}" + (f" (n={n})" if n is not None else "")
             for what, mde, n in entries if not math.isnan(mde)][:limit]
    hopeless = [(what, n) for what, mde, n in entries if math.isnan(mde)]
    detectable = sum(1 for _, mde, _ in entries if not math.isnan(mde))
    text = "; ".join(shown) + (f" and {detectable - limit} more" if detectable > limit else "")
    if hopeless:
        sizes = sorted({int(n) for _, n in hopeless if n is not None})
        size = f" (n={sizes[0]}{'–' + str(sizes[-1]) if len(sizes) > 1 else ''})" if sizes else ""
        text += ("; " if text else "") + (f"{len(hopeless)} too small for any difference to reach p < 0.05"
                                          f"{size}")
    if identical:
        text += ("; " if text else "") + f"{identical} with no item changed (nothing to size an MDE on)"
    return text


def mde_sentence(nightly: Mapping[str, Any], limit: int = 6) -> str | None:
    """What tonight's sample could detect, from the gate checks (or, without a gate, the verdict's comparisons)."""
    checks = view.gate_checks(nightly, regressed_only=False)
    if checks:
        entries = [(f"{c.get('task')}/{c.get('candidate')} {c.get('metric')}", view.num(c.get("mde")), c.get("n"))
                   for c in checks if not c.get("identical")]
        same = sum(1 for c in checks if c.get("identical"))
        return ("Smallest drop the gate could detect with 80% power at tonight's sample size: "
                + _mde_text(entries, limit, same) + ".")
    entries, same = [], 0
    for row in verdict(nightly).rows:
        d = next((d for d in row.deltas if d is not None and d.has_mde), None)
        if d is None:
            continue
        if d.permutations == 1:
            same += 1
        else:
            entries.append((f"{row.task} {row.metric}", view.num(d.mde), d.n_pairs))
    if not entries and not same:
        return None
    return ("Smallest difference detectable with 80% power at tonight's sample size: "
            + _mde_text(entries, limit, same) + ".")


def significant_summary(rows: Sequence[VerdictRow]) -> tuple[int, int, int]:
    """(better, worse, not significant) over every delta of the verdict table."""
    better = worse = ns = 0
    for row in rows:
        for d in row.deltas:
            if d is None:
                continue
            if d.verdict == "better":
                better += 1
            elif d.verdict == "worse":
                worse += 1
            else:
                ns += 1
    return better, worse, ns
