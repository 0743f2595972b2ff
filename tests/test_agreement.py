"""evals/stats/agreement.py: correlations equal scipy's, kappa and AUROC equal scikit-learn's, bootstrap replicates
equal the same libraries on the resampled data, undefined cases are NaN, and the disagreement lists hold the
right samples with their texts."""

import json
import math
import warnings

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import cohen_kappa_score, roc_auc_score

import evals.stats.agreement as agreement
from evals.stats.agreement import (agreement_block, agreement_section, agreement_stats, bootstrap_weights,
                                   policy_agreement)
from evals.json_safe import json_safe
from evals.samples.records import SampleRecord
from evals.samples.scores import sample_score
from metrics.aggregates import f1, macro_f1, mean, ratio

RISK_F1 = f1("risk_f1", "risk_tp", "risk_fp", "risk_fn")


def _data(n=80, seed=0):
    rng = np.random.default_rng(seed)
    production = np.round(rng.random(n), 1)  # rounded: ties on purpose
    reward = np.round(np.clip(production + rng.normal(0, 0.3, n), 0, 1), 2)
    return reward, production


def test_point_values_equal_scipy_and_sklearn():
    reward, production = _data()
    out = agreement_stats(reward, production, reward_threshold=0.6, production_threshold=0.5, resamples=200)
    assert out["n"] == 80
    assert out["spearman"]["value"] == pytest.approx(stats.spearmanr(reward, production).statistic, rel=1e-12)
    assert out["kendall"]["value"] == pytest.approx(stats.kendalltau(reward, production).statistic, rel=1e-12)
    assert out["kappa"]["value"] == pytest.approx(cohen_kappa_score(reward >= 0.6, production >= 0.5), rel=1e-12)
    assert out["auroc"]["value"] == pytest.approx(roc_auc_score(production >= 0.5, reward), rel=1e-12)
    assert (out["reward_threshold"], out["production_threshold"]) == (0.6, 0.5)
    for name in agreement.STATISTICS:
        assert out[name]["ci_low"] <= out[name]["value"] <= out[name]["ci_high"]
    assert out["spearman"]["ci_low"] > 0.3  # the simulated reward tracks production


def test_bootstrap_replicates_equal_the_libraries_on_the_resampled_samples():
    # The replicates are computed from weights; each must equal scipy / sklearn on the expanded sample.
    reward, production = _data(n=40, seed=3)
    clusters = [f"item{i // 2}" for i in range(40)]  # two samples per item, as when pooling candidates
    weights = bootstrap_weights(clusters, 6, seed=1)
    assert np.all(weights[:, 0::2] == weights[:, 1::2])  # an item's samples move together
    r_pass, p_pass = reward >= 0.5, production >= 0.5
    reps = {name: agreement._replicates(name, reward, production, r_pass, p_pass, weights)
            for name in agreement.STATISTICS}
    for row in range(6):
        idx = np.repeat(np.arange(40), weights[row].astype(int))
        r, p = reward[idx], production[idx]
        assert reps["spearman"][row] == pytest.approx(stats.spearmanr(r, p).statistic, rel=1e-9)
        assert reps["kendall"][row] == pytest.approx(stats.kendalltau(r, p).statistic, rel=1e-9)
        assert reps["kappa"][row] == pytest.approx(cohen_kappa_score(r >= 0.5, p >= 0.5), rel=1e-9)
        assert reps["auroc"][row] == pytest.approx(roc_auc_score(p >= 0.5, r), rel=1e-9)


def test_constant_inputs_one_class_and_tiny_n_are_nan_not_errors():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing may leak a warning either
        constant = agreement_stats([0.2, 0.4, 0.9, 0.7], [1.0, 1.0, 1.0, 1.0], resamples=100)
        assert math.isnan(constant["spearman"]["value"]) and math.isnan(constant["kendall"]["value"])
        assert math.isnan(constant["auroc"]["value"])  # every sample passes: no negatives
        assert math.isnan(constant["spearman"]["ci_low"])
        assert constant["kappa"]["value"] == pytest.approx(
            cohen_kappa_score([False, False, True, True], [True] * 4))
        for n in (0, 1):
            tiny = agreement_stats([0.5] * n, [0.5] * n, resamples=100)
            assert tiny["n"] == n and all(math.isnan(tiny[s]["value"]) for s in agreement.STATISTICS)
        both_constant = agreement_stats([1.0, 1.0, 1.0], [1.0, 1.0, 1.0], resamples=50)
        assert math.isnan(both_constant["kappa"]["value"])


def test_nan_and_missing_values_are_left_out():
    out = agreement_stats([0.1, math.nan, 0.5, 0.9, 0.3], [0.0, 1.0, math.nan, 1.0, 0.0], resamples=100)
    assert out["n"] == 3
    assert out["spearman"]["value"] == pytest.approx(stats.spearmanr([0.1, 0.9, 0.3], [0.0, 1.0, 0.0]).statistic)
    with pytest.raises(ValueError, match="one per sample"):
        agreement_stats([0.1, 0.2], [0.1])


def test_per_sample_scores_of_each_aggregate_kind():
    assert sample_score(RISK_F1, {"risk_tp": 0, "risk_fp": 0, "risk_fn": 0}) == 1.0  # nothing to find, nothing flagged
    assert sample_score(RISK_F1, {"risk_tp": 1, "risk_fp": 1, "risk_fn": 0}) == pytest.approx(2 / 3)
    assert sample_score(RISK_F1, {"risk_tp": 0, "risk_fp": 2, "risk_fn": 0}) == 0.0
    assert math.isnan(sample_score(RISK_F1, {"risk_tp": 1}))
    assert math.isnan(sample_score(ratio("g", "n", "d"), {"n": 0, "d": 0}))
    assert sample_score(ratio("g", "n", "d"), {"n": 1, "d": 4}) == 0.25
    assert sample_score(mean("ok"), {"ok": 1.0}) == 1.0
    macro = macro_f1("m", ["x", "y"], "r")
    values = {"r_tp/x": 1, "r_fp/x": 0, "r_fn/x": 1, "r_tp/y": 0, "r_fp/y": 0, "r_fn/y": 0}
    assert sample_score(macro, values) == pytest.approx(2 / 3)  # y has nothing: left out of the mean
    assert sample_score(macro, dict.fromkeys(values, 0)) == 1.0


def _record(candidate, item, reward, tp, fp, fn, valid=1.0, output=None):
    values = {"reward": reward, "risk_tp": tp, "risk_fp": fp, "risk_fn": fn, "schema_valid": valid}
    return SampleRecord(candidate=candidate, role="", item_id=item, output=output or f"{candidate}:{item}",
                        values=values)


def test_block_uses_per_sample_f1_and_lists_disagreements_both_ways_with_texts():
    records = [
        _record("rft", "w1", 0.95, 0, 3, 1, output="hacked " * 50),  # F1 0: high reward, nothing right
        _record("rft", "w2", 0.70, 0, 1, 0),  # F1 0, reward just above threshold: milder suspect
        _record("rft", "w3", 0.10, 2, 0, 0),  # F1 1, low reward: underrated
        _record("rft", "w4", 0.80, 1, 0, 0),  # agrees
        _record("rft", "w5", 0.20, 0, 0, 0),  # F1 1.0 (nothing to find, nothing flagged), low reward
        SampleRecord(candidate="rft", role="", item_id="w6", output=None),  # failed generation: no values
    ]
    documents = {"w1": "Terms of Service. " * 100, "w3": "short document"}
    block = agreement_block(records, {"risk_f1": 0.5}, aggregates=[RISK_F1], documents=documents, top_k=2,
                            resamples=100, excerpt_chars=40, output_chars=30)
    assert block["reward_metric"] == "reward"
    assert block["production"]["risk_f1"]["n"] == 5
    assert [p["production"]["risk_f1"] for p in block["points"]] == [0.0, 0.0, 1.0, 1.0, 1.0]
    suspects = block["reward_hacking_suspects"]
    assert [s["item_id"] for s in suspects] == ["w1", "w2"]
    first = suspects[0]
    assert (first["candidate"], first["reward"], first["production"], first["production_metric"]) == (
        "rft", 0.95, 0.0, "risk_f1")
    assert first["output"].endswith("…") and len(first["output"]) <= 31
    assert first["document"].startswith("Terms of Service.") and len(first["document"]) <= 41
    assert suspects[1]["document"] is None
    underrated = block["underrated"]
    assert [u["item_id"] for u in underrated] == ["w3", "w5"]
    assert underrated[0]["document"] == "short document"


def test_section_has_each_candidate_within_itself_and_serialises():
    rng = np.random.default_rng(1)
    by = {c: [_record(c, f"w{i}", float(rng.random()), float(rng.integers(0, 3)), float(rng.integers(0, 2)),
                      float(rng.integers(0, 2)), valid=float(rng.random() < 0.8)) for i in range(30)]
          for c in ("base", "rft")}
    section = agreement_section(by, {"risk_f1": 0.5, "schema_valid": 1.0}, aggregates=[RISK_F1], resamples=100)
    assert set(section) == {"base", "rft"}  # within each candidate; nothing pooled across them
    assert section["rft"]["production"]["risk_f1"]["n"] == 30
    assert section["rft"]["production"]["schema_valid"]["production_threshold"] == 1.0
    assert {p["candidate"] for p in section["rft"]["points"]} == {"rft"}
    json.dumps(json_safe(section), allow_nan=False)
    listed = agreement_section(by, ["schema_valid"], resamples=50)  # a list of names: threshold 0.5
    assert listed["rft"]["production"]["schema_valid"]["production_threshold"] == 0.5
    with pytest.raises(ValueError, match="production"):
        agreement_section(by, "schema_valid")


def test_judge_criteria_values_are_read_as_they_are():
    records = [SampleRecord(candidate="c", role="", item_id=f"w{i}", output="",
                            values={"reward": r, "judge/grounding": g})
               for i, (r, g) in enumerate([(0.9, 1.0), (0.8, 1.0), (0.3, 0.0), (0.2, 0.0), (0.6, 0.0)])]
    block = agreement_block(records, {"judge/grounding": 1.0}, resamples=100)
    entry = block["production"]["judge/grounding"]
    assert entry["auroc"]["value"] == pytest.approx(1.0)
    assert entry["kappa"]["value"] == pytest.approx(cohen_kappa_score([1, 1, 0, 0, 1], [1, 1, 0, 0, 0]))
    assert [s["item_id"] for s in block["reward_hacking_suspects"]] == ["w4"]


def test_policy_agreement_orders_candidates_and_names_the_pairs_ordered_the_other_way():
    # Hand-computed: rewards 0.85 / 0.80 / 0.60, F1 0.0 / 0.5 / 0.4 (an always-empty policy out-earns two honest
    # ones). Pairs: (empty, honest) and (empty, weak) are discordant, (honest, weak) concordant: tau = -1/3.
    values = {"empty": {"reward": 0.85, "risk_f1": 0.0, "n_comments": 0.0},
              "honest": {"reward": 0.80, "risk_f1": 0.5, "n_comments": 3.0},
              "weak": {"reward": 0.60, "risk_f1": 0.4, "n_comments": 5.0},
              "broken": {"reward": None, "risk_f1": 0.9}}
    out = policy_agreement(values, "reward", ["risk_f1", "n_comments"], {"n_comments": False})
    f1 = out["production"]["risk_f1"]
    assert f1["n"] == 3 and f1["pairs"] == 3  # "broken" has no reward: left out
    assert f1["kendall"] == pytest.approx(-1 / 3)
    assert f1["spearman"] == pytest.approx(stats.spearmanr([0.85, 0.8, 0.6], [0.0, 0.5, 0.4]).statistic)
    assert [(d["reward_prefers"], d["metric_prefers"]) for d in f1["discordant"]] == [
        ("empty", "honest"), ("empty", "weak")]  # largest metric gap first
    assert f1["discordant"][0]["reward_gap"] == pytest.approx(0.05)
    assert f1["discordant"][0]["metric_gap"] == pytest.approx(0.5)
    # lower is better: fewer comments is "better", which the reward orders exactly so
    assert out["production"]["n_comments"]["kendall"] == pytest.approx(1.0)
    assert out["production"]["n_comments"]["discordant"] == []
    two = policy_agreement({"a": {"reward": 1.0, "m": 2.0}}, "reward", ["m"])
    assert two["production"]["m"]["n"] == 1 and math.isnan(two["production"]["m"]["kendall"])
