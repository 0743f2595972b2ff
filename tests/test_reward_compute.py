"""compute_reward: gates, judge errors, neutral values, ranges, and real answers through the real scorer."""

from __future__ import annotations

from pathlib import Path

import pytest

from metrics.errors import ClassifiedError, ErrorKind
from metrics.reward import compute_reward, needs_judge
from metrics.reward.config import RewardConfig
from metrics.reward.sample import reward_for_sample, reward_from_record
from _data import require_dataset

JUDGED = {
    "components": {
        "fmt": {"metric": "schema_valid", "report": "Metric"},
        "risk": {"metric": "risk_f1"},
        "ground": {"metric": "grounding"},
        "j1": {"judge": "c1"},
    },
    "formula": "0.5 * risk + 0.25 * ground + 0.25 * j1",
    "gates": ["fmt"],
    "judge": {"model_id": "m", "criteria": [{"name": "c1", "question": "Does it pass?"}]},
}
VALUES = {"schema_valid": 1.0, "risk_tp": 1.0, "risk_fp": 1.0, "risk_fn": 0.0, "grounded_excerpts": 1.0,
          "total_excerpts": 2.0}


def test_weighted_mean_and_range_mapping():
    data = {"components": {"risk": {"metric": "risk_f1", "weight": 3}, "ground": {"metric": "grounding", "weight": 1}}}
    unit = (3 * (2 / 3) + 1 * 0.5) / 4
    assert compute_reward(VALUES, [], None, None, RewardConfig.from_mapping(data)).score == unit
    wide = RewardConfig.from_mapping({**data, "range": [-1, 1], "neutral": 0.0})
    assert compute_reward(VALUES, [], None, None, wide).score == -1 + 2 * unit


def test_formula_with_judge_scores():
    config = RewardConfig.from_mapping(JUDGED)
    assert needs_judge(VALUES, [], config)
    result = compute_reward(VALUES, [], {"c1": 1.0}, None, config)
    assert result.score == 0.5 * (2 / 3) + 0.25 * 0.5 + 0.25 * 1.0
    assert {c.name: c.type for c in result.components} == {"fmt": "Metric", "risk": "Reward", "ground": "Reward",
                                                           "j1": "Reward"}


def test_failed_gate_gives_minimum_without_judge():
    config = RewardConfig.from_mapping(JUDGED)
    values = {**VALUES, "schema_valid": 0.0}
    assert not needs_judge(values, [], config)
    result = compute_reward(values, [], None, None, config)
    assert (result.score, result.gate, result.neutral) == (0.0, "fmt", False)

    class Boom:
        def parts_for(self, criteria):
            return criteria

        def score_part(self, *a, **k):
            raise AssertionError("the judge must not be called when a gate fails")

    assert reward_from_record(values, [], config, Boom(), "x", {}).score == 0.0


def test_judge_error_and_missing_scores_are_neutral():
    config = RewardConfig.from_mapping({**JUDGED, "neutral": 0.4})
    error = ClassifiedError(ErrorKind.THROTTLED, "retries exhausted", "judge")
    result = compute_reward(VALUES, [], None, error, config)
    assert (result.score, result.error, result.neutral) == (0.4, error, True)
    assert compute_reward(VALUES, [], None, None, config).error.kind is ErrorKind.JUDGE
    assert compute_reward(VALUES, [], {"other": 1.0}, None, config).neutral


def test_unscorable_sample_is_neutral_with_its_error():
    config = RewardConfig.from_mapping(JUDGED)
    bad = {"kind": "input_error", "message": "bad reference", "stage": "reference"}
    result = compute_reward({}, [bad], None, None, config)
    assert result.neutral and result.error.kind is ErrorKind.INPUT and result.error.message == "bad reference"
    missing = compute_reward({"schema_valid": 1.0}, [], {"c1": 1.0}, None, config)
    assert missing.neutral and "risk_tp" in missing.error.message


@pytest.fixture(scope="module")
def task():
    from tasks.registry import build_task
    import yaml

    root = Path(__file__).resolve().parent.parent
    cfg = yaml.safe_load((root / "conf/task/contract_review.yaml").read_text())
    return build_task(cfg, data_root=require_dataset("claudette"))


def test_real_answers_through_the_scorer(task):
    from evals.rft.bundle import load_reward_config

    config = load_reward_config("contract_review_deterministic")
    rows = [r for r in task.rows("test") if r["gold"]][:5]
    for row in rows:
        _, gold = reward_for_sample(task.render_gold(row), task.reference(row), task.score, config)
        _, empty = reward_for_sample('{"comments": []}', task.reference(row), task.score, config)
        _, broken = reward_for_sample('{"comments": [', task.reference(row), task.score, config)
        assert gold.score == 1.0 and empty.score < gold.score and broken.score == 0.0 and broken.gate == "format"
