"""Crash and resume: a run killed with SIGKILL mid-generation, mid-judging or between candidates finishes with
`resume=<run dir>` without repeating completed model or judge calls, with exactly one record per item, and its
MLflow parent run ends FINISHED (never left RUNNING). Models are served by the loopback fake Bedrock."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _fake_bedrock_env import fake_bedrock_env

from evals.samples.records import SampleRecord, completed_records, read_records, repair_tail
from tests.fakes.bedrock_server import FakeBedrock, Script, reply

BASE = "us.amazon.nova-2-lite-v1:0"
JUDGE = "openai.gpt-oss-120b-1:0"
SFT_ARN = "arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/sft-test"
RFT_ARN = "arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/rft-test"
CRITERIA = ("target_document_grounding", "reference_consistency", "actionability")


# ---------------------------------------------------------------------------------------------- units
def test_repair_tail_cuts_a_torn_last_line_only(tmp_path):
    path = tmp_path / "r.jsonl"
    good = [SampleRecord("c", "r", f"i{n}", "out", values={"x": 1.0}).to_json() for n in range(3)]
    path.write_text("\n".join(good) + "\n" + good[0][:25], encoding="utf-8")
    removed = repair_tail(path)
    assert removed == 25
    assert path.read_text(encoding="utf-8") == "\n".join(good) + "\n"
    assert repair_tail(path) == 0  # a clean file is left alone
    assert list(completed_records(path)) == ["i0", "i1", "i2"]


def test_a_damaged_middle_line_is_skipped_not_fatal(tmp_path):
    path = tmp_path / "r.jsonl"
    record = SampleRecord("c", "r", "i0", "out").to_json()
    path.write_text(record + "\n{not json\n" + record.replace('"i0"', '"i1"') + "\n", encoding="utf-8")
    assert [r.item_id for r in read_records(path)] == ["i0", "i1"]


# ---------------------------------------------------------------------------------------------- end to end
def _command(tmp: Path, *overrides: str) -> list[str]:
    return [sys.executable, "-m", "evals.cli", "run", "candidates=nova", f"tracking.uri=sqlite:///{tmp}/mlflow.db",
            f"cache.path={tmp}/cache.sqlite", f"hydra.run.dir={tmp}/run", *overrides]


def _wait_for(condition, what: str, timeout_s: float = 180.0) -> None:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _lines(path: Path) -> int:
    return path.read_text(encoding="utf-8").count("\n") if path.exists() else 0


def _cache_entries(tmp: Path) -> int:
    with sqlite3.connect(tmp / "cache.sqlite") as db:
        return db.execute("SELECT count(*) FROM generations").fetchone()[0]


def _kill(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)


def _resume(tmp: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "evals.cli", "run", f"resume={tmp}/run"]
    return subprocess.run(command, cwd=tmp, env=env, capture_output=True, text=True, timeout=600)


def _check_records(tmp: Path, candidate: str, n: int) -> list[dict]:
    lines = (tmp / "run" / "records" / f"{candidate}.jsonl").read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    assert len(records) == n, f"{candidate}: {len(records)} records for {n} items"
    assert len({r["item_id"] for r in records}) == n  # no duplicates, none missing
    assert all(r["values"] or r["errors"] for r in records)  # scored or with a classified error
    return records


def _mlflow_runs(tmp: Path):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{tmp}/mlflow.db")
    experiment = client.get_experiment_by_name("rft-evals")
    return client.search_runs([experiment.experiment_id])


@pytest.mark.slow
def test_killed_mid_generation_resumes_without_repeating_completed_calls(tmp_path, data_root):
    n = 10
    script = Script(default=reply('{"comments": []}', latency_s=0.25))
    with FakeBedrock(script) as server:
        env = fake_bedrock_env(server.url, data_root, SFT_ARN, RFT_ARN)
        process = subprocess.Popen(_command(tmp_path, f"limit={n}", "~candidates.sft", "~candidates.rft",
                                            "candidates.base.max_concurrency=1"),
                                   cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        records = tmp_path / "run" / "records" / "base.jsonl"
        _wait_for(lambda: _lines(records) >= 3, "three records on disk")
        _kill(process)
        cached_at_kill = _cache_entries(tmp_path)
        on_disk = _lines(records)
        asked_before = server.requests(BASE)
        assert 3 <= on_disk < n and cached_at_kill < n

        result = _resume(tmp_path, env)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "resuming the run" in result.stdout
        # Only the calls that had not completed (not in the cache) reach the model again.
        assert server.requests(BASE) - asked_before == n - cached_at_kill

    _check_records(tmp_path, "base", n)
    runs = _mlflow_runs(tmp_path)
    assert {r.info.status for r in runs} == {"FINISHED"}
    assert sorted(r.data.tags["candidate"] for r in runs if "mlflow.parentRunId" in r.data.tags) == ["base"]


@pytest.mark.slow
def test_killed_mid_judging_resumes_without_repeating_judge_calls(tmp_path, data_root):
    n = 6

    def respond(model_id, body):
        if model_id == JUDGE:
            verdict = {c: {"justification": "ok", "verdict": "pass"} for c in CRITERIA}
            return reply(json.dumps(verdict), latency_s=0.3)
        return reply('{"comments": []}')

    with FakeBedrock(Script(respond=respond)) as server:
        env = fake_bedrock_env(server.url, data_root, SFT_ARN, RFT_ARN)
        process = subprocess.Popen(_command(tmp_path, f"limit={n}", "~candidates.sft", "~candidates.rft",
                                            "judge=contract_review_rubric_gpt_oss", "judge.model.max_concurrency=1"),
                                   cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_for(lambda: server.requests(JUDGE) >= 3, "three judge calls")
        _kill(process)
        judged_at_kill = _cache_entries(tmp_path) - n  # every generation was cached before judging began
        generated, judged = server.requests(BASE), server.requests(JUDGE)
        assert generated == n and 2 <= judged_at_kill < n

        result = _resume(tmp_path, env)
        assert result.returncode == 0, result.stdout + result.stderr
        assert server.requests(BASE) == generated  # no generation repeated
        assert server.requests(JUDGE) - judged == n - judged_at_kill

    records = _check_records(tmp_path, "base", n)
    assert all(f"judge/{CRITERIA[0]}" in r["values"] for r in records)
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["candidates"]["base"]["metrics"][f"judge/{CRITERIA[0]}"]["n"] == n


@pytest.mark.slow
def test_killed_between_candidates_logs_each_candidate_once(tmp_path, data_root):
    n = 4

    def respond(model_id, body):
        return reply('{"comments": []}', latency_s=0.5 if model_id == SFT_ARN else 0.0)

    with FakeBedrock(Script(respond=respond)) as server:
        env = fake_bedrock_env(server.url, data_root, SFT_ARN, RFT_ARN)
        process = subprocess.Popen(_command(tmp_path, f"limit={n}", "~candidates.rft",
                                            "candidates.sft.max_concurrency=1"),
                                   cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        state = tmp_path / "run" / "run_state.json"
        _wait_for(lambda: state.exists() and "base" in json.loads(state.read_text())["candidate_run_ids"],
                  "the first candidate logged to MLflow")
        _kill(process)
        parent = json.loads(state.read_text())["parent_run_id"]
        assert {r.info.status for r in _mlflow_runs(tmp_path) if r.info.run_id == parent} == {"RUNNING"}

        result = _resume(tmp_path, env)
        assert result.returncode == 0, result.stdout + result.stderr
        assert server.requests(BASE) == n  # base was complete: not asked again

    runs = _mlflow_runs(tmp_path)
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    assert [p.info.run_id for p in parents] == [parent] and parents[0].info.status == "FINISHED"
    children = sorted(r.data.tags["candidate"] for r in runs if r.data.tags.get("mlflow.parentRunId") == parent)
    assert children == ["base", "sft"]  # each candidate logged once (run names carry the role: "BASE · base")
    for name in ("base", "sft"):
        _check_records(tmp_path, name, n)


def test_a_run_killed_without_resume_is_marked_failed_by_the_next_run(tmp_path):
    """The stale-run check: a RUNNING run whose process is gone is marked FAILED; a live one is left alone."""
    from mlflow.tracking import MlflowClient

    from evals.tracking.resilient import ResilientTracker, process_tags
    from evals.tracking.tracker import TrackingSettings

    settings = TrackingSettings(uri=f"sqlite:///{tmp_path}/mlflow.db")
    tracker = ResilientTracker(settings)
    client = MlflowClient(tracking_uri=settings.uri)
    dead = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        runs = {}
        for name, process in (("dead", dead), ("alive", alive)):
            tags = {**process_tags(str(tmp_path)), "rft.pid": str(process.pid)}
            runs[name] = client.create_run(tracker._inner.experiment_id, tags=tags, run_name=name).info.run_id
        _kill(dead)
        assert tracker.fail_stale_runs() == [runs["dead"]]
        assert client.get_run(runs["dead"]).info.status == "FAILED"
        assert client.get_run(runs["alive"]).info.status == "RUNNING"
    finally:
        alive.kill()
        alive.wait()
