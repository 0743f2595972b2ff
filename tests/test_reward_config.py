"""Reward config and formula: validated at load time, errors name the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from metrics.reward.config import RewardConfig, RewardConfigError
from metrics.reward.formula import FormulaError, FormulaEvaluationError, compile_formula

CONF = Path(__file__).resolve().parent.parent / "conf" / "reward"


def _cfg(**overrides):
    data = {"components": {"risk": {"metric": "risk_f1"}, "fmt": {"metric": "schema_valid", "weight": 0}}}
    data.update(overrides)
    return data


@pytest.mark.parametrize("name", sorted(p.stem for p in CONF.glob("*.yaml")))
def test_shipped_reward_configs_load(name):
    config = RewardConfig.from_mapping(yaml.safe_load((CONF / f"{name}.yaml").read_text()), f"conf/reward/{name}.yaml")
    assert config.gates and config.components


def test_formula_whitelist_and_values():
    f = compile_formula("0.5 * a + max(b, 0.25) - min(a, b) / 2", {"a", "b"})
    assert f({"a": 1.0, "b": 0.0}) == 0.5 + 0.25 - 0.0
    assert f.names == {"a", "b"}
    for bad, fragment in [("a ** 2", "not allowed"), ("__import__('os')", "may be called"), ("c + 1", "unknown name"),
                          ("a +", "syntax error"), ("'x'", "only numbers"), ("max(a)", "two or more"),
                          ("a if b else 1", "not allowed"), ("(" * 400 + "a" + ")" * 400, "nested|too")]:
        with pytest.raises(FormulaError, match=fragment):
            compile_formula(bad, {"a", "b"})
    with pytest.raises(FormulaEvaluationError, match="divides by zero"):
        compile_formula("a / b", {"a", "b"})({"a": 1.0, "b": 0.0})


def test_bad_formula_names_file_and_key():
    with pytest.raises(RewardConfigError, match=r"conf/reward/x.yaml: key formula: unknown name 'riskk'"):
        RewardConfig.from_mapping({"components": {"risk": {"metric": "risk_f1"}}, "formula": "riskk + 1"},
                                  "conf/reward/x.yaml")


@pytest.mark.parametrize("change, fragment", [
    ({"range": [1, 0]}, "key range"),
    ({"neutral": 2.0}, "key neutral"),
    ({"components": {"a": {"metric": "nope"}}}, "components.a.metric"),
    ({"components": {"a": {"metric": "risk_f1", "judge": "x"}}}, "exactly one"),
    ({"components": {"a": {"judge": "crit"}}}, "judge.criteria"),
    ({"gates": ["missing"]}, r"gates\[0\].component"),
    ({"formula": "risk", "components": {"risk": {"metric": "risk_f1", "weight": 1}}}, "exclude each other"),
    ({"components": {"a": {"metric": "risk_f1", "weight": 0}}}, "no component counts"),
    ({"bogus": 1}, "unknown"),
])
def test_invalid_configs_are_rejected(change, fragment):
    with pytest.raises(RewardConfigError, match=fragment):
        RewardConfig.from_mapping(_cfg(**change), "r.yaml")


def test_gate_on_judge_component_is_rejected():
    judge = {"criteria": [{"name": "c", "question": "x?"}], "model_id": "m"}
    data = _cfg(components={"j": {"judge": "c"}}, judge=judge, gates=["j"])
    with pytest.raises(RewardConfigError, match="gates run before the judge"):
        RewardConfig.from_mapping(data, "r.yaml")


def test_report_types_default_from_use():
    config = RewardConfig.from_mapping(_cfg(), "r.yaml")
    assert {c.name: c.report for c in config.components} == {"risk": "Reward", "fmt": "Metric"}
    assert RewardConfig.from_mapping(config.to_dict(), "again").to_dict() == config.to_dict()


def test_reward_judge_is_the_production_rubric():
    """The reward's judge section is a rubric judge config whose criteria are the production judge's
    (conf/judge/contract_review_rubric.yaml), word for word: the reward and the judge cannot drift."""
    from metrics.judges.config import judge_from_config

    reward = yaml.safe_load((CONF / "contract_review.yaml").read_text())
    production = yaml.safe_load((CONF.parent / "judge" / "contract_review_rubric.yaml").read_text())
    assert reward["judge"]["criteria"] == production["criteria"]
    assert reward["judge"]["instructions"] == production["instructions"]
    judge = judge_from_config(reward["judge"])  # the format metrics/judges/config.py reads
    config = RewardConfig.from_mapping(reward, "conf/reward/contract_review.yaml")
    assert set(config.criteria) == {c.name for c in judge.criteria}


@pytest.mark.parametrize("judge, fragment", [
    ({"model_id": "m", "criteria": {"c": "passes"}}, "list of"),  # the old name -> text mapping
    ({"model_id": "m", "criteria": [{"name": "other", "question": "q?"}]}, r"\['c'\] are used"),
    ({"model_id": "m", "criteria": [{"name": "c"}]}, "needs a `question`"),
    # a preference judge gives `preference` and `position_consistency`, not rubric criteria
    ({"model_id": "m", "kind": "pairwise", "criteria": [{"name": "c", "question": "q?"}]},
     r"the preference judge gives only \['preference', 'position_consistency'\]"),
    ({"model_id": "m", "kind": "elo", "criteria": [{"name": "c", "question": "q?"}]}, "not a reward judge kind"),
    ({"model_id": "m", "kind": "scale", "dimensions": [{"name": "c"}]}, "needs an identifier `name` and a `question`"),
    ({"model_id": "m", "mode": "sometimes", "criteria": [{"name": "c", "question": "q?"}]}, "mode"),
])
def test_bad_judge_sections_are_rejected(judge, fragment):
    data = _cfg(components={"risk": {"metric": "risk_f1"}, "j": {"judge": "c"}}, judge=judge)
    with pytest.raises(RewardConfigError, match=fragment):
        RewardConfig.from_mapping(data, "r.yaml")
