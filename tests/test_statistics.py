import math

import numpy as np
import pytest

from evals.stats.estimate import estimate
from metrics.aggregates import f1, mean, ratio


def test_mean_skips_samples_without_the_value():
    records = [{"x": 1.0}, {"x": 0.0}, {"y": 5.0}, {"x": 1.0}]
    result = estimate(mean("x"), records, resamples=200, seed=1)
    assert result.value == pytest.approx(2 / 3)
    assert result.n == 3
    assert 0.0 <= result.ci_low <= result.value <= result.ci_high <= 1.0


def test_ratio_and_f1_are_micro_averaged_over_samples():
    # tp/fp/fn per sample, summed: tp=3, fp=1, fn=2 -> P=3/4, R=3/5, F1=6/9
    records = [{"tp": 2, "fp": 0, "fn": 1}, {"tp": 1, "fp": 1, "fn": 0}, {"tp": 0, "fp": 0, "fn": 1}]
    precision = estimate(ratio("p", "tp", "pp"), [dict(r, pp=r["tp"] + r["fp"]) for r in records], seed=0)
    assert precision.value == pytest.approx(3 / 4)
    assert estimate(f1("f1", "tp", "fp", "fn"), records, seed=0).value == pytest.approx(6 / 9)


def test_zero_denominator_is_undefined_not_zero():
    records = [{"num": 0, "den": 0}, {"num": 0, "den": 0}]
    assert math.isnan(estimate(ratio("r", "num", "den"), records).value)


def test_no_samples_gives_nan_and_n_zero():
    result = estimate(mean("x"), [])
    assert result.n == 0 and math.isnan(result.value)


def test_bootstrap_is_seeded():
    rng = np.random.default_rng(3)
    records = [{"x": float(v)} for v in rng.random(50)]
    a = estimate(mean("x"), records, seed=7)
    b = estimate(mean("x"), records, seed=7)
    c = estimate(mean("x"), records, seed=8)
    assert (a.ci_low, a.ci_high) == (b.ci_low, b.ci_high)
    assert (a.ci_low, a.ci_high) != (c.ci_low, c.ci_high)


def test_bootstrap_interval_covers_the_true_mean_about_95_percent():
    # 200 simulated data sets of Bernoulli(0.3), n=80: the percentile interval should cover 0.3 in
    # roughly 95% of them (small-sample percentile intervals run a little narrow; allow 88-99%).
    rng = np.random.default_rng(0)
    covered = 0
    trials = 200
    for trial in range(trials):
        records = [{"x": float(v)} for v in (rng.random(80) < 0.3)]
        result = estimate(mean("x"), records, resamples=400, seed=trial)
        covered += result.ci_low <= 0.3 <= result.ci_high
    assert 0.88 <= covered / trials <= 0.99


def test_macro_f1_aggregate_equals_sklearn_and_skips_absent_classes():
    from sklearn.metrics import f1_score

    from metrics.aggregates import macro_f1

    rng = np.random.default_rng(3)
    classes = ["a", "b", "c", "never"]  # "never" has no gold and no prediction: left out, as sklearn's labels=
    gold, pred = rng.choice(classes[:3], 80), rng.choice(classes[:3], 80)
    records = [{f"x_{k}/{c}": float(v) for c in classes for k, v in
                (("tp", g == c and p == c), ("fp", p == c and g != c), ("fn", g == c and p != c))}
               for g, p in zip(gold, pred, strict=True)]
    result = estimate(macro_f1("macro", classes, "x"), records, resamples=200)
    assert result.value == pytest.approx(f1_score(gold, pred, labels=classes[:3], average="macro"))
    assert result.ci_low <= result.value <= result.ci_high
