"""The nightly report (evals/report): rendered from a hand-built nightly.json only.

The fixture follows the contract in the brief: two tasks with base/SFT/RFT, paired comparisons, agreement with
points and suspects, a failed gate with one regression, and a second task with NaN (null) values and no
per-category data. Hostile strings sit in model outputs, documents, item ids and a metric name.
"""

from __future__ import annotations

import copy
import json
import random
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from evals.report import ReportInputError, write_report
from evals.report import view
from evals.report.markdown import render_markdown
from evals.report.plots import PLOTS, render_task

ROOT = Path(__file__).resolve().parents[1]
SCRIPT_XSS = "<script>alert(1)</script>"
IMG_XSS = "<img src=x onerror=alert(2)>"
SVG_XSS = '"><svg onload=alert(3)>'
HOSTILE_METRIC = "judge/<b>tone</b>$x$"
ROLES = {"base": "nova-lite", "sft": "nova-sft", "rft": "nova-rft"}
REVIEW_METRICS = ("json_valid", "schema_valid", "grounding", "risk_precision", "risk_recall", "risk_f1",
                  "assessment_accuracy", "action_compliance", "length_ok", "safety_ok", "n_comments")
CATEGORIES = ("arbitration", "unilateral_change", "content_removal", "jurisdiction", "choice_of_law",
              "limitation_of_liability", "unilateral_termination", "contract_by_using")


def _estimate(value: float | None, half: float | None, n: int) -> dict:
    if value is None:
        return {"value": None, "ci_low": None, "ci_high": None, "n": 0}
    return {"value": value, "ci_low": value - half, "ci_high": value + half, "n": n}


def _comparison(metric: str, a: str, b: str, va: float | None, vb: float | None, p: float | None,
                higher: bool = True) -> dict:
    diff = None if va is None or vb is None else round(va - vb, 4)
    return {"metric": metric, "a": a, "b": b, "n_pairs": 40, "a_value": va, "b_value": vb, "diff": diff,
            "ci_low": None if diff is None else diff - 0.06, "ci_high": None if diff is None else diff + 0.06,
            "test": "bootstrap", "p_value": p, "p_holm": None if p is None else min(1.0, p * 3),
            "wins": 9, "ties": 25, "losses": 6, "higher_is_better": higher}


def _review_task(rng: random.Random) -> dict:
    levels = {"nova-lite": 0.45, "nova-sft": 0.62, "nova-rft": 0.58}
    candidates, comparisons = {}, []
    values: dict[str, dict[str, float]] = {}
    for index, (name, level) in enumerate(levels.items()):
        vals = {m: round(min(0.99, level + rng.uniform(-0.15, 0.3)), 3) for m in REVIEW_METRICS}
        vals["n_comments"] = round(1.5 + 2 * level, 2)
        values[name] = vals
        role = next(r for r, c in ROLES.items() if c == name)
        candidates[name] = {
            "role": role, "model_id": f"amazon.{name}-v1:0", "n": 40, "scored": 38 if role == "rft" else 40,
            "errors": {"parse_error": 2} if role == "rft" else {},
            "metrics": {m: _estimate(v, 0.08 if m != "n_comments" else 0.4, 40) for m, v in vals.items()},
            "usage": {"usage/cost_usd": 0.012 * (1 + index), "latency/p50_ms": 700.0 + 120 * index,
                      "latency/p95_ms": 2100.0 + 300 * index, "usage/input_tokens": 61234.0,
                      "usage/output_tokens": 9120.0},
        }
    # The story the report must tell: RFT grounds better than SFT but lost risk F1 (the gate's regression).
    pinned = {("nova-sft", "risk_f1"): 0.61, ("nova-rft", "risk_f1"): 0.52, ("nova-sft", "grounding"): 0.78,
              ("nova-rft", "grounding"): 0.86, ("nova-lite", "grounding"): 0.71}
    for (name, m), v in pinned.items():
        values[name][m] = v
        candidates[name]["metrics"][m] = _estimate(v, 0.07, 40)
    for a, b in (("nova-rft", "nova-sft"), ("nova-rft", "nova-lite"), ("nova-sft", "nova-lite")):
        for m in REVIEW_METRICS:
            p = 0.004 if m == "risk_f1" and b == "nova-sft" else (0.01 if m == "grounding" else 0.4)
            comparisons.append(_comparison(m, a, b, values[a][m], values[b][m], p, higher=m != "n_comments"))
    per_category = {c: {k: {"f1": round(rng.uniform(0.1, 0.9), 2), "support": rng.randint(2, 15)} for k in CATEGORIES}
                    for c in levels}
    per_category["nova-lite"]["choice_of_law"]["f1"] = None  # NaN cell
    agreement = {}
    for name in [*levels, "pooled"]:
        points = [{"item_id": f"tos-{i:03d}", "reward": round(rng.random(), 3),
                   "production": {"risk_f1": round(rng.random(), 3), "judge/grounding": float(rng.random() > 0.4)}}
                  for i in range(30)]
        suspects = [{"item_id": points[0]["item_id"] if name != "pooled" else SVG_XSS, "candidate": name,
                     "reward": 0.94, "production": 0.05, "production_metric": "risk_f1",
                     "output": f'{{"comments": [{{"text_excerpt": "{SCRIPT_XSS}", "rationale": "{IMG_XSS}"}}]}}',
                     "document": "You agree to binding arbitration in Delaware. </pre><script>x()</script> " * 3}]
        underrated = [{"item_id": points[1]["item_id"], "candidate": name, "reward": 0.08, "production": 0.92,
                       "production_metric": "risk_f1", "output": '{"comments": []}',
                       "document": "We may terminate your account at any time for any reason."}]
        stats = {k: {"value": v, "ci_low": v - 0.2, "ci_high": v + 0.15}
                 for k, v in (("spearman", 0.41), ("kendall", 0.3), ("kappa", 0.22), ("auroc", 0.68))}
        agreement[name] = {"reward_metric": "reward",
                           "production": {"risk_f1": {"n": 30, **stats, "reward_threshold": 0.5,
                                                      "production_threshold": 0.5},
                                          "judge/grounding": {"n": 30, **stats, "reward_threshold": 0.5,
                                                              "production_threshold": 0.5}},
                           "points": points, "reward_hacking_suspects": suspects, "underrated": underrated}
    pairwise = [{"a": "nova-rft", "b": "nova-sft", "n": 40, "win_rate": 0.61, "ci_low": 0.46, "ci_high": 0.75,
                 "wins": 22, "ties": 5, "losses": 13, "inconsistent": 2},
                {"a": "nova-rft", "b": "nova-lite", "n": 40, "win_rate": 0.7, "ci_low": 0.55, "ci_high": 0.83,
                 "wins": 26, "ties": 4, "losses": 10, "inconsistent": 1}]
    return {"n_items": 40, "candidates": candidates, "comparisons": comparisons, "pairwise_judge": pairwise,
            "per_category": per_category, "agreement": agreement}


def _sparse_task() -> dict:
    """NaN (null) values everywhere they may appear, no per-category data, no agreement, a hostile metric."""
    metrics = ("accuracy", "macro_f1", HOSTILE_METRIC)
    candidates = {}
    for i, (role, name) in enumerate(ROLES.items()):
        candidates[name] = {"role": role, "model_id": None, "n": 12, "scored": 12 - i,
                            "errors": {"<b>odd_kind</b>": i} if i else {},
                            "metrics": {"accuracy": _estimate(0.5 + 0.1 * i, 0.2, 12),
                                        "macro_f1": _estimate(None, None, 0),
                                        HOSTILE_METRIC: _estimate(0.7, 0.1, 12) if i != 1 else _estimate(None, 0, 0)},
                            "usage": {"usage/cost_usd": None} if i == 0 else {}}
    comparisons = [_comparison(m, "nova-rft", "nova-sft", 0.7, None if m == "macro_f1" else 0.6,
                               None if m == "macro_f1" else 0.5) for m in metrics]
    return {"n_items": 12, "candidates": candidates, "comparisons": comparisons, "pairwise_judge": [],
            "per_category": {}, "agreement": {}}


def make_nightly(seed: int = 7) -> dict:
    rng = random.Random(seed)
    return {
        "suite": "nightly", "kind": "nightly", "created": "2026-11-02T03:14:00+00:00",
        "git_commit": "0123456789abcdef0123456789abcdef01234567", "run_id": "f3a9c2e1b4d84a7e9c0d",
        "run_dir": "runs/2026-11-02/031400-nightly",
        "baseline": {"run_id": "aa11bb22cc33", "run_dir": None, "source": "mlflow-latest"},
        "roles": dict(ROLES),
        "tasks": {"contract_review": _review_task(rng), "unfair_tos": _sparse_task()},
        "gate": {"passed": False, "baseline_run_id": "aa11bb22cc33", "checks": [
            {"task": "contract_review", "candidate": "nova-rft", "metric": "risk_f1", "baseline": 0.61,
             "current": 0.52, "delta": -0.09, "ci_low": -0.15, "ci_high": -0.03, "p_value": 0.004,
             "threshold": 0.05, "threshold_kind": "absolute", "regressed": True},
            {"task": "contract_review", "candidate": "nova-rft", "metric": "grounding", "baseline": 0.8,
             "current": 0.81, "delta": 0.01, "ci_low": -0.03, "ci_high": 0.05, "p_value": 0.6,
             "threshold": 0.05, "threshold_kind": "relative", "regressed": False}]},
    }


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    files = write_report(make_nightly(), out)
    return files, files.html.read_text(encoding="utf-8"), files.markdown.read_text(encoding="utf-8")


def test_writes_html_markdown_and_every_figure(report):
    files, _, _ = report
    names = {p.name for p in files.figures}
    for key in ("metrics", "deltas", "reward_vs_production", "category_f1", "cost_latency", "pairwise_judge"):
        assert f"0-contract_review__{key}.png" in names
    assert {"1-unfair_tos__metrics.png", "1-unfair_tos__deltas.png"} <= names
    assert all(p.parent == files.html.parent / "figures" and p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
               for p in files.figures)
    # The sparse task skips what it has no data for, with a reason, and never as a crash.
    assert any(n.startswith("unfair_tos / category_f1: ") for n in files.notes)
    assert any(n.startswith("unfair_tos / reward_vs_production: ") for n in files.notes)
    assert not any("plot failed" in n for n in files.notes), files.notes


def test_html_is_self_contained(report):
    files, html, _ = report
    parser = _Tags()
    parser.feed(html)
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", html, re.I)
    assert not [t for t, _ in parser.tags if t in {"script", "link", "iframe", "object", "embed", "svg"}]
    images = [a["src"] for t, a in parser.tags if t == "img"]
    assert len(images) == len(files.figures)
    assert all(src.startswith("data:image/png;base64,") for src in images)
    assert "<style>" in html and "@import" not in html


def test_html_has_every_section(report):
    _, html, _ = report
    for text in ('id="gate"', 'id="task-0"', 'id="task-1"', ">Metrics<", ">Per category<",
                 ">Errors, cost and latency<", ">Training reward vs production metrics<", "Reward-hacking suspects",
                 "Underrated", "RFT − SFT", "RFT − BASE", "Spearman ρ", "Cohen κ", "AUROC", "parse_error",
                 "aa11bb22cc33", "0123456789ab", "f3a9c2e1b4d84a7e9c0d"):
        assert text in html, text
    for spec in PLOTS:
        assert f'data-figure="{spec.key}"' in html
    assert html.count("Not drawn:") >= 3  # the sparse task: category, agreement, pairwise, cost


def test_gate_banner_lists_the_regression(report):
    _, html, _ = report
    banner = html[html.index('id="gate"'):html.index("</section>", html.index('id="gate"'))]
    assert "Gate FAILED: 1 regression" in banner and "banner failed" in html
    assert "risk_f1" in banner and "-0.090" in banner and "[-0.150, -0.030]" in banner and "0.004" in banner
    regressions, _, every_check = banner.partition('class="mdeline"')
    assert "grounding" not in regressions  # a passing check is not listed as a regression
    assert "Tonight vs baseline: all 2 checks" in every_check and "grounding" in every_check  # ... but is shown
    assert 'class="regressed"' in html


def test_hostile_strings_are_escaped(report):
    _, html, md = report
    lowered = html.lower()
    for raw in ("<script", "<img src=x", "<svg", "<b>tone", "<b>odd_kind", "</pre><script"):
        assert raw not in lowered, raw
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(2)&gt;" in html
    assert "&quot;&gt;&lt;svg onload=alert(3)&gt;" in html
    assert "judge/&lt;b&gt;tone&lt;/b&gt;$x$" in html
    allowed = {"html", "head", "meta", "title", "style", "body", "main", "h1", "h2", "h3", "h4", "dl", "dt", "dd",
               "code", "section", "div", "table", "thead", "tbody", "tr", "th", "td", "b", "span", "br", "p", "nav",
               "a", "figure", "figcaption", "img", "article", "header", "pre", "footer", "details", "summary",
               "ul", "li"}
    parser = _Tags()
    parser.feed(html)
    assert {t for t, _ in parser.tags} <= allowed
    assert not [a for _, attrs in parser.tags for a in attrs if a.startswith("on")]
    assert "<b>" not in md and "&lt;b&gt;tone" in md


def test_delta_columns_use_roles_and_mark_significance(report):
    _, html, _ = report
    nightly = make_nightly()
    task = nightly["tasks"]["contract_review"]
    assert view.delta_pairs(task, view.roles(nightly)) == [("nova-rft", "nova-sft"), ("nova-rft", "nova-lite")]
    d = view.delta(task, "risk_f1", "nova-rft", "nova-sft")
    assert d.verdict == "worse" and d.significant
    assert 'class="delta worse"' in html and "▼" in html
    g = view.delta(task, "grounding", "nova-rft", "nova-sft")
    assert g.verdict == "better" and 'class="delta better"' in html


def test_comparison_stored_the_other_way_is_flipped():
    task = {"comparisons": [_comparison("risk_f1", "sft", "rft", 0.6, 0.5, 0.01)]}
    d = view.delta(task, "risk_f1", "rft", "sft")
    assert d.diff == pytest.approx(-0.1) and d.ci_low == pytest.approx(-0.16) and d.ci_high == pytest.approx(-0.04)
    assert (d.wins, d.losses) == (6, 9) and d.verdict == "worse"
    assert view.delta_pairs(task, {"rft": "rft", "sft": "sft"}) == [("rft", "sft")]
    assert view.delta_pairs(task, {}) == [("sft", "rft")]  # no roles: the stored pair


def test_markdown_leads_with_the_verdict_then_the_gate_naming_the_regression(report):
    _, _, md = report
    lines = md.splitlines()
    assert lines[2].startswith("**Verdict**") and lines[4].startswith("| task | metric | BASE | SFT | RFT | RFT − SFT")
    gate = next(i for i, line in enumerate(lines) if line.startswith("**Gate: FAILED**"))
    assert gate < 20 and "aa11bb22cc33" in lines[gate]
    assert "**risk_f1**" in lines[gate + 1] and "-0.090" in lines[gate + 1] and "p=0.004" in lines[gate + 1]
    assert "permutation" in md  # which test produced the figures
    assert "| **risk_f1** |" in md  # the flagged metric is in the task table, bold
    assert "Top regressions: risk_f1 RFT−SFT -0.090 [-0.150, -0.030] p_holm=0.012" in md


def test_markdown_stays_short_for_four_tasks():
    nightly = make_nightly()
    review = nightly["tasks"]["contract_review"]
    nightly["tasks"] = {f"task_{i}": copy.deepcopy(review) for i in range(4)}
    md = render_markdown(nightly, html_name="report.html")
    assert len(md.splitlines()) < 80  # the verdict table (3 rows a task) plus a short table per task
    assert md.count("| metric |") == 4 + 1  # one table per task and the verdict table ("| task | metric |")


@pytest.mark.parametrize("case", ["single_candidate", "no_comparisons", "all_null", "empty_task",
                                  "points_without_stats", "no_roles"])
def test_plots_survive_degenerate_input(case, tmp_path):
    nightly = make_nightly()
    # One task and four metrics keep each case to a few seconds; the full fixture is rendered above.
    del nightly["tasks"]["unfair_tos"]
    task = nightly["tasks"]["contract_review"]
    keep = set(REVIEW_METRICS[2:6])
    for cand in task["candidates"].values():
        cand["metrics"] = {m: v for m, v in cand["metrics"].items() if m in keep}
    task["comparisons"] = [c for c in task["comparisons"] if c["metric"] in keep]
    for entry in task["agreement"].values():
        entry["production"].pop("judge/grounding")
        for point in entry["points"]:
            point["production"].pop("judge/grounding")
    if case == "single_candidate":
        task["candidates"] = {"nova-rft": task["candidates"]["nova-rft"]}
        task["comparisons"], task["pairwise_judge"] = [], []
        task["per_category"] = {"nova-rft": task["per_category"]["nova-rft"]}
        task["agreement"] = {"nova-rft": task["agreement"]["nova-rft"]}
    elif case == "no_comparisons":
        task["comparisons"] = []
    elif case == "all_null":
        nightly = json.loads(re.sub(r":\s*-?\d+\.\d+", ": null", json.dumps(nightly)))
    elif case == "empty_task":
        nightly["tasks"]["contract_review"] = {}
    elif case == "points_without_stats":
        for entry in task["agreement"].values():
            entry["production"] = {}
    elif case == "no_roles":
        nightly["roles"] = {}
        for cand in task["candidates"].values():
            cand.pop("role")
    files = write_report(nightly, tmp_path)
    assert not [n for n in files.notes if "plot failed" in n], files.notes
    assert files.html.stat().st_size > 1000 and "Gate FAILED" in files.html.read_text(encoding="utf-8")
    drawn = {p.name.split("__")[1].removesuffix(".png") for p in files.figures}
    if case in {"single_candidate", "no_comparisons", "all_null", "empty_task"}:
        assert "deltas" not in drawn and any(n.startswith("contract_review / deltas: ") for n in files.notes)
    if case in {"single_candidate", "no_roles", "points_without_stats"}:
        assert {"metrics", "reward_vs_production", "category_f1"} <= drawn


def test_scatter_falls_back_to_the_pooled_block():
    task = _review_task(random.Random(1))
    task["agreement"] = {"pooled": task["agreement"]["pooled"]}
    spec = next(s for s in PLOTS if s.key == "reward_vs_production")
    fig = render_task("t", task, ROLES, specs=[spec])[0]
    assert fig.png is not None and not fig.failed


def test_bad_input_names_the_key(tmp_path):
    with pytest.raises(ReportInputError, match="'tasks'"):
        write_report({"suite": "local"}, tmp_path)
    with pytest.raises(ReportInputError, match="mapping"):
        write_report([], tmp_path)


def test_module_cli_renders_a_saved_nightly_json(tmp_path):
    source = tmp_path / "nightly.json"
    nightly = make_nightly()
    del nightly["tasks"]["contract_review"]  # the small task: this checks the entry point, not the plots
    source.write_text(json.dumps(nightly), encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "evals.report", str(source), str(tmp_path / "out")], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "**Gate: FAILED**" in done.stdout and (tmp_path / "out" / "report.html").is_file()
    assert "not drawn: unfair_tos / category_f1" in done.stdout
    bad = subprocess.run([sys.executable, "-m", "evals.report", str(tmp_path / "missing.json")], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "missing.json not found" in bad.stderr


CHROMIUM = Path("/usr/bin/chromium")


@pytest.mark.slow
@pytest.mark.skipif(not CHROMIUM.exists(), reason="headless Chromium not installed (apt-get install -y chromium)")
def test_report_renders_in_headless_chromium(report, tmp_path):
    import numpy as np
    from matplotlib.image import imread

    files, _, _ = report
    png = tmp_path / "shot.png"
    done = subprocess.run([sys.executable, str(ROOT / "scripts/screenshot_report.py"), str(files.html), "--out",
                           str(png), "--height", "3000"], capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr
    assert png.stat().st_size > 50_000
    pixels = imread(png)
    assert pixels.shape[:2] == (3000, 1400)
    flat = pixels[..., :3].reshape(-1, 3)
    assert len(np.unique(flat[:: 97], axis=0)) > 50  # text, tables and figures, not a blank page
    # The red gate banner is drawn near the top: some pixels there are the banner's tint.
    top = pixels[:600, :, :3]
    assert ((top[..., 0] > 0.95) & (top[..., 1] < 0.95) & (top[..., 1] > 0.85)).any()


# The first screen of a laptop: what an ML lead sees before scrolling.
FIRST_SCREEN = (1280, 900)
RECTS_SCRIPT = """<script>
window.addEventListener('load', function () {
  var out = {};
  ['verdict', 'gate'].forEach(function (id) {
    var node = document.getElementById(id);
    if (node) { var r = node.getBoundingClientRect(); out[id] = {top: r.top, bottom: r.bottom}; }
    var line = node && node.querySelector(id === 'gate' ? '.verdict' : 'table');
    if (line) { var q = line.getBoundingClientRect(); out[id + '_first'] = {top: q.top, bottom: q.bottom}; }
  });
  var pre = document.createElement('pre'); pre.id = 'rects'; pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>"""


def _first_screen_rects(html: Path, tmp_path: Path) -> dict:
    """Where the verdict table and the gate banner lie at a 1280x900 viewport, measured by Chromium itself: a
    copy of the report with a test-only script that writes their bounding boxes into the DOM, read back with
    --dump-dom (the shipped report keeps no scripts)."""
    probe = tmp_path / "probe.html"
    probe.write_text(html.read_text(encoding="utf-8").replace("</body>", RECTS_SCRIPT + "</body>"), encoding="utf-8")
    sys.path.insert(0, str(ROOT / "scripts"))
    from screenshot_report import QUIET_FLAGS, find_chromium

    width, height = FIRST_SCREEN
    done = subprocess.run([find_chromium(), *QUIET_FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
                           "--dump-dom", f"--window-size={width},{height}", probe.as_uri()],
                          capture_output=True, text=True, timeout=240)
    match = re.search(r'<pre id="rects">(.*?)</pre>', done.stdout, re.S)
    assert match, done.stderr[-2000:]
    return json.loads(match.group(1).replace("&quot;", '"'))


@pytest.mark.slow
@pytest.mark.skipif(not CHROMIUM.exists(), reason="headless Chromium not installed (apt-get install -y chromium)")
def test_verdict_table_and_gate_banner_are_on_the_first_screen(report, tmp_path):
    from matplotlib.image import imread

    files, _, _ = report
    width, height = FIRST_SCREEN
    png = tmp_path / "first_screen.png"
    done = subprocess.run([sys.executable, str(ROOT / "scripts/screenshot_report.py"), str(files.html), "--out",
                           str(png), "--width", str(width), "--height", str(height)],
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr
    assert imread(png).shape[:2] == (height, width)
    rects = _first_screen_rects(files.html, tmp_path)
    print(f"first screen {width}x{height}: {rects}")
    assert {"verdict", "gate", "verdict_first", "gate_first"} <= set(rects), rects
    assert 0 <= rects["verdict"]["top"] and rects["verdict_first"]["bottom"] <= height, rects  # the whole table
    assert rects["gate"]["top"] < height and rects["gate_first"]["bottom"] <= height, rects  # "Gate FAILED: ..."


def test_policy_agreement_suspect_gold_and_stand_ins_are_shown(tmp_path):
    nightly = make_nightly()
    nightly["stand_ins"] = "Stand-in roles: RFT = a TF-IDF baseline."
    task = nightly["tasks"]["contract_review"]
    task["policy_agreement"] = {"reward_metric": "reward", "production": {"risk_f1": {
        "n": 3, "pairs": 3, "kendall": -1 / 3, "spearman": -0.5,
        "discordant": [{"reward_prefers": "nova-rft", "metric_prefers": "nova-sft", "reward_gap": 0.05,
                        "metric_gap": 0.09}]}}}
    suspect = task["agreement"]["nova-rft"]["reward_hacking_suspects"][0]
    suspect["gold"] = '{"comments": [{"text_excerpt": "binding arbitration"}]}'
    suspect["reason"] = "reward 0.940 >= 0.5 (pays) but risk_f1 0.050 < 0.5 (fails)"
    del nightly["tasks"]["unfair_tos"]
    files = write_report(nightly, tmp_path)
    html, md = files.html.read_text(encoding="utf-8"), files.markdown.read_text(encoding="utf-8")
    assert "Policy level" in html and "reward prefers nova-rft over nova-sft" in html and "-0.333" in html
    assert "Why listed: " in html and "risk_f1 0.050 &lt; 0.5 (fails)" in html and "binding arbitration" in html
    assert 'id="stand-ins"' in html and html.index('id="stand-ins"') < html.index('id="verdict"')
    assert md.splitlines()[2].startswith("> **Stand-in roles.**")
    assert "Reward vs metrics across candidates: risk_f1 τ=-0.333 (n=3), 1 pair(s) reversed" in md
