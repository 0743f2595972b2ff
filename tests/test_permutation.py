"""evals/stats/permutation.py: on a grid of simulated cases (every metric kind, paired and unpaired, sizes from 2 to
300, no effect to a large one), the 95% interval excludes 0 exactly when p < 0.05; tiny samples are never
significant; hand-checked small cases."""

import itertools

import numpy as np
import pytest

from evals.stats.permutation import paired_permutation, unpaired_permutation
from metrics.aggregates import AggregateKind

KINDS = (AggregateKind.MEAN, AggregateKind.RATIO, AggregateKind.F1, AggregateKind.MACRO_F1)


def _simulate(kind: AggregateKind, n: int, effect: float, rng: np.random.Generator, binary: bool
              ) -> tuple[np.ndarray, np.ndarray]:
    """Per-item inputs of two candidates on the same items; a is better by about `effect`."""
    if kind is AggregateKind.MEAN:
        z = rng.normal(0, 1, n)
        if binary:
            base = 1 / (1 + np.exp(-z))
            return ((rng.random(n) < np.clip(base + effect, 0, 1)).astype(float)[:, None],
                    (rng.random(n) < base).astype(float)[:, None])
        return (z + effect + rng.normal(0, 0.5, n))[:, None], (z + rng.normal(0, 0.5, n))[:, None]
    if kind is AggregateKind.RATIO:
        den = rng.integers(0, 4, n).astype(float)
        return (np.column_stack([rng.binomial(den.astype(int), min(1, 0.5 + effect)), den]),
                np.column_stack([rng.binomial(den.astype(int), 0.5), den]))
    classes = 1 if kind is AggregateKind.F1 else 3
    sides = []
    for recall in (min(1, 0.5 + effect), 0.5):
        cols = []
        for _ in range(classes):
            gold = rng.poisson(1.0, n)
            tp = rng.binomial(gold, recall)
            cols += [tp, rng.poisson(0.4, n), gold - tp]
        sides.append(np.column_stack(cols).astype(float))
    return sides[0], sides[1]


GRID = [(kind, n, effect, binary) for kind, n, effect, binary
        in itertools.product(KINDS, (2, 3, 5, 8, 20, 60, 300), (0.0, 0.1, 0.4), (True, False))
        if kind is AggregateKind.MEAN or not binary]  # pass/fail (binary) applies to means only


@pytest.mark.parametrize(("kind", "n", "effect", "binary"), GRID)
def test_interval_excludes_zero_exactly_when_p_is_below_alpha(kind, n, effect, binary):
    for seed in range(4):
        rng = np.random.default_rng(hash((kind.value, n, effect, seed)) % 2**32)
        a, b = _simulate(kind, n, effect, rng, binary)
        for result in (paired_permutation(kind, a, b, resamples=400, seed=seed),
                       unpaired_permutation(kind, a, b, resamples=400, seed=seed)):
            if np.isnan(result.p_value):
                assert np.isnan(result.ci_low) and np.isnan(result.ci_high)  # undefined on both sides
                continue
            excludes_zero = result.ci_low > 0 or result.ci_high < 0
            assert excludes_zero == (result.p_value < 0.05), (result, kind, n, effect)
            assert result.ci_low <= result.diff <= result.ci_high
            if n <= 5:  # no difference on 5 paired items or fewer can reach p < 0.05 (2 / 2^5 = 0.0625)
                assert result.p_value >= 0.05 or not result.exact


@pytest.mark.parametrize("kind", KINDS)
def test_two_items_are_never_significant(kind):
    # The worst case of the old mix of tests: a perfect sweep on 2 items looked significant to the bootstrap.
    perfect = {AggregateKind.MEAN: [1.0], AggregateKind.RATIO: [1.0, 1.0], AggregateKind.F1: [1.0, 0.0, 0.0],
               AggregateKind.MACRO_F1: [1.0, 0.0, 0.0] * 2}[kind]
    wrong = {AggregateKind.MEAN: [0.0], AggregateKind.RATIO: [0.0, 1.0], AggregateKind.F1: [0.0, 1.0, 1.0],
             AggregateKind.MACRO_F1: [0.0, 1.0, 1.0] * 2}[kind]
    result = paired_permutation(kind, np.array([perfect, perfect]), np.array([wrong, wrong]))
    assert result.diff == pytest.approx(1.0)
    assert result.exact and result.permutations == 4 and result.p_value == pytest.approx(0.5)
    assert result.ci_low <= 0 <= result.ci_high
    assert not result.detectable and np.isnan(result.mde)


def test_mcnemar_equivalence_and_minimum_detectable_effect():
    # 7 discordant items all in a's favour: exact p = 2 / 2^7; the MDE is finite and above the critical value.
    a = np.array([[1.0]] * 7 + [[1.0]] * 13)
    b = np.array([[0.0]] * 7 + [[1.0]] * 13)
    result = paired_permutation(AggregateKind.MEAN, a, b)
    assert result.exact and result.permutations == 128
    assert result.p_value == pytest.approx(2 / 128)
    assert result.ci_low > 0 and result.detectable and result.mde > result.critical


def test_identical_candidates_have_p_one_and_a_zero_interval():
    a = np.array([[1.0, 0.0, 2.0], [0.0, 1.0, 0.0]])
    result = paired_permutation(AggregateKind.F1, a, a.copy())
    assert (result.diff, result.p_value, result.ci_low, result.ci_high) == (0.0, 1.0, 0.0, 0.0)
