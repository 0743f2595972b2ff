"""evals/stats/paired.py against known answers: the permutation test equal to hand-computed McNemar and sign-flip
p-values, McNemar and Wilcoxon helpers against scipy, a hand-worked Holm example, Wilson intervals, and the
coverage of the permutation interval on simulated data with a known difference."""

import json
import math
from fractions import Fraction
from itertools import product

import numpy as np
import pytest
from scipy import stats

from evals.json_safe import json_safe
from evals.stats.paired import (
    align,
    bootstrap_p_value,
    compare_candidates,
    holm,
    mcnemar,
    paired_metric,
    wilcoxon,
    win_rate,
)
from evals.samples.records import SampleRecord
from metrics.aggregates import f1, macro_f1, mean, ratio

COMPARISON_KEYS = {"metric", "a", "b", "n_pairs", "a_value", "b_value", "diff", "ci_low", "ci_high", "test",
                   "p_value", "p_holm", "wins", "ties", "losses", "higher_is_better", "permutations", "mde"}
PAIRWISE_KEYS = {"a", "b", "n", "win_rate", "ci_low", "ci_high", "wins", "ties", "losses", "inconsistent"}


def _pass_fail(cells: dict[tuple[int, int], int]) -> tuple[list[dict], list[dict]]:
    """Paired 0/1 records from the four cells of a 2x2 table (a outcome, b outcome) -> count."""
    a, b = [], []
    for (x, y), count in cells.items():
        a += [{"ok": float(x)}] * count
        b += [{"ok": float(y)}] * count
    return a, b


def _binomial_two_sided(k: int, n: int) -> float:
    """Exact two-sided sign-test p-value with p = 1/2, by hand: 2 * P(X <= min(k, n - k)), capped at 1."""
    tail = sum(Fraction(math.comb(n, i), 2**n) for i in range(min(k, n - k) + 1))
    return float(min(Fraction(1), 2 * tail))


# --- McNemar ---------------------------------------------------------------------------------------------


def test_mcnemar_exact_small_table_by_hand():
    # 2 items only a passes, 8 only b passes: P(X <= 2 | n = 10) = (1 + 10 + 45) / 1024, doubled.
    a, b = _pass_fail({(1, 1): 20, (1, 0): 2, (0, 1): 8, (0, 0): 5})
    result = paired_metric(mean("ok"), a, b, resamples=200)
    assert result.test == "permutation-exact" and result.permutations == 2**10  # the 10 discordant items
    assert result.p_value == pytest.approx(112 / 1024, rel=1e-12)
    assert result.ci_low <= 0 <= result.ci_high  # p > 0.05 and the interval agrees
    assert result.p_value == pytest.approx(stats.binomtest(2, 10, 0.5).pvalue, rel=1e-12)
    assert (result.wins, result.ties, result.losses) == (2, 25, 8)
    assert result.diff == pytest.approx((22 - 28) / 35)


def test_mcnemar_textbook_presidential_approval():
    # Agresti, Categorical Data Analysis: approval of the same 1,600 people in two surveys,
    # 794 approve both times, 150 approve then disapprove, 86 disapprove then approve, 570 disapprove twice.
    a, b = _pass_fail({(1, 1): 794, (1, 0): 150, (0, 1): 86, (0, 0): 570})
    x, y = np.array([r["ok"] for r in a]), np.array([r["ok"] for r in b])
    assert mcnemar(x, y) == pytest.approx(_binomial_two_sided(86, 236), rel=1e-9)
    assert mcnemar(x, y) < 1e-4
    # 236 discordant items: Monte Carlo swaps; no draw reaches the observed difference, so p is 1 / (B + 1).
    permuted = paired_metric(mean("ok"), a, b, resamples=200)
    assert permuted.test == "permutation-mc" and permuted.p_value == pytest.approx(1 / 201)
    assert permuted.diff == pytest.approx((944 - 880) / 1600) and permuted.ci_low > 0
    # Chi-square with continuity correction: (|150 - 86| - 1)^2 / 236 on 1 df; sf(x) = erfc(sqrt(x / 2)).
    statistic = 63**2 / 236
    assert mcnemar(x, y, "chi2") == pytest.approx(math.erfc(math.sqrt(statistic / 2)), rel=1e-9)


def test_mcnemar_without_discordant_pairs_is_one_and_equal_discordant_chi2_is_one():
    same = np.array([1, 0, 1, 1])
    assert mcnemar(same, same) == 1.0
    assert mcnemar(same, same, "chi2") == 1.0
    a, b = np.array([1, 1, 0, 0]), np.array([0, 0, 1, 1])  # 2 vs 2: the correction clips the statistic at 0
    assert mcnemar(a, b, "chi2") == 1.0
    with pytest.raises(ValueError, match="mcnemar"):
        mcnemar(a, b, "mid-p")


# --- Wilcoxon ----------------------------------------------------------------------------------------------


def test_score_permutation_is_exact_by_enumerating_signs():
    # Sum of d = 5.7; of the 64 sign patterns, those with |sum| >= 5.7 give the p-value (counted by hand
    # here by enumeration); the interval is d-bar +- the 4th largest |mean| (ceil(0.05 * 64) = 4).
    d = np.array([1.5, -0.5, 2.0, 3.1, -1.2, 0.8])
    null = sorted((abs(sum(x if s else -x for x, s in zip(d, signs, strict=True))) / 6
                   for signs in product([0, 1], repeat=6)), reverse=True)
    p_hand = np.mean([v >= abs(d.sum()) / 6 - 1e-12 for v in null])
    b = np.linspace(1, 2, 6)
    result = paired_metric(mean("s"), [{"s": x} for x in b + d], [{"s": x} for x in b], resamples=200)
    assert result.test == "permutation-exact" and result.permutations == 64
    assert result.p_value == pytest.approx(p_hand, rel=1e-12)
    assert result.ci_low == pytest.approx(d.mean() - null[3]) and result.ci_high == pytest.approx(d.mean() + null[3])


def test_wilcoxon_equals_scipy_on_fixed_scores_with_ties_and_zeros():
    rng = np.random.default_rng(11)
    a = np.round(rng.random(60), 1)
    b = np.round(np.clip(a + rng.normal(0.05, 0.15, 60), 0, 1), 1)
    for zero_method in ("wilcox", "pratt", "zsplit"):
        expected = stats.wilcoxon(a, b, zero_method=zero_method).pvalue
        assert wilcoxon(a, b, zero_method) == pytest.approx(expected, rel=1e-12)


def test_wilcoxon_with_no_difference_is_one():
    assert wilcoxon(np.array([0.2, 0.5]), np.array([0.2, 0.5])) == 1.0
    assert math.isnan(wilcoxon(np.array([]), np.array([])))


# --- the permutation interval ------------------------------------------------------------------------------


def test_paired_bootstrap_interval_covers_a_known_difference_about_95_percent(record_property):
    # 300 simulated data sets of n = 200 paired scores: a shared item difficulty z makes the two candidates
    # correlated, a is better by exactly 0.05 in expectation. The paired percentile interval should cover
    # 0.05 in about 95% of them (binomial sd over 300 trials is 1.3 points).
    delta, trials, n = 0.05, 300, 200
    covered = 0
    for trial in range(trials):
        rng = np.random.default_rng(10_000 + trial)
        z = rng.normal(0, 1, n)
        a = 0.5 + 0.3 * z + rng.normal(0, 0.2, n) + delta
        b = 0.5 + 0.3 * z + rng.normal(0, 0.2, n)
        result = paired_metric(mean("s"), [{"s": x} for x in a], [{"s": x} for x in b], resamples=500, seed=trial)
        covered += result.ci_low <= delta <= result.ci_high
    coverage = covered / trials
    record_property("paired_bootstrap_coverage", coverage)
    print(f"paired permutation 95% CI coverage of a known mean difference: {coverage:.3f} ({trials} x n={n})")
    assert 0.91 <= coverage <= 0.995


@pytest.mark.slow
def test_paired_bootstrap_interval_covers_a_known_f1_difference(record_property):
    # Micro F1 from per-sample (tp, fp, fn): gold ~ Poisson(1), a finds each gold risk with probability
    # 0.85 (0.4 on hard items, 30% of them), b with 0.65 (0.2); false positives Poisson(0.3) vs (0.5).
    # Population F1 = 2 E[tp] / (2 E[tp] + E[fp] + E[fn]).
    trials, n = 200, 200
    ea, eb = 0.3 * 0.4 + 0.7 * 0.85, 0.3 * 0.2 + 0.7 * 0.65
    truth = 2 * ea / (2 * ea + 0.3 + 1 - ea) - 2 * eb / (2 * eb + 0.5 + 1 - eb)
    covered = 0
    for trial in range(trials):
        rng = np.random.default_rng(20_000 + trial)
        gold = rng.poisson(1.0, n)
        hard = rng.random(n) < 0.3
        tp_a = rng.binomial(gold, np.where(hard, 0.4, 0.85))
        tp_b = rng.binomial(gold, np.where(hard, 0.2, 0.65))
        fp_a, fp_b = rng.poisson(0.3, n), rng.poisson(0.5, n)
        rec_a = [{"tp": tp_a[i], "fp": fp_a[i], "fn": gold[i] - tp_a[i]} for i in range(n)]
        rec_b = [{"tp": tp_b[i], "fp": fp_b[i], "fn": gold[i] - tp_b[i]} for i in range(n)]
        result = paired_metric(f1("f1", "tp", "fp", "fn"), rec_a, rec_b, resamples=500, seed=trial)
        assert result.test == "permutation-mc"
        covered += result.ci_low <= truth <= result.ci_high
    coverage = covered / trials
    record_property("paired_bootstrap_f1_coverage", coverage)
    print(f"paired permutation 95% CI coverage of a known F1 difference: {coverage:.3f} ({trials} x n={n})")
    assert 0.90 <= coverage <= 0.985


def test_paired_resampling_is_tighter_than_the_candidates_own_intervals():
    # Strongly correlated candidates: the paired interval of the difference must be much narrower than the
    # spread an unpaired comparison would see (each mean alone varies by about 0.3 / sqrt(n) * 2 * 1.96).
    rng = np.random.default_rng(5)
    z = rng.normal(0, 1, 300)
    a, b = z + 0.1 + rng.normal(0, 0.05, 300), z + rng.normal(0, 0.05, 300)
    result = paired_metric(mean("s"), [{"s": x} for x in a], [{"s": x} for x in b], seed=1)
    assert result.ci_high - result.ci_low < 0.05
    assert result.ci_low > 0.05 and result.p_value == pytest.approx(1 / 1001)  # the smallest p with 1000 draws


def test_f1_uses_the_permutation_test_and_identical_candidates_get_p_one():
    rng = np.random.default_rng(2)
    records = [{"tp": float(t), "fp": float(f), "fn": float(m)}
               for t, f, m in zip(rng.integers(0, 3, 80), rng.integers(0, 2, 80), rng.integers(0, 2, 80), strict=True)]
    result = paired_metric(f1("f1", "tp", "fp", "fn"), records, records, resamples=300)
    assert result.test == "permutation-exact"  # no item differs: one arrangement
    assert (result.diff, result.ci_low, result.ci_high, result.p_value) == (0.0, 0.0, 0.0, 1.0)
    assert (result.wins, result.losses, result.ties) == (0, 0, 80)
    worse = [dict(r, tp=0.0, fn=r["fn"] + r["tp"]) for r in records]  # b finds nothing
    better = paired_metric(f1("f1", "tp", "fp", "fn"), records, worse, resamples=300)
    assert better.diff > 0.3 and better.ci_low > 0
    assert better.p_value == pytest.approx(1 / 301)  # no swap reaches the observed gap: the smallest p, B = 300


def test_bootstrap_p_value_is_symmetric_and_counts_zero_on_both_sides():
    assert bootstrap_p_value(np.array([0.0, 0.0, 0.0])) == 1.0
    assert bootstrap_p_value(np.array([1.0, 2.0, -1.0, 3.0])) == pytest.approx(2 * 2 / 5)
    assert bootstrap_p_value(-np.array([1.0, 2.0, -1.0, 3.0])) == pytest.approx(2 * 2 / 5)
    assert math.isnan(bootstrap_p_value(np.array([math.nan])))


def test_ratio_per_sample_wins_treat_undefined_as_ties_and_lower_is_better_flips_wins():
    a = [{"n": 1, "d": 2}, {"n": 2, "d": 2}, {"n": 0, "d": 0}, {"n": 1, "d": 1}]
    b = [{"n": 2, "d": 2}, {"n": 1, "d": 2}, {"n": 1, "d": 1}, {"n": 1, "d": 1}]
    result = paired_metric(ratio("acc", "n", "d"), a, b, resamples=100)
    assert (result.wins, result.ties, result.losses) == (1, 2, 1)
    assert result.a_value == pytest.approx(4 / 5) and result.b_value == pytest.approx(5 / 6)
    lower = paired_metric(mean("n_comments", higher_is_better=False), [{"n_comments": 1.0}, {"n_comments": 5.0}],
                          [{"n_comments": 3.0}, {"n_comments": 2.0}], resamples=100)
    assert (lower.wins, lower.losses, lower.higher_is_better) == (1, 1, False)


def test_items_missing_the_metric_on_either_side_are_not_paired_and_no_pairs_is_nan():
    a = [{"x": 1.0}, {}, {"x": 0.0}]
    b = [{"x": 1.0}, {"x": 1.0}, {}]
    result = paired_metric(mean("x"), a, b, resamples=50)
    assert result.n_pairs == 1
    empty = paired_metric(mean("x"), [{}, {}], [{}, {}], resamples=50)
    assert empty.n_pairs == 0 and math.isnan(empty.diff) and math.isnan(empty.p_value)
    with pytest.raises(ValueError, match="not aligned"):
        paired_metric(mean("x"), a, b[:2])


def test_macro_f1_is_compared_with_the_permutation_test():
    agg = macro_f1("macro", ["x", "y"], "risk")
    keys = [f"risk_{c}/{k}" for k in ("x", "y") for c in ("tp", "fp", "fn")]
    rng = np.random.default_rng(4)
    a = [dict(zip(keys, map(float, rng.integers(0, 3, 6)), strict=True)) for _ in range(40)]
    b = [dict(zip(keys, map(float, rng.integers(0, 3, 6)), strict=True)) for _ in range(40)]
    result = paired_metric(agg, a, b, resamples=200)
    assert result.test == "permutation-mc" and result.n_pairs == 40 and result.ci_low <= result.diff <= result.ci_high


# --- Holm --------------------------------------------------------------------------------------------------


def test_holm_hand_worked_example():
    # sorted: 0.005 x 4 = 0.02, 0.01 x 3 = 0.03, 0.03 x 2 = 0.06, 0.04 x 1 = 0.04 -> max(0.06, 0.04) = 0.06
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])


def test_holm_caps_at_one_keeps_order_and_skips_nan():
    assert holm([0.5, 0.6]) == [1.0, 1.0]
    adjusted = holm([0.01, math.nan, 0.02])
    assert adjusted[0] == pytest.approx(0.02) and math.isnan(adjusted[1]) and adjusted[2] == pytest.approx(0.02)
    assert holm([]) == []
    rng = np.random.default_rng(0)
    p = rng.random(12) ** 3
    adj = np.array(holm(p))
    order = np.argsort(p)
    assert np.all(np.diff(adj[order]) >= 0) and np.all(adj >= p) and np.all(adj <= 1)


# --- records, candidates -----------------------------------------------------------------------------------


def _record(candidate: str, item: str, **values: float) -> SampleRecord:
    return SampleRecord(candidate=candidate, role="", item_id=item, output=f"{candidate} on {item}",
                        values=dict(values))


def test_align_keeps_shared_items_in_order_and_counts_the_dropped():
    records = {
        "rft": [_record("rft", i, ok=1.0) for i in ("w1", "w2", "w3", "w2")],
        "sft": [_record("sft", i, ok=0.0) for i in ("w3", "w1", "w4")],
    }
    aligned = align(records)
    assert aligned.item_ids == ["w1", "w3"]
    assert [r.item_id for r in aligned.records["sft"]] == ["w1", "w3"]
    assert aligned.dropped == {"rft": 2, "sft": 1}
    assert aligned.values["rft"] == [{"ok": 1.0}, {"ok": 1.0}]


def test_compare_candidates_rows_match_the_nightly_contract_and_holm_within_a_pair():
    rng = np.random.default_rng(8)
    items = [f"w{i}" for i in range(60)]
    by = {
        name: [_record(name, i, ok=float(rng.random() < p), score=float(rng.random() + shift),
                       tp=float(rng.integers(0, 3)), fp=float(rng.integers(0, 2)), fn=float(rng.integers(0, 2)))
               for i in items]
        for name, p, shift in (("rft", 0.8, 0.2), ("sft", 0.5, 0.0), ("base", 0.4, 0.0))
    }
    aggregates = [mean("ok"), mean("score"), f1("risk_f1", "tp", "fp", "fn")]
    rows = compare_candidates(by, aggregates, [("rft", "sft"), ("rft", "base")], resamples=300, seed=1)
    assert len(rows) == 6
    assert all(set(row) == COMPARISON_KEYS for row in rows)
    assert {r["test"] for r in rows} == {"permutation-mc"}
    for pair in (rows[:3], rows[3:]):
        assert [r["p_holm"] for r in pair] == pytest.approx(holm([r["p_value"] for r in pair]))
    assert rows[0]["a"] == "rft" and rows[0]["b"] == "sft" and rows[0]["n_pairs"] == 60
    assert rows[0]["wins"] + rows[0]["ties"] + rows[0]["losses"] == 60
    json.dumps(json_safe(rows), allow_nan=False)
    with pytest.raises(ValueError, match="nova_rft"):
        compare_candidates(by, aggregates, [("nova_rft", "sft")])


# --- pairwise judge win rate -------------------------------------------------------------------------------


def test_win_rate_counts_and_wilson_interval_equal_scipy_without_ties():
    row = win_rate(["a"] * 8 + ["b"] * 2, a="rft", b="sft")
    assert set(row) == PAIRWISE_KEYS
    assert (row["n"], row["wins"], row["losses"], row["ties"], row["win_rate"]) == (10, 8, 2, 0, 0.8)
    wilson = stats.binomtest(8, 10).proportion_ci(confidence_level=0.95, method="wilson")
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((wilson.low, wilson.high), rel=1e-9)
    assert (row["a"], row["b"]) == ("rft", "sft")


def test_win_rate_splits_ties_and_counts_inconsistent_verdicts_as_ties():
    row = win_rate(["a", "a", "a", "a", "a", "tie", "tie", "b", "b", "inconsistent", "B"])
    assert (row["n"], row["wins"], row["ties"], row["losses"], row["inconsistent"]) == (11, 5, 3, 3, 1)
    assert row["win_rate"] == pytest.approx((5 + 1.5) / 11)
    assert 0 <= row["ci_low"] < row["win_rate"] < row["ci_high"] <= 1
    empty = win_rate([])
    assert empty["n"] == 0 and math.isnan(empty["win_rate"]) and math.isnan(empty["ci_low"])
    with pytest.raises(ValueError, match="outcome #1"):
        win_rate(["a", "draw"])


def test_json_safe_turns_nan_and_inf_into_null_recursively():
    data = {"x": math.nan, "y": [1.0, np.float64("inf"), {"z": np.int64(3)}], 2: (np.bool_(True), None)}
    safe = json_safe(data)
    assert safe == {"x": None, "y": [1.0, None, {"z": 3}], "2": [True, None]}
    json.dumps(safe, allow_nan=False)
