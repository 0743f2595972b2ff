"""cost_credit: a count-based reward component (1 - charged cost / budget), and its config validation."""

from __future__ import annotations

import pytest

from metrics.reward.components import MissingValueError, cost_credit
from metrics.reward.compute import compute_reward
from metrics.reward.config import RewardConfig, RewardConfigError

COSTS = {"risk_fn": 1.0, "risk_fp": 0.25}


def test_cost_credit_by_hand():
    assert cost_credit({"risk_fn": 0, "risk_fp": 0}, COSTS, 4.0) == 1.0
    assert cost_credit({"risk_fn": 1, "risk_fp": 2}, COSTS, 4.0) == pytest.approx(1 - 1.5 / 4)  # 0.625
    assert cost_credit({"risk_fn": 5, "risk_fp": 0}, COSTS, 4.0) == 0.0  # clipped at 0
    with pytest.raises(MissingValueError, match="risk_fp"):
        cost_credit({"risk_fn": 1}, COSTS, 4.0)


def _config(**review):
    return RewardConfig.from_mapping({"components": {
        "format": {"metric": "schema_valid", "weight": 0.0},
        "review": {"metric": "cost_credit", "weight": 1.0, **review}},
        "gates": ["format"]}, "test.yaml")


def test_the_empty_answer_is_charged_for_what_it_misses():
    config = _config(costs=COSTS, budget=4.0)
    clean_window = {"schema_valid": 1.0, "risk_fn": 0.0, "risk_fp": 0.0}
    missed_two = {"schema_valid": 1.0, "risk_fn": 2.0, "risk_fp": 0.0}
    found_both_one_false_flag = {"schema_valid": 1.0, "risk_fn": 0.0, "risk_fp": 1.0}
    assert compute_reward(clean_window, [], None, None, config).score == 1.0
    assert compute_reward(missed_two, [], None, None, config).score == pytest.approx(0.5)
    assert compute_reward(found_both_one_false_flag, [], None, None, config).score == pytest.approx(0.9375)


@pytest.mark.parametrize("review, message", [
    ({"budget": 4.0}, "costs"),
    ({"costs": {}, "budget": 4.0}, "costs"),
    ({"costs": {"risk_fn": -1.0}, "budget": 4.0}, "costs.risk_fn"),
    ({"costs": COSTS}, "budget"),
    ({"costs": COSTS, "budget": 0}, "budget"),
])
def test_bad_costs_name_the_key(review, message):
    with pytest.raises(RewardConfigError, match=message):
        _config(**review)


def test_costs_belong_to_cost_credit_only():
    with pytest.raises(RewardConfigError, match="only the `cost_credit` metric"):
        RewardConfig.from_mapping({"components": {"f": {"metric": "risk_f1", "costs": COSTS}}}, "t.yaml")


def test_audit_thresholds_are_validated():
    base = {"components": {"f": {"metric": "risk_f1"}}}
    config = RewardConfig.from_mapping({**base, "audit": {"min_kendall": 0.8}}, "t.yaml")
    assert config.audit.min_kendall == 0.8 and config.audit.quality_floor == 0.25
    with pytest.raises(RewardConfigError, match="audit"):
        RewardConfig.from_mapping({**base, "audit": {"kendall": 0.8}}, "t.yaml")
    with pytest.raises(RewardConfigError, match="audit.min_kendall"):
        RewardConfig.from_mapping({**base, "audit": {"min_kendall": "high"}}, "t.yaml")
