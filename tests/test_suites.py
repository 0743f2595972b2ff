"""Every shipped suite composes: each task's run config builds, every role names a candidate that task runs,
and every gate threshold and agreement metric names something that task reports (a threshold on a metric a
task lacks would never fire)."""

from __future__ import annotations

import pytest
import yaml
from omegaconf import OmegaConf

from evals.suite.nightly import task_run_config
from evals.run.aggregates import aggregates_for
from evals.suite.config import SuiteConfig
from tasks.registry import build_task
from tests.conftest import REPO_ROOT

SUITES = sorted(p.stem for p in (REPO_ROOT / "conf" / "suite").glob("*.yaml"))
NIGHTLY = {"tracking": {"enabled": False, "uri": "", "experiment": "x"}, "cache": {"enabled": False, "path": "c"},
           "data_root": None}


def test_the_suites_cover_every_contract_task():
    assert {"local", "nightly", "quick"} <= set(SUITES)
    for name in ("nightly", "quick", "local"):
        suite = _suite(name)
        assert {t.name for t in suite.tasks} == {"contract_review", "cuad_risks", "nda_policy", "unfair_tos"}


def _suite(name: str) -> SuiteConfig:
    raw = yaml.safe_load((REPO_ROOT / "conf" / "suite" / f"{name}.yaml").read_text())
    return SuiteConfig.from_mapping(raw, f"conf/suite/{name}.yaml")


@pytest.mark.parametrize("name", SUITES)
def test_suite_tasks_compose_and_name_what_they_report(name, data_root, monkeypatch):
    monkeypatch.setenv("RFT_NOVA_SFT_MODEL_ARN", "arn:aws:bedrock:us-east-1:1:custom-model-deployment/s")
    monkeypatch.setenv("RFT_NOVA_RFT_MODEL_ARN", "arn:aws:bedrock:us-east-1:1:custom-model-deployment/r")
    suite = _suite(name)
    for spec in suite.tasks:
        cfg = OmegaConf.to_container(task_run_config(spec, suite, {**NIGHTLY, "data_root": str(data_root)}),
                                     resolve=True)
        task_suite = suite.for_task(spec.name)
        for role, candidate in task_suite.roles.items():
            if spec.only is None or candidate in spec.only:
                assert candidate in cfg["candidates"], f"{name}/{spec.name}: role {role} -> {candidate}"
        task = build_task(cfg["task"], data_root=data_root)
        reported = {a.name for a in aggregates_for(cfg, task)}
        if spec.reward:
            assert "reward" in reported, f"{name}/{spec.name}: the reward `{spec.reward}` did not compose"
        own = set(spec.gate_metrics or {})
        assert own <= reported, f"{name}/{spec.name}: gate names {sorted(own - reported)}"
        production = set(task_suite.agreement.production)
        assert production & reported or not production, f"{name}/{spec.name}: agreement names {production}"


def test_suite_summary_macro_averages_each_roles_reward_over_the_tasks_every_role_has(tmp_path):
    import math

    from evals.report import write_report
    from evals.suite._summary import suite_summary, summary_metrics

    def cand(role, reward, cost, errors):
        return {"role": role, "n": 4, "metrics": {"reward": {"value": reward}}, "usage": {"usage/cost_usd": cost},
                "errors": errors}

    tasks = {
        "contract_review": {"candidates": {"nova-rft": cand("rft", 0.8, 0.5, {"parse_error": 1}),
                                           "nova-base": cand("base", 0.4, 0.25, {})}},
        "unfair_tos": {"candidates": {"nova-rft": cand("rft", 0.6, 0.25, {}), "nova-base": cand("base", None, 0.0, {}),
                                      "<script>x</script>": cand(None, 1.0, 0.0, {})}},
    }
    summary = suite_summary(tasks)
    rft, base = summary["by_role"]["rft"], summary["by_role"]["base"]
    # base has no reward on unfair_tos: both roles are averaged over contract_review only, so they compare
    assert summary["common_tasks"] == ["contract_review"]
    assert rft["reward_macro"] == pytest.approx(0.8) and rft["cost_usd"] == pytest.approx(0.75) and rft["errors"] == 1
    assert base["reward_macro"] == pytest.approx(0.4) and base["tasks_with_reward"] == 1 and base["tasks"] == 2
    assert rft["tasks_with_reward"] == 2 and any("unfair_tos" in note for note in summary["notes"])
    assert set(summary["by_role"]) == {"rft", "base"}  # a candidate without a role is not summarised
    metrics = summary_metrics(summary)
    assert metrics["suite/rft/reward_macro"] == pytest.approx(0.8) and all(not math.isnan(v) for v in metrics.values())

    nightly = {"suite": "s", "tasks": {name: {**task, "comparisons": []} for name, task in tasks.items()},
               "suite_summary": summary, "gate": {"passed": None, "checks": []}}
    files = write_report(nightly, tmp_path)
    html = files.html.read_text(encoding="utf-8")
    assert "Suite summary" in html and "0.800" in html
    assert "RFT 0.800" in files.markdown.read_text(encoding="utf-8")
