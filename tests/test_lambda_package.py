"""Packaging: the zip holds exactly the reward path and runs in a virtualenv with only boto3; the SAM
template passes cfn-lint."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from _reward_helpers import DATA, ROOT, load_task, sample

BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def zip_path(tmp_path_factory):
    out = tmp_path_factory.mktemp("lambda") / "reward_lambda.zip"
    env = {**os.environ, "RFT_DATA_DIR": DATA, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    subprocess.run(["bash", str(ROOT / "scripts/build_lambda.sh"), "--reward", "contract_review_deterministic",
                    "--out", str(out)], check=True, cwd=ROOT, env=env, capture_output=True, text=True)
    return out


def test_zip_holds_only_the_reward_path(zip_path):
    names = zipfile.ZipFile(zip_path).namelist()
    assert "reward_bundle.json" in names and "metrics/reward/lambda_handler.py" in names
    assert all(n == "reward_bundle.json" or (n.startswith("metrics/") and n.endswith(".py")) for n in names)
    assert zip_path.stat().st_size < 500_000


def test_template_passes_cfn_lint():
    cfn_lint = shutil.which("cfn-lint", path=str(BIN)) or shutil.which("cfn-lint")
    if cfn_lint is None:
        pytest.fail("cfn-lint is not installed: pip install -e '.[dev]'")
    result = subprocess.run([cfn_lint, str(ROOT / "deploy/template.yaml")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    text = (ROOT / "deploy/template.yaml").read_text()
    assert "Timeout: 900" in text and "SageMaker" in text and "Default: 100" in text


@pytest.mark.slow
def test_zip_runs_in_a_fresh_venv_with_only_boto3(zip_path, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = subprocess.run([str(venv / "bin/pip"), "install", "-q", "boto3"], capture_output=True, text=True)
    if pip.returncode != 0:
        pytest.fail(f"pip install boto3 into a fresh venv failed (no index or cache?): {pip.stderr[-500:]}")
    code = tmp_path / "code"
    zipfile.ZipFile(zip_path).extractall(code)
    task = load_task()
    rows = [r for r in task.rows("test") if r["gold"]][:3]
    event = [sample(task, r, task.render_gold(r)) for r in rows] + [sample(task, rows[0], "oops") | {"id": "bad"}]
    (tmp_path / "event.json").write_text(json.dumps(event))
    script = (
        "import json, sys\n"
        "from metrics.reward.lambda_handler import handler\n"
        "class C:\n    def get_remaining_time_in_millis(self): return 60000\n"
        "out = handler(json.load(open(sys.argv[1])), C())\n"
        "heavy = sorted(m for m in ('numpy', 'datasets', 'mlflow', 'hydra', 'sklearn', 'yaml', 'tasks', 'evals')"
        " if m in sys.modules)\n"
        "print(json.dumps({'results': out, 'heavy': heavy}))\n"
    )
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(code), "AWS_DEFAULT_REGION": "us-east-1"}
    # the code folder is the working directory and on PYTHONPATH, as /var/task is on Lambda
    result = subprocess.run([str(venv / "bin/python"), "-c", script, str(tmp_path / "event.json")],
                            capture_output=True, text=True, env=env, cwd=code)
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout.strip().splitlines()[-1])
    assert payload["heavy"] == []
    scores = [r["aggregate_reward_score"] for r in payload["results"]]
    assert scores == [1.0, 1.0, 1.0, 0.0]


def test_judged_zip_carries_the_rubric_judge_and_stays_light(tmp_path):
    """The judged reward's bundle carries the rubric judge config as JSON; the zip alone builds RubricJudge
    requests, reads verdicts and scores a batch (a stub stands in for Bedrock) without a heavy import."""
    out = tmp_path / "judged.zip"
    env = {**os.environ, "RFT_DATA_DIR": DATA, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    subprocess.run(["bash", str(ROOT / "scripts/build_lambda.sh"), "--reward", "contract_review", "--out", str(out)],
                   check=True, cwd=ROOT, env=env, capture_output=True, text=True)
    code = tmp_path / "code"
    zipfile.ZipFile(out).extractall(code)
    judge = json.loads((code / "reward_bundle.json").read_text())["reward"]["judge"]
    assert judge["kind"] == "rubric" and [c["name"] for c in judge["criteria"]] == [
        "target_document_grounding", "reference_consistency", "actionability"]
    task = load_task()
    rows = [r for r in task.rows("test") if r["gold"]][:2]
    (tmp_path / "event.json").write_text(json.dumps([sample(task, r, task.render_gold(r)) for r in rows]))
    script = (
        "import json, sys\n"
        "from metrics.reward.lambda_handler import handle, load_state\n"
        "bundle, judge = load_state()\n"
        "class Stub:\n"
        "    asked = []\n"
        "    def converse(self, **kw):\n"
        "        Stub.asked.append(kw['system'][0]['text'])\n"
        "        text = json.dumps({'justification': 'fine', 'verdict': 'pass'})\n"
        "        return {'output': {'message': {'content': [{'text': text}]}}, 'stopReason': 'end_turn'}\n"
        "judge._client = Stub()\n"
        "class C:\n    def get_remaining_time_in_millis(self): return 60000\n"
        "out = handle(json.load(open(sys.argv[1])), C(), bundle, judge, log_stream=sys.stderr)\n"
        "heavy = sorted(m for m in ('numpy', 'datasets', 'mlflow', 'hydra', 'sklearn', 'yaml', 'tasks', 'evals')"
        " if m in sys.modules)\n"
        "print(json.dumps({'results': out, 'heavy': heavy, 'asked': len(Stub.asked),"
        " 'delimited': all('<<<BEGIN REFERENCE' in s for s in Stub.asked)}))\n"
    )
    run_env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(code), "AWS_DEFAULT_REGION": "us-east-1"}
    result = subprocess.run([sys.executable, "-c", script, str(tmp_path / "event.json")], capture_output=True,
                            text=True, env=run_env, cwd=code)
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout.strip().splitlines()[-1])
    assert payload["heavy"] == [] and payload["asked"] == 3 * len(rows) and payload["delimited"]
    for r in payload["results"]:
        metrics = {m["name"]: m["value"] for m in r["metrics_list"]}
        assert metrics["neutral"] == 0.0 and metrics["judge_grounding"] == 1.0
