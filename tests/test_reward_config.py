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
    data = _cfg(components={"j": {"judge": "c"}}, judge={"criteria": {"c": "x"}, "model_id": "m"}, gates=["j"])
    with pytest.raises(RewardConfigError, match="gates run before the judge"):
        RewardConfig.from_mapping(data, "r.yaml")


def test_report_types_default_from_use():
    config = RewardConfig.from_mapping(_cfg(), "r.yaml")
    assert {c.name: c.report for c in config.components} == {"risk": "Reward", "fmt": "Metric"}
    assert RewardConfig.from_mapping(config.to_dict(), "again").to_dict() == config.to_dict()
