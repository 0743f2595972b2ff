"""evals/suite/gate.py: a regression is a drop beyond its threshold that is also significant; an equal run, a
small insignificant drop and a significant drop within the threshold all pass."""

import math

import numpy as np
import pytest

from evals.suite.gate import (
    GateConfigError,
    GateThreshold,
    check_threshold_names,
    gate_checks,
    gate_scalar,
    gate_summary,
    parse_thresholds,
)
from evals.samples.records import SampleRecord
from evals.stats.estimate import Estimate
from metrics.aggregates import f1, mean

CHECK_KEYS = {"task", "candidate", "metric", "baseline", "current", "delta", "ci_low", "ci_high", "p_value",
              "threshold", "threshold_kind", "regressed"}
OK = mean("schema_valid")
RISK_F1 = f1("risk_f1", "risk_tp", "risk_fp", "risk_fn")


def _run(passes, prefix="w", candidate="rft", **extra):
    return [SampleRecord(candidate=candidate, role="rft", item_id=f"{prefix}{i}", output="",
                         values={"schema_valid": float(p), **{k: float(v[i]) for k, v in extra.items()}})
            for i, p in enumerate(passes)]


def _thresholds(**spec):
    return parse_thresholds(spec)


# --- config ---------------------------------------------------------------------------------------------


def test_parse_thresholds_reads_absolute_and_relative():
    parsed = parse_thresholds({"risk_f1": {"absolute": 0.05}, "schema_valid": {"relative": 0.1},
                               "agreement/spearman": {"absolute": 0.1}})
    assert parsed == [GateThreshold("risk_f1", "absolute", 0.05), GateThreshold("schema_valid", "relative", 0.1),
                      GateThreshold("agreement/spearman", "absolute", 0.1)]
    assert parsed[1].allowed_drop(0.8) == pytest.approx(0.08)
    assert parsed[0].allowed_drop(0.8) == 0.05


@pytest.mark.parametrize("spec, message", [
    ({"risk_f1": 0.05}, "gate.metrics.risk_f1"),
    ({"risk_f1": {"percent": 5}}, "gate.metrics.risk_f1"),
    ({"risk_f1": {"absolute": 0.05, "relative": 0.1}}, "gate.metrics.risk_f1"),
    ({"risk_f1": {"absolute": -0.1}}, r"gate.metrics.risk_f1.absolute"),
    ({"risk_f1": {"absolute": "x"}}, r"gate.metrics.risk_f1.absolute"),
    ({"risk_f1": {"relative": True}}, r"gate.metrics.risk_f1.relative"),
])
def test_bad_thresholds_name_the_key(spec, message):
    with pytest.raises(GateConfigError, match=message):
        parse_thresholds(spec)


def test_threshold_on_an_unknown_metric_is_refused():
    with pytest.raises(GateConfigError, match="risk_f11"):
        check_threshold_names(_thresholds(risk_f11={"absolute": 0.1}), ["risk_f1", "schema_valid"])
    check_threshold_names(_thresholds(risk_f1={"absolute": 0.1}), ["risk_f1"])


# --- per-sample metrics ------------------------------------------------------------------------------------


def test_significant_drop_beyond_threshold_regresses_paired():
    rng = np.random.default_rng(0)
    baseline = rng.random(200) < 0.9
    current = baseline & (rng.random(200) < 0.7)  # same items, about 27 of them now fail
    checks = gate_checks(_run(current), _run(baseline), [OK], _thresholds(schema_valid={"absolute": 0.05}),
                         task="contract_review", resamples=500)
    (row,) = checks
    assert CHECK_KEYS <= set(row)
    assert row["regressed"] and row["paired"] and row["test"] == "permutation-mc"
    assert row["delta"] < -0.05 and row["p_value"] == pytest.approx(1 / 501) and row["ci_high"] < 0  # smallest MC p
    assert (row["task"], row["candidate"], row["metric"], row["threshold_kind"]) == (
        "contract_review", "rft", "schema_valid", "absolute")
    assert not gate_summary(checks, "abc")["passed"]


def test_equal_run_passes():
    rng = np.random.default_rng(1)
    passes = rng.random(100) < 0.7
    tp, fp, fn = rng.integers(0, 3, 100), rng.integers(0, 2, 100), rng.integers(0, 2, 100)
    run = _run(passes, risk_tp=tp, risk_fp=fp, risk_fn=fn)
    checks = gate_checks(run, list(run), [OK, RISK_F1],
                         _thresholds(schema_valid={"absolute": 0.0}, risk_f1={"relative": 0.0}), resamples=300)
    assert [c["delta"] for c in checks] == [0.0, 0.0]
    assert [c["p_value"] for c in checks] == [1.0, 1.0]
    assert not any(c["regressed"] for c in checks)
    assert [c["test"] for c in checks] == ["permutation-exact", "permutation-exact"]  # nothing differs
    assert gate_summary(checks, None) == {"passed": True, "baseline_run_id": None, "checks": checks}


def test_small_insignificant_drop_beyond_threshold_passes():
    # 2 of 50 items flip from pass to fail: a drop of 0.04, beyond a zero threshold, but McNemar p = 0.5.
    baseline = np.ones(50, dtype=bool)
    current = baseline.copy()
    current[:2] = False
    (row,) = gate_checks(_run(current), _run(baseline), [OK], _thresholds(schema_valid={"absolute": 0.0}),
                         resamples=300)
    assert row["delta"] == pytest.approx(-0.04)
    assert row["p_value"] == pytest.approx(0.5)
    assert not row["regressed"]


def test_significant_drop_within_the_threshold_passes():
    # 40 of 1000 items flip: p is tiny but the drop (0.04) is within the allowed 0.05.
    baseline = np.ones(1000, dtype=bool)
    current = baseline.copy()
    current[:40] = False
    (row,) = gate_checks(_run(current), _run(baseline), [OK], _thresholds(schema_valid={"absolute": 0.05}),
                         resamples=300)
    assert row["p_value"] == pytest.approx(1 / 301) and not row["regressed"]  # the smallest p with 300 draws
    (relative,) = gate_checks(_run(current), _run(baseline), [OK], _thresholds(schema_valid={"relative": 0.02}),
                              resamples=300)
    assert relative["allowed_drop"] == pytest.approx(0.02) and relative["regressed"]


def test_lower_is_better_metric_regresses_when_it_rises():
    rng = np.random.default_rng(2)
    base = rng.poisson(2, 150)
    cur = base + rng.poisson(2, 150)
    agg = mean("n_comments", higher_is_better=False)
    (row,) = gate_checks(_run(np.ones(150), n_comments=cur), _run(np.ones(150), n_comments=base), [agg],
                         _thresholds(n_comments={"absolute": 0.5}), resamples=300)
    assert row["test"] == "permutation-mc" and row["delta"] > 1 and row["regressed"]


def test_disjoint_items_use_an_unpaired_permutation_test():
    rng = np.random.default_rng(3)
    baseline = _run(rng.random(300) < 0.9, prefix="old")
    current = _run(rng.random(300) < 0.6, prefix="new")
    (row,) = gate_checks(current, baseline, [OK], _thresholds(schema_valid={"absolute": 0.05}), resamples=500)
    assert not row["paired"] and row["test"] == "unpaired-permutation-mc" and row["n"] == 300
    assert row["regressed"] and row["ci_high"] < 0
    same_rate = _run(rng.random(300) < 0.9, prefix="new")
    (calm,) = gate_checks(same_rate, baseline, [OK], _thresholds(schema_valid={"absolute": 0.05}), resamples=500)
    assert not calm["regressed"]


def test_thresholds_on_other_names_are_left_to_gate_scalar_and_missing_values_never_regress():
    run = _run([1, 0, 1])
    rows = gate_checks(run, run, [OK], _thresholds(**{"agreement/spearman": {"absolute": 0.1}}))
    assert rows == []
    empty = [SampleRecord(candidate="rft", role="", item_id=r.item_id, output=None) for r in run]
    (row,) = gate_checks(empty, run, [OK], _thresholds(schema_valid={"absolute": 0.0}), resamples=50)
    assert not row["regressed"] and math.isnan(row["current"])


# --- precomputed scalars -------------------------------------------------------------------------------------


def test_gate_scalar_regresses_only_when_the_whole_interval_is_beyond_the_allowed_drop():
    threshold = GateThreshold("spearman", "absolute", 0.1)
    baseline = {"value": 0.6, "ci_low": 0.5, "ci_high": 0.7}
    collapsed = Estimate("spearman", 0.2, 0.1, 0.45, 120)
    row = gate_scalar("agreement/spearman/risk_f1", collapsed, baseline, threshold, task="t", candidate="rft")
    assert row["regressed"] and row["metric"] == "agreement/spearman/risk_f1" and row["test"] == "ci"
    assert row["delta"] == pytest.approx(-0.4) and row["ci_high"] == pytest.approx(-0.15) and row["n"] == 120
    assert math.isnan(row["p_value"]) and row["paired"] is False
    overlapping = {"value": 0.4, "ci_low": 0.2, "ci_high": 0.55}  # drop 0.2 but ci_high is above 0.5
    assert not gate_scalar("s", overlapping, baseline, threshold)["regressed"]
    undefined = {"value": None, "ci_low": None, "ci_high": None}
    assert not gate_scalar("s", undefined, baseline, threshold)["regressed"]
    rising_error = {"value": 0.5, "ci_low": 0.45, "ci_high": 0.55}
    lower = gate_scalar("err", rising_error, {"value": 0.3}, threshold, higher_is_better=False)
    assert lower["regressed"]


# --- scorer errors ----------------------------------------------------------------------------------------


def test_a_scorer_error_fails_the_gate_even_when_every_metric_holds():
    run = _run([1, 1, 0, 1] * 10)
    broken = [SampleRecord(candidate=r.candidate, role=r.role, item_id=r.item_id, output="", values=dict(r.values),
                           errors=[{"kind": "scorer_error", "message": "the scorer raised KeyError", "stage": "score"}]
                           if i in (3, 7) else []) for i, r in enumerate(run)]
    checks = gate_checks(broken, run, [OK], _thresholds(schema_valid={"absolute": 0.0}), resamples=200)
    metric_row, scorer_row = checks
    assert not metric_row["regressed"] and metric_row["delta"] == 0.0
    assert scorer_row["metric"] == "errors/scorer_error" and scorer_row["regressed"] is True
    assert [scorer_row[k] for k in ("current", "baseline", "test", "n")] == [2.0, 0.0, "count", 40]
    assert gate_summary(checks, "base")["passed"] is False
    # an input error is the sample's fault, not a scorer bug: no such row
    bad_input = [SampleRecord(candidate="rft", role="rft", item_id=r.item_id, output="", values=dict(r.values),
                              errors=[{"kind": "input_error", "message": "bad reference", "stage": "reference"}])
                 for r in run]
    assert [c["metric"] for c in gate_checks(bad_input, run, [OK], _thresholds(schema_valid={"absolute": 0.0}),
                                            resamples=200)] == ["schema_valid"]
