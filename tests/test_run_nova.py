"""`rft-evals run candidates=nova`: base, SFT and RFT on Bedrock, end to end through the real boto3 client,
served by the loopback fake Bedrock runtime. Usage and cost are logged per candidate."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.fakes.bedrock_server import FakeBedrock, Script, reply

SFT_ARN = "arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/sft-test"
RFT_ARN = "arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/rft-test"


def _env(server_url: str, data_root) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MLFLOW_", "RFT_NOVA"))}
    env.update({
        "RFT_DATA_DIR": str(data_root),
        "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": server_url,
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
        "RFT_NOVA_SFT_MODEL_ARN": SFT_ARN, "RFT_NOVA_RFT_MODEL_ARN": RFT_ARN,
    })
    return env


def _run(tmp_path, env, *overrides):
    command = [sys.executable, "-m", "evals.cli", "run", "candidates=nova", "limit=3",
               f"tracking.uri=sqlite:///{tmp_path}/mlflow.db", f"cache.path={tmp_path}/cache.sqlite",
               f"hydra.run.dir={tmp_path}/run", *overrides]
    return subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)


def test_nova_candidates_run_end_to_end_with_usage_and_cost(tmp_path, data_root):
    """With the prices shipped in conf/model (no overrides), every candidate shows a cost > 0 that equals its
    tokens times the prices of its resolved config."""
    from mlflow.tracking import MlflowClient
    from omegaconf import OmegaConf

    script = Script(default=reply('{"comments": []}'))
    with FakeBedrock(script) as server:
        result = _run(tmp_path, _env(server.url, data_root))
        assert result.returncode == 0, result.stdout + result.stderr
        assert server.requests("us.amazon.nova-2-lite-v1:0") == 3
        assert server.requests(SFT_ARN) == 3 and server.requests(RFT_ARN) == 3

    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert list(summary["candidates"]) == ["base", "sft", "rft"]
    resolved = OmegaConf.load(tmp_path / "run" / "resolved_config.yaml")
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path}/mlflow.db")
    for name, candidate in summary["candidates"].items():
        assert candidate["scored"] == 3
        price_in = resolved.candidates[name].price_per_1k_input
        price_out = resolved.candidates[name].price_per_1k_output
        assert price_in is not None and price_out is not None, f"{name}: the shipped config has no price"
        usage = candidate["usage"]
        assert usage["usage/input_tokens"] > 0 and usage["usage/output_tokens"] > 0
        expected = (usage["usage/input_tokens"] * price_in + usage["usage/output_tokens"] * price_out) / 1000
        assert usage["usage/cost_usd"] > 0
        assert usage["usage/cost_usd"] == pytest.approx(expected)
        logged = client.get_run(candidate["mlflow_run_id"]).data.metrics
        assert logged["usage/cost_usd"] == pytest.approx(expected, rel=1e-3)  # MLflow gets 4 significant digits
        assert "latency/p95_ms" in logged
    assert summary["candidates"]["sft"]["model_id"] == SFT_ARN


def test_unset_fine_tune_arn_stops_with_a_clear_message(tmp_path, data_root):
    with FakeBedrock(Script(default=reply('{"comments": []}'))) as server:
        env = _env(server.url, data_root)
        env.pop("RFT_NOVA_SFT_MODEL_ARN")
        result = _run(tmp_path, env, "tracking=none")
    assert result.returncode != 0
    message = result.stdout + result.stderr
    assert "RFT_NOVA_SFT_MODEL_ARN" in message


def test_unknown_model_stops_the_run_naming_config_and_field(tmp_path, data_root):
    from tests.fakes.bedrock_server import fault

    script = Script(default=fault("ValidationException", "The provided model identifier is invalid."))
    with FakeBedrock(script) as server:
        result = _run(tmp_path, _env(server.url, data_root), "tracking=none")
        # stopped early: far fewer calls than 3 candidates x 3 items x retries
        assert server.requests() <= 3
    assert result.returncode != 0
    message = result.stdout + result.stderr
    assert "nova_2_lite.yaml" in message and "model_id" in message
