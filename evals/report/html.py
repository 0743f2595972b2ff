"""The self-contained HTML report: one file, inline CSS, figures as data URIs, no script, nothing fetched.

Built from `htmlkit.el`, which escapes every data string; this module never concatenates raw data into markup.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from evals.report import fmt, sweep, verdict, view
from evals.report.htmlkit import Safe, el, join, png_img
from evals.report.plots import RenderedFigure

MAX_EXAMPLES = 5  # per list (suspects / underrated) and per agreement block
EXCERPT_CHARS = 1500

CSS = """
:root { --ink:#1f2328; --muted:#656d76; --line:#d0d7de; --soft:#f6f8fa; --good:#1a7f37; --bad:#cf222e;
        --good-bg:#dafbe1; --bad-bg:#ffebe9; --warn-bg:#fff8c5; }
* { box-sizing: border-box; }
body { margin:0; background:#eef1f4; color:var(--ink);
       font:14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", Arial, sans-serif; }
main { max-width:1280px; margin:0 auto; padding:20px 28px 40px; background:#fff; min-height:100vh; }
h1 { font-size:24px; margin:4px 0 10px; }
h2 { font-size:20px; margin:34px 0 8px; padding-top:12px; border-top:3px solid var(--ink); }
h3 { font-size:15px; margin:22px 0 8px; color:#24292f; }
h4 { font-size:13px; margin:14px 0 6px; color:var(--muted); text-transform:uppercase; letter-spacing:.04em; }
code, .mono { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size:12.5px; }
.meta { display:grid; grid-template-columns:max-content 1fr max-content 1fr; gap:3px 14px; margin:0 0 14px;
        font-size:13px; }
.meta dt { color:var(--muted); } .meta dd { margin:0; overflow-wrap:anywhere; }
.banner { border-radius:8px; padding:12px 16px; margin:12px 0 8px; border:1px solid; }
.banner.passed { background:var(--good-bg); border-color:#4ac26b; }
.banner.failed { background:var(--bad-bg); border-color:#ff8182; }
.banner.none { background:var(--soft); border-color:var(--line); }
.banner .verdict { font-size:18px; font-weight:700; }
.banner.passed .verdict { color:var(--good); } .banner.failed .verdict { color:var(--bad); }
.banner table { margin-top:8px; background:rgba(255,255,255,.7); }
nav.toc { font-size:13px; margin:10px 0 0; } nav.toc a { margin-right:14px; }
table { border-collapse:collapse; font-size:13px; font-variant-numeric:tabular-nums; margin:4px 0 8px; }
th, td { border-bottom:1px solid var(--line); padding:4px 9px; text-align:right; vertical-align:top; }
th { background:var(--soft); font-weight:600; white-space:nowrap; }
th:first-child, td:first-child { text-align:left; }
td.txt, th.txt { text-align:left; }
.ci, .sub { color:var(--muted); font-size:11.5px; white-space:nowrap; }
.best { font-weight:700; }
td.better { background:var(--good-bg); } td.worse { background:var(--bad-bg); }
td.better .sig { color:var(--good); } td.worse .sig { color:var(--bad); }
th.delta, td.delta { border-left:2px solid var(--line); }
tr.regressed td:first-child { box-shadow: inset 4px 0 0 var(--bad); }
.badge { display:inline-block; padding:0 6px; border-radius:9px; font-size:11px; font-weight:600;
         background:var(--bad); color:#fff; margin-left:6px; }
.role { display:inline-block; padding:0 5px; border-radius:4px; font-size:11px; background:var(--soft);
        border:1px solid var(--line); color:var(--muted); margin-left:4px; }
.legend { color:var(--muted); font-size:12px; margin:2px 0 10px; }
figure { margin:10px 0 16px; } figure img { max-width:100%; height:auto; border:1px solid var(--line);
         border-radius:6px; }
figcaption { font-size:12.5px; color:var(--muted); margin-bottom:4px; font-weight:600; }
.note { color:var(--muted); font-style:italic; font-size:13px; background:var(--soft); padding:6px 10px;
        border-radius:6px; display:inline-block; }
.note.failed { background:var(--warn-bg); color:#7d4e00; }
.examples { display:grid; gap:12px; }
.example { border:1px solid var(--line); border-radius:8px; overflow:hidden; }
.example header { background:var(--soft); padding:6px 10px; font-size:13px; display:flex; gap:16px;
                  flex-wrap:wrap; }
.example .pane { display:grid; grid-template-columns:1fr 1fr 1fr; }
.example > p { margin:4px 10px; }
.example .pane > div { padding:6px 10px; min-width:0; }
.example .pane > div + div { border-left:1px solid var(--line); }
pre { margin:2px 0 0; white-space:pre-wrap; overflow-wrap:anywhere; max-height:220px; overflow:auto;
      font:12px/1.4 ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; }
.suspect header { border-left:4px solid var(--bad); } .underrated header { border-left:4px solid #0969da; }
footer { margin-top:36px; color:var(--muted); font-size:12px; }
.standin { background:var(--warn-bg); border-color:#d4a72c; color:#4d2d00; font-size:13px; }
.standin b { font-size:14px; }
table.decision { font-size:12.5px; }
table.decision td, table.decision th { padding:3px 8px; white-space:nowrap; }
table.decision td.delta { white-space:nowrap; text-align:left; }
table.decision .mde { color:var(--muted); font-size:11px; }
details > summary { cursor:pointer; color:var(--muted); font-size:13px; margin-top:6px; }
.mdeline { font-size:13px; margin-top:4px; }
"""


# --- small pieces -------------------------------------------------------------------------------------


def _cands_header(candidates: Sequence[str], role_map: Mapping[str, str]) -> list[Safe]:
    out = []
    for c in candidates:
        role = view.role_of(c, role_map)
        out.append(el("th", c, el("span", role.upper(), class_="role") if role else None))
    return out


def _pair_title(a: str, b: str, role_map: Mapping[str, str]) -> str:
    ra, rb = view.role_of(a, role_map), view.role_of(b, role_map)
    if ra and rb:
        return f"{ra.upper()} − {rb.upper()}"
    return f"{a} − {b}"


def _value_cell(v: view.Value, best: bool) -> Safe:
    return el("td", el("span", fmt.number(v.value), class_="best" if best else None), " ",
              el("span", fmt.interval(v.ci_low, v.ci_high), class_="ci"),
              title=None if v.n is None else f"n = {v.n}")


def _p_text(d: view.Delta) -> str:
    if view.is_num(d.p_holm):
        return f"p_holm {fmt.p_value(d.p_holm)}"
    return f"p {fmt.p_value(d.p_value)} (unadjusted)" if view.is_num(d.p_value) else ""


def _delta_cell(d: view.Delta | None) -> Safe:
    if d is None:
        return el("td", fmt.MISSING, class_="delta")
    mark = {"better": "▲", "worse": "▼"}.get(d.verdict, "")
    counts = "" if d.wins is None else f"W/T/L {d.wins}/{d.ties}/{d.losses}"
    p = _p_text(d)
    return el("td", el("span", fmt.number(d.diff, signed=True), el("span", f" {mark}", class_="sig") if mark else None,
                       class_="best" if mark else None), " ",
              el("span", fmt.interval(d.ci_low, d.ci_high, signed=True), class_="ci"),
              [el("br"), el("span", p, class_="sub")] if p else None,
              class_=f"delta {d.verdict}", title=f"{d.test} test, {d.n_pairs} pairs. {counts}".strip())


def _best(values: Sequence[float], higher: bool) -> int | None:
    finite = [(v, i) for i, v in enumerate(values) if view.is_num(v)]
    if len(finite) < 2 or len({v for v, _ in finite}) < 2:
        return None
    return (max if higher else min)(finite)[1]


def _figure(fig: RenderedFigure | None) -> Safe | None:
    if fig is None:
        return None
    if fig.png is None:
        return el("figure", el("figcaption", fig.title),
                  el("p", f"Not drawn: {fig.note}", class_="note failed" if fig.failed else "note"),
                  data_figure=fig.key)
    return el("figure", el("figcaption", fig.title), png_img(fig.png, fig.title), data_figure=fig.key)


# --- header and gate ----------------------------------------------------------------------------------


def _meta(nightly: Mapping[str, Any], role_map: Mapping[str, str]) -> Safe:
    baseline = view.mapping(nightly.get("baseline"))
    base_text = baseline.get("run_id") or baseline.get("run_dir") or "none"
    commit = str(nightly.get("git_commit") or fmt.MISSING)
    items = [
        ("suite", nightly.get("suite") or fmt.MISSING), ("created", nightly.get("created") or fmt.MISSING),
        ("run id", nightly.get("run_id") or fmt.MISSING),
        ("git commit", el("code", commit[:12], title=commit)),
        ("baseline", f"{base_text} ({baseline.get('source') or 'none'})"),
        ("roles", ", ".join(f"{r.upper()} = {c}" for r, c in role_map.items()) or fmt.MISSING),
        ("run dir", el("code", nightly.get("run_dir") or fmt.MISSING)),
        ("kind", nightly.get("kind") or fmt.MISSING),
    ]
    return el("dl", [join(el("dt", k), el("dd", v)) for k, v in items], class_="meta")


def _suite_summary(nightly: Mapping[str, Any]) -> Safe | None:
    """Each role across the tasks: the reward each task defines, its macro average, cost and errors."""
    summary = view.mapping(nightly.get("suite_summary"))
    by_role = view.mapping(summary.get("by_role"))
    if not by_role:
        return None
    tasks = sorted({t for row in by_role.values() for t in view.mapping(view.mapping(row).get("per_task"))})
    head = el("tr", el("th", "role"), [el("th", t) for t in tasks],
              el("th", "mean over tasks"), el("th", "cost $"), el("th", "errors"))
    rows = []
    for role, row in by_role.items():
        row = view.mapping(row)
        per_task = view.mapping(row.get("per_task"))
        cells = [el("td", fmt.number(view.mapping(per_task.get(t)).get("reward")),
                    title=str(view.mapping(per_task.get(t)).get("candidate") or "")) for t in tasks]
        rows.append(el("tr", el("td", el("b", str(role).upper())), cells,
                       el("td", el("b", fmt.number(row.get("reward_macro")))),
                       el("td", fmt.number(row.get("cost_usd"))), el("td", str(row.get("errors", "")))))
    metric = summary.get("reward_metric") or "reward"
    common = summary.get("common_tasks")
    over = f"the tasks every role ran ({', '.join(map(str, common))})" if common else "the tasks"
    notes = [el("li", str(n)) for n in summary.get("notes") or []]
    return el("section", el("h2", "Suite summary"),
              el("p", f"Per role, the training reward ({metric}) each task defines, and its mean over {over}, each "
                      "task weighing the same; errors count items with an error; hover a cell for the candidate.",
                 class_="note"),
              el("table", el("thead", head), el("tbody", rows)), el("ul", notes, class_="legend") if notes else None)


def _gate_table(checks: Sequence[Mapping[str, Any]]) -> Safe:
    """Tonight vs the baseline night, one row per check: what moved, with which test, and what could be seen."""
    head = el("tr", [el("th", h) for h in ("task", "candidate", "metric", "baseline", "tonight", "delta",
                                            "95% CI", "p-value", "test", "MDE", "threshold", "n")])
    body = [el("tr", el("td", c.get("task")), el("td", c.get("candidate"), class_="txt"),
               el("td", el("b", c.get("metric")), class_="txt"), el("td", fmt.number(c.get("baseline"))),
               el("td", fmt.number(c.get("current"))), el("td", el("b", fmt.number(c.get("delta"), signed=True))),
               el("td", fmt.interval(c.get("ci_low"), c.get("ci_high"), signed=True)),
               el("td", fmt.p_value(c.get("p_value"))), el("td", str(c.get("test") or fmt.MISSING), class_="sub"),
               el("td", fmt.number(c.get("mde")) if view.is_num(c.get("mde")) else "none"),
               el("td", fmt.threshold(c.get("threshold"), c.get("threshold_kind"))),
               el("td", str(c.get("n") if c.get("n") is not None else fmt.MISSING)),
               class_="regressed" if c.get("regressed") else None)
            for c in checks]
    return el("table", el("thead", head), el("tbody", body))


def _gate_details(checks: Sequence[Mapping[str, Any]]) -> Safe | None:
    if not checks:
        return None
    return el("details", el("summary", f"Tonight vs baseline: all {len(checks)} checks (test, MDE, threshold)"),
              _gate_table(checks))


def _stand_ins(nightly: Mapping[str, Any]) -> Safe | None:
    text = nightly.get("stand_ins")
    if not text:
        return None
    return el("section", el("b", "Stand-in roles. "), str(text), class_="banner standin", id="stand-ins")


def _sweep(nightly: Mapping[str, Any], fig: RenderedFigure | None) -> Safe | None:
    """Reward and production metrics per RFT checkpoint, with the divergence flags (the reward-hacking alarm)."""
    if fig is None:
        return None
    data = view.mapping(nightly.get("sweep"))
    table = flags = None
    if data.get("curves"):
        header, rows = sweep.table_rows(data)
        table = el("table", el("thead", el("tr", [el("th", h) for h in header])),
                   el("tbody", [el("tr", [el("td", c) for c in row]) for row in rows]))
        flags = el("ul", [el("li", line) for line in sweep.flag_lines(data)])
    return el("section", el("h2", "Checkpoint sweep"),
              el("p", f"Every saved RFT checkpoint on the same held-out items (step 0 = the SFT model); from "
                      f"{data.get('source', '?')}.", class_="legend"),
              _figure(fig), table, flags, id="sweep")


def _verdict_cell(d: view.Delta | None) -> Safe:
    """One line: difference, its interval, p_holm, then W/T/L and the MDE in small print (the table must fit
    the first screen with the gate under it)."""
    if d is None:
        return el("td", fmt.MISSING, class_="delta")
    mark = {"better": " ▲", "worse": " ▼"}.get(d.verdict, "")
    mde = (f"MDE {fmt.number(d.mde)}" if view.is_num(d.mde) else "MDE –" if not d.has_mde or d.permutations == 1
           else "MDE none")
    counts = "" if d.wins is None else f" · {d.wins}/{d.ties}/{d.losses}"
    return el("td", el("b", fmt.number(d.diff, signed=True) + mark), " ",
              el("span", fmt.interval(d.ci_low, d.ci_high, signed=True), class_="ci"), " ",
              el("span", _p_text(d), class_="sub"), el("span", f"{counts} · {mde}", class_="mde"),
              class_=f"delta {d.verdict}",
              title=f"{d.test}, {d.n_pairs} pairs; W/T/L = wins/ties/losses of the first; MDE = minimum "
                    "detectable effect at 80% power (none: the sample is too small for any)")


def _verdict_value(v: view.Value | None) -> Safe:
    if v is None:
        return el("td", fmt.MISSING)
    return el("td", fmt.number(v.value), title=f"95% CI {fmt.interval(v.ci_low, v.ci_high)}, n = {v.n}")


def _verdict(nightly: Mapping[str, Any]) -> Safe:
    """The decision table: per task, the headline metrics of each role and the paired differences."""
    v = verdict.verdict(nightly)
    if not v.rows:
        return el("section", el("h2", "Verdict"), el("p", "No metrics to compare tonight.", class_="note"),
                  id="verdict")
    roles, titles = verdict.role_columns(nightly), v.pair_titles
    head = el("tr", el("th", "task"), el("th", "metric", class_="txt"), [el("th", r.upper()) for r in roles],
              [el("th", t, class_="delta") for t in titles])
    body = []
    for row in v.rows:
        values = [verdict.value_of_role(v, row, r) for r in roles]
        body.append(el("tr", el("td", row.task, el("span", f" n={row.n_items}", class_="sub") if row.n_items else None),
                       el("td", el("b", row.metric) if row.gated else row.metric, class_="txt"),
                       [_verdict_value(val) for val in values],
                       [_verdict_cell(v.delta_for(row, t)) for t in titles]))
    better, worse, ns = verdict.significant_summary(v.rows)
    lead = (f"{better} significant gain{'s' * (better != 1)}, {worse} significant drop{'s' * (worse != 1)}, "
            f"{ns} not significant, over the headline metrics (bold: gated). Each difference: 95% CI, Holm p, "
            "wins/ties/losses, minimum detectable effect; hover a value for its CI.")
    return el("section", el("h2", "Verdict: RFT vs SFT vs base"), el("p", lead, class_="legend"),
              el("table", el("thead", head), el("tbody", body), class_="decision"),
              el("p", verdict.TEST_NOTE, class_="legend"), id="verdict")


def _gate(nightly: Mapping[str, Any]) -> Safe:
    status = view.gate_status(nightly)
    gate = view.mapping(nightly.get("gate"))
    checks = view.gate_checks(nightly, regressed_only=False)
    regressed = view.gate_checks(nightly)
    against = gate.get("baseline_run_id") or view.mapping(nightly.get("baseline")).get("run_id")
    against_text = f" against baseline {against}" if against else ""
    mde = verdict.mde_sentence(nightly)
    mde_line = el("div", mde, class_="mdeline") if mde else None
    if status == "none":
        notes = "; ".join(str(n) for n in gate.get("notes") or []) or "first night, or the baseline source is 'none'"
        return el("section", el("div", "Gate not evaluated", class_="verdict"),
                  el("div", f"No baseline run to compare with ({notes})."), mde_line,
                  class_="banner none", id="gate")
    if status == "passed":
        return el("section", el("div", "Gate PASSED", class_="verdict"),
                  el("div", f"No metric regressed{against_text}: {len(checks)} checks, none significant "
                            "beyond its threshold."), mde_line, _gate_details(checks), class_="banner passed",
                  id="gate")
    return el("section", el("div", f"Gate FAILED: {len(regressed)} regression{'s' * (len(regressed) != 1)}",
                            class_="verdict"),
              el("div", f"A drop beyond its threshold and statistically significant{against_text}."),
              _gate_table(regressed) if regressed else el("p", "The gate failed but lists no regressed check."),
              mde_line, _gate_details(checks), class_="banner failed", id="gate")


# --- per-task sections ---------------------------------------------------------------------------------


def _metrics_table(task: Mapping[str, Any], candidates: Sequence[str], role_map: Mapping[str, str],
                   regressed: set[str]) -> Safe:
    pairs = view.delta_pairs(task, role_map)
    every = view.metric_names(task)
    if not every:
        return el("p", "No metrics recorded for this task.", class_="note")
    # Rows only for metrics some candidate has a value for (a category nobody met is a row of dashes).
    names = [n for n in every if any(view.is_num(view.metric(task, c, n).value) for c in candidates)] or every
    empty = [n for n in every if n not in names]
    head = el("tr", el("th", "metric"), _cands_header(candidates, role_map),
              [el("th", _pair_title(a, b, role_map), class_="delta", title=f"{a} − {b}") for a, b in pairs])
    body = []
    for name in names:
        higher = view.higher_is_better(task, name)
        values = [view.metric(task, c, name) for c in candidates]
        best = _best([v.value for v in values], higher)
        label = el("td", name, el("span", " ↓ better", class_="sub") if not higher else None,
                   el("span", "gate", class_="badge") if name in regressed else None)
        body.append(el("tr", label, [_value_cell(v, i == best) for i, v in enumerate(values)],
                       [_delta_cell(view.delta(task, name, a, b)) for a, b in pairs],
                       class_="regressed" if name in regressed else None))
    skipped = el("p", "No value for any candidate (not shown): " + ", ".join(empty), class_="legend") if empty else None
    return join(el("table", el("thead", head), el("tbody", body), class_="metrics"), skipped)


def _errors_table(task: Mapping[str, Any], candidates: Sequence[str], role_map: Mapping[str, str]) -> Safe:
    kinds = list(dict.fromkeys(str(k) for c in candidates
                               for k in view.mapping(view.mapping(view.mapping(task.get("candidates")).get(c))
                                                     .get("errors"))))
    head = el("tr", el("th", "candidate"), el("th", "model id", class_="txt"), el("th", "n"), el("th", "scored"),
              [el("th", k) for k in kinds], el("th", "cost"), el("th", "p50"), el("th", "p95"),
              el("th", "tokens in / out"))
    body = []
    for c in candidates:
        cand = view.mapping(view.mapping(task.get("candidates")).get(c))
        errors = view.mapping(cand.get("errors"))
        tokens_in, tokens_out = view.usage(task, c, "usage/input_tokens"), view.usage(task, c, "usage/output_tokens")
        body.append(el(
            "tr", el("td", c, el("span", (view.role_of(c, role_map) or "").upper(), class_="role")
                     if view.role_of(c, role_map) else None),
            el("td", el("code", cand.get("model_id") or fmt.MISSING), class_="txt"),
            el("td", fmt.number(cand.get("n")) if cand.get("n") is None else str(cand.get("n"))),
            el("td", fmt.MISSING if cand.get("scored") is None else str(cand.get("scored"))),
            [el("td", str(errors.get(k, 0))) for k in kinds],
            el("td", fmt.usd(view.usage(task, c, "usage/cost_usd"))),
            el("td", fmt.ms(view.usage(task, c, "latency/p50_ms"))),
            el("td", fmt.ms(view.usage(task, c, "latency/p95_ms"))),
            el("td", f"{fmt.number(tokens_in)} / {fmt.number(tokens_out)}")))
    note = None if kinds else el("p", "No errors: every item was scored.", class_="legend")
    return join(el("table", el("thead", head), el("tbody", body)), note)


def _stat(stats: Mapping[str, Any], key: str) -> Safe:
    s = view.mapping(stats.get(key))
    return el("td", fmt.number(s.get("value"), signed=key != "auroc"), el("br"),
              el("span", fmt.interval(s.get("ci_low"), s.get("ci_high"), signed=key != "auroc"), class_="ci"))


def _agreement_table(entries: Sequence[tuple[str, Mapping[str, Any]]]) -> Safe:
    head = el("tr", [el("th", h) for h in ("candidate", "production metric", "n", "Spearman ρ", "Kendall τ",
                                            "Cohen κ", "AUROC", "thresholds")])
    body = []
    for who, entry in entries:
        reward_name = entry.get("reward_metric") or "reward"
        for metric_name, stats in view.mapping(entry.get("production")).items():
            stats = view.mapping(stats)
            body.append(el("tr", el("td", who), el("td", metric_name, class_="txt"),
                           el("td", fmt.MISSING if stats.get("n") is None else str(stats.get("n"))),
                           [_stat(stats, k) for k in ("spearman", "kendall", "kappa", "auroc")],
                           el("td", f"{reward_name} ≥ {fmt.number(stats.get('reward_threshold'))}"
                                    f", {metric_name} ≥ {fmt.number(stats.get('production_threshold'))}",
                              class_="sub")))
    if not body:
        return el("p", "No reward–production agreement statistics for this task.", class_="note")
    return el("table", el("thead", head), el("tbody", body))


def _policy_table(task: Mapping[str, Any]) -> Safe | None:
    """Across candidates: does the mean reward order them as each production metric does?"""
    policy = view.mapping(task.get("policy_agreement"))
    production = view.mapping(policy.get("production"))
    if not production:
        return None
    head = el("tr", [el("th", h) for h in ("production metric", "candidates", "Kendall τ", "Spearman ρ",
                                            "pairs ordered the other way (reward gap, metric gap)")])
    body = []
    for metric_name, entry in production.items():
        entry = view.mapping(entry)
        flips = [f"reward prefers {d.get('reward_prefers')} over {d.get('metric_prefers')} "
                 f"(+{fmt.number(d.get('reward_gap'))}, −{fmt.number(d.get('metric_gap'))})"
                 for d in view.rows(entry.get("discordant"))]
        body.append(el("tr", el("td", metric_name), el("td", str(entry.get("n", fmt.MISSING))),
                       el("td", fmt.number(entry.get("kendall"), signed=True)),
                       el("td", fmt.number(entry.get("spearman"), signed=True)),
                       el("td", "; ".join(flips) if flips else f"none of {entry.get('pairs', 0)}", class_="txt")))
    return join(el("h4", "Policy level: the candidates ordered by mean reward vs by each metric"),
                el("table", el("thead", head), el("tbody", body)),
                el("p", "A pair ordered the other way is a policy the reward would train towards although the "
                        "metric says it is worse.", class_="legend"))


def _example(row: Mapping[str, Any], who: str, kind: str) -> Safe:
    """A suspect or underrated sample: why it is listed, then the output beside the gold answer and the input."""
    candidate = row.get("candidate") or who
    reason = row.get("reason")
    return el("article", el("header", el("span", "item ", el("code", row.get("item_id", fmt.MISSING))),
                            el("span", "candidate ", el("b", candidate)),
                            el("span", f"reward {fmt.number(row.get('reward'))}"),
                            el("span", f"{row.get('production_metric') or 'production'} "
                                       f"{fmt.number(row.get('production'))}")),
              el("p", el("b", "Why listed: "), str(reason), class_="legend") if reason else None,
              el("div", el("div", el("h4", "model output"), el("pre", fmt.shorten(row.get("output"), EXCERPT_CHARS))),
                 el("div", el("h4", "gold answer"),
                    el("pre", fmt.shorten(row.get("gold"), EXCERPT_CHARS) if row.get("gold") else "(not recorded)")),
                 el("div", el("h4", "document excerpt"),
                    el("pre", fmt.shorten(row.get("document"), EXCERPT_CHARS))), class_="pane"),
              class_=f"example {kind}")


def _examples(entries: Sequence[tuple[str, Mapping[str, Any]]]) -> Safe:
    """Suspects and underrated items, deduplicated across the candidate blocks."""
    out = []
    for key, kind, title, blurb in (
        ("reward_hacking_suspects", "suspect", "Reward-hacking suspects",
         "High training reward, low production score: the reward may be paying for the wrong thing."),
        ("underrated", "underrated", "Underrated", "Low training reward, high production score."),
    ):
        seen: set[tuple[str, str, str]] = set()
        cards, hidden = [], 0
        for who, entry in entries:
            shown_here = 0
            for row in view.rows(entry.get(key)):
                ident = (str(row.get("item_id")), str(row.get("candidate") or who), str(row.get("production_metric")))
                if ident in seen:
                    continue
                seen.add(ident)
                if shown_here >= MAX_EXAMPLES:
                    hidden += 1
                    continue
                shown_here += 1
                cards.append(_example(row, who, kind))
        more = el("p", f"{hidden} more in nightly.json.", class_="legend") if hidden else None
        body = el("div", cards, class_="examples") if cards else el("p", "None.", class_="note")
        out.append(join(el("h4", title), el("p", blurb, class_="legend"), body, more))
    return join(out)


def _task(index: int, name: str, task: Mapping[str, Any], role_map: Mapping[str, str],
          figures: Sequence[RenderedFigure], nightly: Mapping[str, Any]) -> Safe:
    candidates = view.candidates(task, role_map)
    by_key = {f.key: f for f in figures}
    regressed = {str(c.get("metric")) for c in view.gate_checks(nightly, name)}
    entries = view.agreement_entries(task, candidates)
    n_items = task.get("n_items")
    legend = el("p", "Value with its 95% bootstrap CI; bold is the best candidate. Deltas are paired (same items): "
                     "difference, 95% CI, Holm-adjusted p; ▲/▼ and colour mark a Holm-significant (p < 0.05) "
                     "improvement or drop in the metric's own direction. A red edge marks a metric the gate flagged.",
                class_="legend")
    return el(
        "section",
        el("h2", name), el("p", f"{fmt.MISSING if n_items is None else n_items} items · {len(candidates)} candidates",
                           class_="legend"),
        el("h3", "Metrics"), _metrics_table(task, candidates, role_map, regressed), legend,
        _figure(by_key.get("metrics")), _figure(by_key.get("deltas")), _figure(by_key.get("pairwise_judge")),
        el("h3", "Per category"), _figure(by_key.get("category_f1")),
        el("h3", "Errors, cost and latency"), _errors_table(task, candidates, role_map),
        _figure(by_key.get("cost_latency")),
        el("h3", "Training reward vs production metrics"),
        join(_policy_table(task), el("h4", "Per sample, within each candidate"), _agreement_table(entries),
             _figure(by_key.get("reward_vs_production")), _examples(entries))
        if entries else el("p", "No agreement data for this task (no training reward configured for it).",
                           class_="note"),
        id=f"task-{index}", class_="task",
    )


def render_html(nightly: Mapping[str, Any], figures: Mapping[str, Sequence[RenderedFigure]]) -> str:
    """The whole page; `figures` maps task name to its rendered figures (plots.render_task)."""
    nightly = view.check_nightly(nightly)
    role_map = view.roles(nightly)
    tasks = list(view.mapping(nightly.get("tasks")).items())
    toc = el("nav", "Tasks: ", [el("a", name, href=f"#task-{i}") for i, (name, _) in enumerate(tasks)],
             class_="toc") if tasks else None
    sections = [_task(i, name, view.mapping(task), view.task_roles(nightly, view.mapping(task)),
                      figures.get(name, ()), nightly)
                for i, (name, task) in enumerate(tasks)]
    title = f"rft-evals nightly · {nightly.get('suite') or 'suite'}"
    body = el("main", el("h1", title), _stand_ins(nightly), _verdict(nightly), _gate(nightly),
              _sweep(nightly, sweep.rendered(nightly)), _meta(nightly, role_map), _suite_summary(nightly), toc,
              sections or el("p", "The nightly run holds no tasks.", class_="note"),
              el("footer", "Rendered from nightly.json by evals.report; this file is self-contained "
                           "(inline CSS, embedded images, no scripts)."))
    head = el("head", el("meta", charset="utf-8"), el("meta", name="viewport", content="width=device-width"),
              el("title", title), el("style", Safe(CSS)))
    return "<!doctype html>\n" + el("html", head, el("body", body), lang="en") + "\n"
