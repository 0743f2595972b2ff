"""`rft-evals run judge=...`: the judge's per-criterion pass rates become run metrics with CIs, logged to
MLflow, and each record carries its verdicts. The judge (GPT OSS config) is served by the fake Bedrock."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.fakes.bedrock_server import FakeBedrock, Script, reply

CRITERIA = ("target_document_grounding", "reference_consistency", "actionability")


def _verdicts(model_id, body):
    # grounding passes, the other two fail: pass rates 1, 0, 0 are easy to check
    verdict = {c: {"justification": "checked", "verdict": "pass" if c == CRITERIA[0] else "fail"} for c in CRITERIA}
    return reply(json.dumps(verdict))


def test_judge_pass_rates_are_run_metrics(tmp_path, data_root):
    from mlflow.tracking import MlflowClient

    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MLFLOW_"))}
    with FakeBedrock(Script(respond=_verdicts)) as server:
        env.update({"RFT_DATA_DIR": str(data_root), "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": server.url,
                    "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                    "AWS_DEFAULT_REGION": "us-east-1"})
        command = [sys.executable, "-m", "evals.cli", "run", "limit=4", "judge=contract_review_rubric_gpt_oss",
                   "~candidates.smollm2_zero_shot", "~candidates.smollm2_few_shot",
                   f"tracking.uri=sqlite:///{tmp_path}/mlflow.db", f"cache.path={tmp_path}/cache.sqlite",
                   f"hydra.run.dir={tmp_path}/run"]
        result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stdout + result.stderr
        assert server.requests() >= 4  # every baseline answer was judged (non-empty ones at least)

    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    metrics = summary["candidates"]["tfidf_baseline"]["metrics"]
    judged = metrics[f"judge/{CRITERIA[0]}"]["n"]
    assert judged >= 1
    assert metrics[f"judge/{CRITERIA[0]}"]["value"] == pytest.approx(1.0)
    assert metrics[f"judge/{CRITERIA[1]}"]["value"] == pytest.approx(0.0)
    assert "judge/" + CRITERIA[0] in result.stdout

    lines = (tmp_path / "run" / "records" / "tfidf_baseline.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    assert len(records) == 4
    assert sum(f"judge/{CRITERIA[0]}" in r["values"] for r in records) == judged

    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path}/mlflow.db")
    logged = client.get_run(summary["candidates"]["tfidf_baseline"]["mlflow_run_id"]).data.metrics
    assert logged[f"judge/{CRITERIA[0]}"] == pytest.approx(1.0)
    assert f"judge/{CRITERIA[0]}_ci_low" in logged
    assert logged["judge_usage/calls"] >= 1
