"""`rft-evals run` end to end through the console script: the local candidates (real SmolLM2 and the
baseline) on 3 real items, logged to a temporary SQLite MLflow store and read back with MlflowClient."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def _run(tmp: Path, data_root: Path, *overrides: str, run_dir: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RFT_DATA_DIR": str(data_root), "COLUMNS": "160"}
    env.pop("MLFLOW_TRACKING_URI", None)
    env.pop("RFT_CACHE_DIR", None)
    command = [
        sys.executable, "-m", "evals.cli", "run", "limit=3",
        f"tracking.uri=sqlite:///{tmp}/mlflow.db", f"cache.path={tmp}/cache.sqlite",
        f"hydra.run.dir={tmp}/{run_dir}", *overrides,
    ]
    return subprocess.run(command, cwd=tmp, env=env, capture_output=True, text=True, timeout=900)


def _summary(tmp: Path, run_dir: str) -> dict:
    return json.loads((tmp / run_dir / "summary.json").read_text())


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory, data_root):
    tmp = tmp_path_factory.mktemp("cli")
    first = _run(tmp, data_root, run_dir="first")
    assert first.returncode == 0, first.stdout + first.stderr
    second = _run(tmp, data_root, run_dir="second")
    assert second.returncode == 0, second.stdout + second.stderr
    return tmp, first, second


def test_run_prints_tables_and_run_id(two_runs):
    _, first, _ = two_runs
    out = first.stdout
    for candidate in ("smollm2_zero_shot", "smollm2_few_shot", "tfidf_baseline"):
        assert candidate in out
    assert "risk_f1" in out and "95% CI" in out
    assert "MLflow run id:" in out


def test_run_folder_has_every_record(two_runs):
    tmp, _, _ = two_runs
    summary = _summary(tmp, "first")
    assert set(summary["candidates"]) == {"smollm2_zero_shot", "smollm2_few_shot", "tfidf_baseline"}
    for name, candidate in summary["candidates"].items():
        lines = (tmp / "first" / "records" / f"{name}.jsonl").read_text().splitlines()
        records = [json.loads(line) for line in lines]
        assert len(records) == 3
        # nothing lost: each record is scored or carries a classified error
        assert all(r["values"] or r["errors"] for r in records)
        assert candidate["n"] == 3
    assert (tmp / "first" / "resolved_config.yaml").exists()


def test_second_run_makes_no_model_calls_and_logs_the_same_numbers(two_runs):
    tmp, _, _ = two_runs
    first, second = _summary(tmp, "first"), _summary(tmp, "second")
    for name in first["candidates"]:
        assert second["candidates"][name]["model_calls"] == 0
        assert first["candidates"][name]["model_calls"] == 3
        assert second["candidates"][name]["metrics"] == first["candidates"][name]["metrics"]


def test_mlflow_has_parent_and_nested_runs_with_metrics_params_and_table(two_runs):
    from mlflow.tracking import MlflowClient

    tmp, _, _ = two_runs
    summary = _summary(tmp, "first")
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp}/mlflow.db")
    parent_id = summary["meta"]["mlflow_parent_run_id"]
    parent = client.get_run(parent_id)
    assert parent.info.status == "FINISHED"
    assert parent.data.tags["task"] == "contract_review"
    assert parent.data.tags["data_fingerprint"] == summary["meta"]["data_fingerprint"]
    assert parent.data.params["limit"] == "3"
    children = client.search_runs([parent.info.experiment_id], f"tags.mlflow.parentRunId = '{parent_id}'")
    assert {c.data.tags["candidate"] for c in children} == set(summary["candidates"])
    for child in children:
        name = child.data.tags["candidate"]
        assert child.data.tags["role"] == summary["candidates"][name]["role"]
        assert child.data.tags["prompt_template_hash"]
        assert child.data.tags["git_commit"]
        assert child.data.metrics["samples"] == 3
        logged = summary["candidates"][name]["metrics"]["json_valid"]["value"]
        assert child.data.metrics["json_valid"] == pytest.approx(logged, rel=1e-3)  # logged to 4 digits
        assert "provider" in child.data.params
        # the resolved model id (the config's may be null: the GGUF's file name), never "None"
        assert child.data.params["model_id"] == summary["candidates"][name]["model_id"] != "None"
        artifacts = {a.path for a in client.list_artifacts(child.info.run_id)}
        assert "samples.json" in artifacts
        table = json.loads(Path(client.download_artifacts(child.info.run_id, "samples.json", str(tmp))).read_text())
        assert len(table["data"]) == 3
        columns = table["columns"]
        for metric, estimate in summary["candidates"][name]["metrics"].items():
            if estimate["value"] is not None:  # every metric the run reports has per-sample values in the table
                assert any(row[columns.index(metric)] is not None for row in table["data"]), (name, metric)
        assert all(row[columns.index("input")] and row[columns.index("gold")] for row in table["data"])
    names = {c.data.tags["candidate"]: c.data.params["name"] for c in children}
    assert names["smollm2_few_shot"] == "smollm2-few-shot" and names["smollm2_zero_shot"] == "smollm2-zero-shot"


def test_unknown_config_option_lists_valid_options(tmp_path, data_root):
    result = _run(tmp_path, data_root, "candidates=no_such_set", run_dir="bad")
    assert result.returncode != 0
    assert "no_such_set" in result.stderr and "local" in result.stderr


def test_missing_data_is_one_clear_message(tmp_path):
    env = {**os.environ, "RFT_DATA_DIR": str(tmp_path / "empty")}
    env.pop("RFT_DEBUG", None)
    result = subprocess.run([sys.executable, "-m", "evals.cli", "run", "limit=1", "tracking=none",
                             f"hydra.run.dir={tmp_path}/run"], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 2
    assert "rft-evals data fetch" in result.stderr and "claudette/" in result.stderr
    assert "Traceback" not in result.stderr
