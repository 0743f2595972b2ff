"""evals/suite/_metrics.py: nightly.json flattened to MLflow metrics, keyed by role, zeros kept, NaN dropped."""

import pytest

from evals.suite._metrics import suite_task_metrics, task_metrics

TASK = {
    "candidates": {"tfidf": {"role": "rft"}, "smol": {"role": "base"}, "other": {}},
    "comparisons": [{"metric": "risk_f1", "a": "tfidf", "b": "smol", "diff": 0.25, "ci_low": -0.1, "ci_high": 0.6,
                     "p_value": 0.5, "p_holm": 1.0, "mde": None, "wins": 2, "ties": 0, "losses": 1},
                    {"metric": "json valid?", "a": "other", "b": "smol", "diff": 0.0, "ci_low": 0.0,
                     "ci_high": 0.0, "p_value": 1.0, "p_holm": 1.0, "mde": float("nan"), "wins": 0, "ties": 3,
                     "losses": 0}],
    "agreement": {"tfidf": {"production": {"risk_f1": {"n": 3, "spearman": {"value": 0.5}, "kendall": {"value": None},
                                                       "kappa": {}, "auroc": {"value": 1.0}}}}},
    "policy_agreement": {"production": {"risk_f1": {"n": 3, "kendall": -1 / 3, "spearman": -0.5,
                                                    "discordant": [{"reward_prefers": "tfidf"}]}}},
}
GATE = {"checks": [{"task": "t", "candidate": "tfidf", "metric": "reward", "delta": -0.2, "p_value": 0.01,
                    "mde": 0.1, "regressed": True},
                   {"task": "other_task", "candidate": "tfidf", "metric": "reward", "delta": 0.0}]}


def test_task_metrics_are_keyed_by_role_keep_zeros_and_drop_undefined():
    m = task_metrics("t", TASK, GATE)
    assert m["compare/rft-base/risk_f1/diff"] == 0.25 and m["compare/rft-base/risk_f1/losses"] == 1
    assert "compare/rft-base/risk_f1/mde" not in m  # null: MLflow charts no NaN
    assert m["compare/other-base/json valid_/diff"] == 0.0  # zero kept; the odd character made safe
    assert "compare/other-base/json valid_/mde" not in m
    assert m["agreement/rft/risk_f1/spearman"] == 0.5 and m["agreement/rft/risk_f1/n"] == 3
    assert "agreement/rft/risk_f1/kendall" not in m and "agreement/rft/risk_f1/kappa" not in m
    assert m["policy_agreement/risk_f1/kendall"] == pytest.approx(-1 / 3)
    assert m["policy_agreement/risk_f1/discordant_pairs"] == 1
    assert m["gate/rft/reward/regressed"] == 1.0 and m["gate/rft/reward/mde"] == 0.1
    assert not any(k.startswith("gate/") and "other_task" in k for k in m)


def test_suite_run_gets_every_task_with_its_name_in_front():
    m = suite_task_metrics({"tasks": {"t": TASK}, "gate": GATE})
    assert m["t/compare/rft-base/risk_f1/diff"] == 0.25 and m["t/gate/rft/reward/delta"] == -0.2
