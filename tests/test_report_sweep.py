"""The checkpoint sweep in the nightly report: the suite names a sweep.json, the nightly attaches it (or a note
when it is missing or not a sweep), and the report shows the plot, the per-step table and the divergence flags
right under the verdict, from the same drawing code `rft-evals sweep` uses for sweep.png."""

from __future__ import annotations

import json

import pytest

from evals.report import write_report
from evals.report import sweep as report_sweep
from evals.suite.config import SuiteConfig, SuiteConfigError
from evals.suite.nightly import attached_sweep
from tests.test_report import make_nightly


def _point(step: int, value: float, half: float = 0.05) -> dict:
    return {"step": step, "value": value, "ci_low": value - half, "ci_high": value + half, "n": 100}


# reward rises 0.50 -> 0.82 while risk_f1 falls 0.30 -> 0.05 (its CI high 0.10 < 0.30): step 4 diverges
SWEEP = {
    "curves": {"reward": [_point(0, 0.50), _point(2, 0.61), _point(4, 0.82)],
               "risk_f1": [_point(0, 0.30), _point(2, 0.28), _point(4, 0.05)]},
    "divergences": [{"step": 4, "metric": "risk_f1", "reward_gain": 0.32, "metric_value": 0.05,
                     "metric_start": 0.30, "message": "step 4: reward +0.320 over step 0 while risk_f1 fell"}],
    "limit": 100,
}


def test_sweep_table_and_flags_by_hand():
    header, rows = report_sweep.table_rows(SWEEP)
    assert header == ["step", "reward", "risk_f1"]
    assert rows[2] == ["4", "0.820 [0.770, 0.870]", "0.050 [0.000, 0.100]"]
    assert report_sweep.flag_lines(SWEEP) == ["divergence: step 4: reward +0.320 over step 0 while risk_f1 fell"]
    calm = {**SWEEP, "divergences": []}
    assert report_sweep.flag_lines(calm)[0].startswith("No divergence")
    md = report_sweep.markdown(SWEEP, heading="###")
    assert md.startswith("### Checkpoint sweep (100 held-out items; step 0 = SFT)")
    assert "| 2 | 0.610 [0.560, 0.660] | 0.280 [0.230, 0.330] |" in md


def test_report_shows_the_sweep_under_the_verdict(tmp_path):
    nightly = make_nightly()
    nightly["sweep"] = SWEEP | {"source": "/ckpt/sweep/sweep.json"}
    files = write_report(nightly, tmp_path)
    html, md = files.html.read_text(encoding="utf-8"), files.markdown.read_text(encoding="utf-8")
    assert 'id="sweep"' in html and html.index('id="verdict"') < html.index('id="sweep"') < html.index('id="task-0"')
    section = html[html.index('id="sweep"'):html.index('id="task-0"')]
    assert 'data-figure="sweep"' in section and "data:image/png;base64," in section  # the plot is drawn
    assert "0.820 [0.770, 0.870]" in section and "step 4: reward +0.320" in section
    assert "/ckpt/sweep/sweep.json" in section
    assert "### Checkpoint sweep (100 held-out items; step 0 = SFT)" in md and "**divergence: step 4" in md


def test_report_without_a_sweep_has_no_section_and_a_missing_one_says_how_to_make_it(tmp_path):
    plain = write_report(make_nightly(), tmp_path / "plain").html.read_text(encoding="utf-8")
    assert 'id="sweep"' not in plain
    nightly = make_nightly()
    nightly["sweep"] = attached_sweep(str(tmp_path / "nowhere" / "sweep.json"))
    html = write_report(nightly, tmp_path / "missing").html.read_text(encoding="utf-8")
    section = html[html.index('id="sweep"'):html.index('id="task-0"')]
    assert "Not drawn: no checkpoint sweep at" in section and "run `rft-evals sweep`" in section


def test_attached_sweep_reads_the_file_and_refuses_what_is_not_a_sweep(tmp_path):
    assert attached_sweep(None) is None
    good = tmp_path / "sweep.json"
    good.write_text(json.dumps(SWEEP))
    assert attached_sweep(str(good)) == SWEEP | {"source": str(good)}
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"candidates": {}}))
    assert "not a sweep.json" in attached_sweep(str(other))["note"]
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    assert "unreadable" in attached_sweep(str(broken))["note"]


def test_suite_config_takes_a_sweep_path_and_refuses_unknown_keys():
    base = {"name": "t", "candidates": "trained", "tasks": {"contract_review": {}}}
    assert SuiteConfig.from_mapping(base).sweep is None
    assert SuiteConfig.from_mapping(base | {"sweep": "/ckpt/sweep/sweep.json"}).sweep == "/ckpt/sweep/sweep.json"
    with pytest.raises(SuiteConfigError, match="sweeps"):
        SuiteConfig.from_mapping(base | {"sweeps": "x"})
