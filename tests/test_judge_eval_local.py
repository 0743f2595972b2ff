"""`rft-evals judge-eval` offline with the local SmolLM2 judge (its numbers are poor: this checks the path)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from _data import DATA

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
@pytest.mark.parametrize("judge,data,extra", [
    ("pairwise", "llmbar", ["subsets=[Natural]"]),
    ("contract_review_rubric", "contract_review", ["probes_path=" + str(REPO / "tests" / "_one_probe.jsonl"),
                                                  "judge.max_reference_chars=1500", "judge.max_document_chars=1500"]),
])
def test_judge_eval_runs_offline_with_smollm2(tmp_path, judge, data, extra):
    pytest.importorskip("llama_cpp")
    from evals.suite.judge_eval import execute

    (REPO / "tests" / "_one_probe.jsonl").exists() or pytest.skip("probe fixture missing")
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        cfg = compose(config_name="judge_eval", overrides=[
            f"judge={judge}", f"data={data}", "limit=1", f"repeats={2 if data == 'llmbar' else 1}", f"data_root={DATA}",
            f"cache.path={tmp_path}/c.sqlite", f"tracking.uri=sqlite:///{tmp_path}/mlflow.db",
            "bootstrap.resamples=20", "judge.max_tokens=96", "judge.model.max_tokens=96", *extra])
        assert execute(cfg, tmp_path / "run") == 0
    (report,) = json.loads((tmp_path / "run" / "report.json").read_text())["judges"]
    figures = report["figures"]
    assert figures["judge_calls"] >= 2 and "cost_usd_per_1k_verdicts" in figures
    assert report["provider"] == "llamacpp"
    if data == "llmbar":
        assert figures["n/all"] == 1 and "position_consistency" in figures
    else:
        assert "kappa/actionability" in figures and "probe_flip_rate" in figures
