"""A compact Markdown summary for CI logs and chat: the decision table first (RFT vs SFT vs base on the
headline metrics, with the test that produced each figure), then the gate with what tonight's sample could
detect, then a short table per task.

Kept short on purpose (about a dozen lines per task): each task shows its headline metrics, chosen as the
gate-flagged ones, then the significant deltas, then the first metrics; the HTML report has the rest.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from evals.report import fmt, sweep, verdict, view

MAX_METRIC_ROWS = 4
MAX_GATE_LINES = 8


def cell(value: Any) -> str:
    """A data string made safe inside a Markdown table cell (pipes, tags, backticks, newlines)."""
    s = "" if value is None else str(value)
    for raw, safe in (("\\", "\\\\"), ("|", "\\|"), ("`", "\\`"), ("*", "\\*"), ("<", "&lt;"), (">", "&gt;")):
        s = s.replace(raw, safe)
    return " ".join(s.split())


def _stand_in_lines(nightly: Mapping[str, Any]) -> list[str]:
    text = nightly.get("stand_ins")
    return [f"> **Stand-in roles.** {cell(text)}", ""] if text else []


def _sweep_lines(nightly: Mapping[str, Any]) -> list[str]:
    data = view.mapping(nightly.get("sweep"))
    if not data:
        return []
    if not data.get("curves"):
        return [f"**Checkpoint sweep:** {cell(data.get('note') or 'no curves')}", ""]
    return [sweep.markdown(data, heading="###"), ""]


def _verdict_cell(d: view.Delta | None) -> str:
    if d is None:
        return fmt.MISSING
    mark = {"better": " ▲", "worse": " ▼"}.get(d.verdict, "")
    p = f"p_holm={fmt.p_value(d.p_holm)}" if view.is_num(d.p_holm) else f"p={fmt.p_value(d.p_value)}"
    return f"{fmt.number(d.diff, signed=True)}{mark} {fmt.interval(d.ci_low, d.ci_high, True)} {p}"


def _verdict_lines(nightly: Mapping[str, Any]) -> list[str]:
    v = verdict.verdict(nightly)
    if not v.rows:
        return []
    roles, titles = verdict.role_columns(nightly), v.pair_titles
    header = ["task", "metric", *[r.upper() for r in roles], *titles]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in v.rows:
        values = [verdict.value_of_role(v, row, r) for r in roles]
        metric = f"**{cell(row.metric)}**" if row.gated else cell(row.metric)
        lines.append("| " + " | ".join([cell(row.task), metric,
                                        *[fmt.MISSING if x is None else fmt.number(x.value) for x in values],
                                        *[_verdict_cell(v.delta_for(row, t)) for t in titles]]) + " |")
    return ["**Verdict** (headline metrics; bold = gated):", "", *lines, "",
            "Test: paired permutation test for every metric kind; the 95% CI comes from the same test "
            "(it excludes 0 exactly when p < 0.05); p_holm over a pair's metrics.", ""]


def _gate_lines(nightly: Mapping[str, Any]) -> list[str]:
    status = view.gate_status(nightly)
    against = view.mapping(nightly.get("gate")).get("baseline_run_id") or \
        view.mapping(nightly.get("baseline")).get("run_id")
    vs = f" vs baseline `{cell(against)}`" if against else ""
    mde = verdict.mde_sentence(nightly)
    tail = [mde] if mde else []
    if status == "none":
        return ["**Gate: not evaluated** (no baseline run).", *tail]
    if status == "passed":
        n = len(view.gate_checks(nightly, regressed_only=False))
        return [f"**Gate: PASSED**{vs} ({n} checks, no regression).", *tail]
    regressed = view.gate_checks(nightly)
    lines = [f"**Gate: FAILED**{vs}: {len(regressed)} regression{'s' * (len(regressed) != 1)}"]
    for c in regressed[:MAX_GATE_LINES]:
        limit = fmt.threshold(c.get("threshold"), c.get("threshold_kind"))
        lines.append(
            f"- {cell(c.get('task'))} / {cell(c.get('candidate'))} / **{cell(c.get('metric'))}**: "
            f"{fmt.number(c.get('baseline'))} → {fmt.number(c.get('current'))} "
            f"(Δ {fmt.number(c.get('delta'), signed=True)} {fmt.interval(c.get('ci_low'), c.get('ci_high'), True)}, "
            f"p={fmt.p_value(c.get('p_value'))}, threshold {limit})")
    if len(regressed) > MAX_GATE_LINES:
        lines.append(f"- … {len(regressed) - MAX_GATE_LINES} more in the HTML report")
    return lines + tail


def headline_metrics(task: Mapping[str, Any], pairs: Sequence[tuple[str, str]], flagged: set[str],
                     limit: int = MAX_METRIC_ROWS) -> list[str]:
    """Up to `limit` metrics, in table order: gate-flagged first, then significant deltas, then the rest."""
    names = view.metric_names(task)

    def rank(name: str) -> int:
        verdicts = {d.verdict for a, b in pairs if (d := view.delta(task, name, a, b)) is not None}
        return 0 if name in flagged else 1 if "worse" in verdicts else 2 if "better" in verdicts else 3

    chosen = set(sorted(names, key=lambda n: (rank(n), names.index(n)))[:limit])
    return [n for n in names if n in chosen]


def _delta_text(d: view.Delta | None) -> str:
    if d is None:
        return fmt.MISSING
    mark = {"better": " ▲", "worse": " ▼"}.get(d.verdict, "")
    return f"{fmt.number(d.diff, signed=True)}{mark}"


def _task_lines(name: str, task: Mapping[str, Any], role_map: Mapping[str, str],
                nightly: Mapping[str, Any]) -> list[str]:
    candidates = view.candidates(task, role_map)
    pairs = view.delta_pairs(task, role_map)
    flagged = {str(c.get("metric")) for c in view.gate_checks(nightly, name)}
    names = headline_metrics(task, pairs, flagged)
    all_names = view.metric_names(task)

    def who(c: str) -> str:
        role = view.role_of(c, role_map)
        return f"{cell(c)} ({role.upper()})" if role else cell(c)

    def pair_head(a: str, b: str) -> str:
        ra, rb = view.role_of(a, role_map), view.role_of(b, role_map)
        return f"{ra.upper()}−{rb.upper()}" if ra and rb else f"{cell(a)}−{cell(b)}"

    lines = [f"### {cell(name)} ({task.get('n_items', fmt.MISSING)} items)", ""]
    if not names:
        return lines + ["No metrics recorded.", ""]
    header = ["metric", *[who(c) for c in candidates], *[pair_head(a, b) for a, b in pairs]]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for metric_name in names:
        label = f"**{cell(metric_name)}**" if metric_name in flagged else cell(metric_name)
        values = [fmt.number(view.metric(task, c, metric_name).value) for c in candidates]
        diffs = [_delta_text(view.delta(task, metric_name, a, b)) for a, b in pairs]
        lines.append("| " + " | ".join([label, *values, *diffs]) + " |")
    policy = _policy_line(task)
    if policy:
        lines += ["", policy]
    worst = view.ranked_regressions(task, pairs, first=flagged)
    drops = "; ".join(f"{cell(d.metric)} {pair_head(d.a, d.b)} {fmt.number(d.diff, signed=True)} "
                      f"{fmt.interval(d.ci_low, d.ci_high, True)} p_holm={fmt.p_value(d.p_holm)}" for d in worst)
    tail = f"Top regressions: {drops}." if worst else "No significant drop."
    if len(all_names) > len(names):
        tail += f" ({len(all_names) - len(names)} more metrics in the HTML report.)"
    return lines + ["", tail, ""]


def _policy_line(task: Mapping[str, Any]) -> str | None:
    """Policy-level agreement in one line: Kendall per production metric and the pairs ordered the other way."""
    production = view.mapping(view.mapping(task.get("policy_agreement")).get("production"))
    parts = []
    for metric_name, entry in production.items():
        entry = view.mapping(entry)
        flips = view.rows(entry.get("discordant"))
        text = f"{cell(metric_name)} τ={fmt.number(entry.get('kendall'), signed=True)} (n={entry.get('n')})"
        if flips:
            d = flips[0]
            text += (f", {len(flips)} pair(s) reversed, e.g. reward prefers {cell(d.get('reward_prefers'))} over "
                     f"{cell(d.get('metric_prefers'))} (metric gap {fmt.number(d.get('metric_gap'))})")
        parts.append(text)
    return f"Reward vs metrics across candidates: {'; '.join(parts)}." if parts else None


def _summary_lines(nightly: Mapping[str, Any]) -> list[str]:
    by_role = view.mapping(view.mapping(nightly.get("suite_summary")).get("by_role"))
    if not by_role:
        return []
    parts = [f"{cell(str(role).upper())} {fmt.number(view.mapping(row).get('reward_macro'))}"
             for role, row in by_role.items()]
    common = view.mapping(nightly.get("suite_summary")).get("common_tasks")
    over = f" every role ran ({', '.join(cell(t) for t in common)})" if common else ""
    return [f"Suite: mean reward over the tasks{over}: {', '.join(parts)}", ""]


def render_markdown(nightly: Mapping[str, Any], html_name: str | None = None) -> str:
    nightly = view.check_nightly(nightly)
    head = f"## Nightly `{cell(nightly.get('suite') or 'suite')}`"
    if nightly.get("run_id"):
        head += f" · run `{cell(nightly.get('run_id'))}`"
    if nightly.get("git_commit"):
        head += f" · commit `{cell(str(nightly.get('git_commit'))[:10])}`"
    lines = [head, "", *_stand_in_lines(nightly), *_verdict_lines(nightly), *_gate_lines(nightly), "",
             *_sweep_lines(nightly), *_summary_lines(nightly)]
    for name, task in view.mapping(nightly.get("tasks")).items():
        lines += _task_lines(str(name), view.mapping(task), view.task_roles(nightly, view.mapping(task)), nightly)
    if html_name:
        lines.append(f"Full report: {cell(html_name)} (▲/▼ = Holm-significant gain/drop, p<0.05).")
    return "\n".join(lines).rstrip() + "\n"
