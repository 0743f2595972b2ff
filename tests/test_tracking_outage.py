"""Tracking outages against a real `mlflow server` on 127.0.0.1: the run completes when the server is down
(at the start or half way), says so, keeps every result in the run folder, and `rft-evals sync RUN_DIR`
uploads it once the server is back, without logging a candidate twice."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from _fake_bedrock_env import fake_bedrock_env

from tests.fakes.bedrock_server import FakeBedrock, Script, reply

pytestmark = pytest.mark.slow

BASE = "us.amazon.nova-2-lite-v1:0"
SFT_ARN = "arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/sft-test"
RFT_ARN = "arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/rft-test"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class MlflowServer:
    """`mlflow server` in its own process group (it starts workers: stop the whole group)."""

    def __init__(self, root: Path, port: int):
        self.root, self.port = root, port
        self.url = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen | None = None

    def start(self, timeout_s: float = 120.0) -> MlflowServer:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
        command = [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(self.port),
                   "--backend-store-uri", f"sqlite:///{self.root}/server.db",
                   "--artifacts-destination", str(self.root / "artifacts"), "--workers", "1"]
        self.process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                        start_new_session=True)
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=2) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise AssertionError(f"mlflow server did not answer /health on {self.url} within {timeout_s} s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)
        self.process = None


def _env(server_url: str, data_root: Path) -> dict[str, str]:
    # keep the outage short to notice: the defaults would retry for minutes
    return fake_bedrock_env(server_url, data_root, SFT_ARN, RFT_ARN,
                            {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": "5"})


def _run_command(tmp: Path, mlflow_url: str, *overrides: str) -> list[str]:
    return [sys.executable, "-m", "evals.cli", "run", "candidates=nova", "limit=3", "tracking=server",
            f"tracking.uri={mlflow_url}", f"cache.path={tmp}/cache.sqlite", f"hydra.run.dir={tmp}/run", *overrides]


def _sync(tmp: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    # The server is back: the upload may wait for it (a fresh server migrates its store on first use).
    env = {k: v for k, v in env.items() if not k.startswith("MLFLOW_HTTP")}
    return subprocess.run([sys.executable, "-m", "evals.cli", "sync", str(tmp / "run")], cwd=tmp, env=env,
                          capture_output=True, text=True, timeout=300)


def _logged(mlflow_url: str):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=mlflow_url)
    experiment = client.get_experiment_by_name("rft-evals")
    runs = client.search_runs([experiment.experiment_id])
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    return parents, children


def test_server_down_from_the_start_then_sync_uploads_everything(tmp_path, data_root):
    mlflow_server = MlflowServer(tmp_path, _free_port())  # not started yet: the outage
    with FakeBedrock(Script(default=reply('{"comments": []}'))) as bedrock:
        env = _env(bedrock.url, data_root)
        result = subprocess.run(_run_command(tmp_path, mlflow_server.url, "~candidates.rft"), cwd=tmp_path, env=env,
                                capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "MLflow tracking was unavailable" in result.stdout
    assert f"rft-evals sync {tmp_path / 'run'}" in result.stdout.replace("\n", "")
    state = json.loads((tmp_path / "run" / "run_state.json").read_text())
    assert state["tracking_pending"] is True and state["parent_run_id"] is None
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())

    mlflow_server.start()
    try:
        synced = _sync(tmp_path, env)
        assert synced.returncode == 0, synced.stdout + synced.stderr
        parents, children = _logged(mlflow_server.url)
        assert len(parents) == 1 and parents[0].info.status == "FINISHED"
        assert sorted(c.data.tags["candidate"] for c in children) == ["base", "sft"]
        for child in children:
            name = child.data.tags["candidate"]
            assert child.info.run_name in (name, f"{summary['candidates'][name]['role'].upper()} · {name}")
            expected = summary["candidates"][name]["metrics"]["schema_valid"]["value"]
            assert child.data.metrics["schema_valid"] == pytest.approx(expected, rel=1e-3)  # logged to 4 digits
            assert child.data.metrics["samples"] == 3
        again = _sync(tmp_path, env)  # idempotent: nothing is logged twice
        assert again.returncode == 0 and "nothing new" in again.stdout
        assert len(_logged(mlflow_server.url)[1]) == 2
        assert json.loads((tmp_path / "run" / "run_state.json").read_text())["tracking_pending"] is False
    finally:
        mlflow_server.stop()


def test_server_lost_mid_run_completes_and_sync_finishes_the_same_parent(tmp_path, data_root):
    mlflow_server = MlflowServer(tmp_path, _free_port()).start()

    def respond(model_id, body):  # the second candidate is slow, so the outage lands between candidates
        return reply('{"comments": []}', latency_s=1.0 if model_id == SFT_ARN else 0.0)

    try:
        with FakeBedrock(Script(respond=respond)) as bedrock:
            env = _env(bedrock.url, data_root)
            process = subprocess.Popen(_run_command(tmp_path, mlflow_server.url, "~candidates.rft",
                                                    "candidates.sft.max_concurrency=1"),
                                       cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                       text=True)
            state_path = tmp_path / "run" / "run_state.json"
            end = time.monotonic() + 300
            while time.monotonic() < end:
                if state_path.exists() and "base" in json.loads(state_path.read_text())["candidate_run_ids"]:
                    break
                time.sleep(0.05)
            else:
                process.kill()
                raise AssertionError("the first candidate was never logged")
            mlflow_server.stop()  # the outage
            output, _ = process.communicate(timeout=600)
        assert process.returncode == 0, output
        assert "MLflow tracking was unavailable" in output
        state = json.loads(state_path.read_text())
        assert state["tracking_pending"] is True and list(state["candidate_run_ids"]) == ["base"]

        mlflow_server.start()
        synced = _sync(tmp_path, env)
        assert synced.returncode == 0, synced.stdout + synced.stderr
        parents, children = _logged(mlflow_server.url)
        assert [p.info.run_id for p in parents] == [state["parent_run_id"]]
        assert parents[0].info.status == "FINISHED"
        assert sorted(c.data.tags["candidate"] for c in children) == ["base", "sft"]
        assert sorted(c.info.run_name for c in children) == ["BASE · base", "SFT · sft"]  # role first
    finally:
        mlflow_server.stop()
