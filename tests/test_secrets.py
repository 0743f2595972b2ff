"""Secrets never reach MLflow, logs, run folders or reports: fake AWS keys, a session token, a bearer token, an
API key and a URL with credentials are planted in the environment and the config of a real run, and every
byte the run leaves behind is searched for them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fakes.bedrock_server import FakeBedrock, Script, reply

pytestmark = pytest.mark.slow

ACCESS_KEY = "AKIAPLANTEDFAKE12345"
SECRET_KEY = "plantedSecretAccessKey0123456789abcdefXYZ"
SESSION_TOKEN = "IQoJb3JpZ2luX2VjEPlantedSessionToken0123456789abcdef"
BEARER = "plantedbearertoken0123456789"
API_KEY = "sk-plantedapikey0123456789abcdef"
URL_PASSWORD = "plantedUrlPassw0rd"
SECRETS = (ACCESS_KEY, SECRET_KEY, SESSION_TOKEN, BEARER, API_KEY, URL_PASSWORD)


def _leaks(blob: bytes) -> list[str]:
    return [secret for secret in SECRETS if secret.encode() in blob]


def test_planted_secrets_appear_nowhere(tmp_path, data_root):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MLFLOW_", "RFT_NOVA"))}
    with FakeBedrock(Script(default=reply('{"comments": []}'))) as server:
        env.update({"RFT_DATA_DIR": str(data_root), "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": server.url,
                    "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
                    "AWS_SESSION_TOKEN": SESSION_TOKEN, "AWS_DEFAULT_REGION": "us-east-1",
                    "RFT_NOVA_SFT_MODEL_ARN": "arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/s",
                    "RFT_NOVA_RFT_MODEL_ARN": "arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/r",
                    "OPENAI_API_KEY": API_KEY, "RFT_DEBUG": ""})
        command = [sys.executable, "-m", "evals.cli", "run", "candidates=nova", "limit=2", "~candidates.rft",
                   f"tracking.uri=sqlite:///{tmp_path}/mlflow.db", f"cache.path={tmp_path}/cache.sqlite",
                   f"hydra.run.dir={tmp_path}/run",
                   # secrets pasted into the config, as users do by mistake
                   f"+candidates.base.api_key={API_KEY}",
                   f"+candidates.base.extra_headers.Authorization=Bearer {BEARER}",
                   f"+candidates.sft.aws_secret_access_key={SECRET_KEY}",
                   f"+candidates.sft.aws_session_token={SESSION_TOKEN}",
                   f"+candidates.sft.notes=key {ACCESS_KEY} mirror https://alice:{URL_PASSWORD}@mirror.example.com/x",
                   f"run_name=nightly https://bob:{URL_PASSWORD}@tracking.example.com"]
        result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert _leaks((result.stdout + result.stderr).encode()) == []

    # Every file the run wrote: run folder (records, summary, config, logs, Hydra's own files), the MLflow store
    # and its artifacts. The planted values must be absent, byte for byte.
    leaked = {str(path.relative_to(tmp_path)): found for path in sorted(tmp_path.rglob("*"))
              if path.is_file() and path.name != "cache.sqlite" and (found := _leaks(path.read_bytes()))}
    assert leaked == {}

    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path}/mlflow.db")
    runs = client.search_runs([client.get_experiment_by_name("rft-evals").experiment_id])
    assert len(runs) == 3  # the parent and two candidates really were logged
    sft = next(r for r in runs if r.data.tags.get("candidate") == "sft")  # run names also carry the role
    assert sft.data.params["aws_secret_access_key"] == "***REDACTED***"
    assert "***REDACTED***" in sft.data.params["notes"]


def test_resume_refuses_a_redacted_override(tmp_path):
    from evals.run.resume import ResumeError, resume_argv

    run = tmp_path / "run"
    (run / ".hydra").mkdir(parents=True)
    (run / ".hydra" / "overrides.yaml").write_text("- limit=2\n- +candidates.base.api_key=***REDACTED***\n")
    with pytest.raises(ResumeError, match="environment"):
        resume_argv([f"resume={run}"])
    assert Path(run / ".hydra" / "overrides.yaml").exists()
