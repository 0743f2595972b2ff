"""One scoring path for every judge kind: the reward `rft-evals run` records for a sample equals, exactly,
what the Lambda handler returns for it, and what `rft-evals reward invoke` returns on the exported rows
(evals/export_rft.rft_record plus the answer); the judge is scripted on the loopback Bedrock server with
replies that depend only on the request, so both paths get the same verdicts."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import yaml

from evals.inference.cache import GenerationCache
from evals.rft.export import rft_record
from evals.providers.registry import ProviderContext
from evals.cli.reward import main as reward_main
from evals.run.runner import RunSettings, evaluate_candidate
from metrics.reward.lambda_handler import build_judge, handle
from _judge_scripts import preference_by_content, scale_by_content
from _reward_helpers import DATA, ROOT, bundle_for, check_contract, load_task, verdict_by_content
from fakes.bedrock_server import FakeBedrock, Script

pytestmark = pytest.mark.usefixtures("fake_aws_credentials")


class Context:
    def get_remaining_time_in_millis(self) -> int:
        return 600_000


@pytest.mark.parametrize("reward, responder, judge_metric", [
    ("contract_review", verdict_by_content, "judge_grounding"),
    ("contract_review_scale", scale_by_content, "judge_scale"),
    ("contract_review_preference", preference_by_content, "judge_preference"),
])
def test_run_path_lambda_and_reward_invoke_agree_for_every_judge_kind(tmp_path, reward, responder, judge_metric):
    task = load_task()
    items = [dict(r) for r in task.select(task.load("test"), 12, 0)]
    model_cfg = yaml.safe_load((ROOT / "conf/model/tfidf_baseline.yaml").read_text())
    with FakeBedrock(Script(respond=responder)) as fake:
        bundle = bundle_for(task, reward, endpoint_url=fake.url)
        settings = RunSettings(bootstrap_resamples=10, run_dir=tmp_path, reward=bundle.reward,
                               judge=build_judge(bundle))
        with GenerationCache(tmp_path / "cache.sqlite") as cache:
            records = evaluate_candidate(task, items, "tfidf_baseline", model_cfg,
                                         context=ProviderContext(task, Path(DATA)), cache=cache,
                                         settings=settings).records
        recorded = {r.item_id: r.values["reward"] for r in records}
        event = [{**rft_record(task, item), "messages": [*rft_record(task, item)["messages"],
                                                         {"role": "assistant", "content": r.output}]}
                 for item, r in zip(items, records, strict=True)]
        results = handle(event, Context(), bundle, build_judge(bundle), log_stream=io.StringIO())
        check_contract(results, event)
        (tmp_path / "event.json").write_text(json.dumps(event))
        bundle.write(tmp_path / "bundle.json")
        code = reward_main(["invoke", "--event", str(tmp_path / "event.json"), "--bundle",
                            str(tmp_path / "bundle.json"), "--out", str(tmp_path / "out.json")])
        assert code == 0
    invoked = json.loads((tmp_path / "out.json").read_text())
    lambda_scores = {r["id"]: r["aggregate_reward_score"] for r in results}
    assert lambda_scores == recorded  # exact float equality
    assert {r["id"]: r["aggregate_reward_score"] for r in invoked} == recorded
    def components(rows):  # the bundle file lists components in sorted order: compare as mappings
        return [{m["name"]: (m["value"], m["type"]) for m in r["metrics_list"]} for r in rows]

    assert components(invoked) == components(results)
    judged = [r for r in records if not r.details["reward"]["neutral"] and not r.details["reward"]["gate"]]
    assert judged, "no sample reached the judge: the test would prove nothing"
    values = {c["value"] for r in judged for c in r.details["reward"]["components"] if c["name"] == judge_metric}
    assert len(values) >= 2  # the scripted judge really varies, so equal floats mean the same verdicts


@pytest.mark.parametrize("reward, responder", [
    ("contract_review", verdict_by_content),
    ("contract_review_scale", scale_by_content),
    ("contract_review_preference", preference_by_content),
])
def test_every_reward_runtime_agrees_for_every_judge_kind(reward, responder):
    """Evaluation, the Lambda, TRL and verl (metrics/reward/runtimes.py) on the same answers and scripted
    verdicts: identical scores and components, judge components included."""
    from metrics.reward.runtimes import RUNTIMES, Answer

    task = load_task()
    rows = [r for r in task.rows("test") if r["gold"]][:3] + [r for r in task.rows("test") if not r["gold"]][:2]
    answers = []
    for row in rows:
        gold = json.loads(task.render_gold(row))
        for c in gold["comments"]:
            c["rationale"] = "A different rationale for the same flag."
        for tag, text in (("gold", task.render_gold(row)), ("restated", json.dumps(gold)),
                          ("none", '{"comments": []}'), ("broken", '{"comments": [')):
            answers.append(Answer(f"{row['id']}|{tag}", text, json.dumps(task.reference(row))))
    with FakeBedrock(Script(respond=responder)) as fake:
        bundle = bundle_for(task, reward, endpoint_url=fake.url)
        scored = {name: run(bundle, answers) for name, run in RUNTIMES.items()}
    baseline = scored["evaluation"]
    for name, rows_scored in scored.items():
        assert rows_scored == baseline, f"runtime {name} differs from evaluation"
    judged = [s for s in baseline if not s.neutral and any(k.startswith("judge_") for k in s.components)]
    assert len(judged) >= 5  # the judge really took part


_STUBBED_ZIP_RUN = """
import json, re, sys
from metrics.reward.lambda_handler import handle, load_state
bundle, judge = load_state()
class Stub:
    asked = 0
    def converse(self, **kw):
        Stub.asked += 1
        user = "".join(b["text"] for m in kw["messages"] for b in m["content"])
        n = len(re.findall(r"^Comment \\d+: ", user, re.MULTILINE))
        if bundle.reward.judge["kind"] == "scale":
            dims = [d["name"] for d in bundle.reward.judge["dimensions"]]
            text = json.dumps({"justification": "j", "scores": [{"comment": i + 1, **{d: 4 for d in dims}}
                                                                 for i in range(n)]})
        else:
            text = json.dumps({"justification": "j", "winner": "A"})
        return {"output": {"message": {"content": [{"text": text}]}}, "stopReason": "end_turn"}
judge._client = Stub()
class C:
    def get_remaining_time_in_millis(self): return 60000
out = handle(json.load(open(sys.argv[1])), C(), bundle, judge, log_stream=sys.stderr)
heavy = sorted(m for m in ("numpy", "datasets", "mlflow", "hydra", "sklearn", "yaml", "tasks", "evals")
               if m in sys.modules)
print(json.dumps({"results": out, "heavy": heavy, "asked": Stub.asked}))
"""


@pytest.mark.parametrize("reward, judge_metric, expected", [
    ("contract_review_scale", "judge_scale", 0.75),  # every comment 4 on every dimension: (4 - 1) / 4
    ("contract_review_preference", "judge_preference", 0.5),  # "A" in both orders: a split
])
def test_scale_and_preference_rewards_build_into_the_lambda_zip(tmp_path, reward, judge_metric, expected):
    """The zip alone (metrics/ and the bundle; a stub for Bedrock) scores exported rows with the judge kind,
    without a heavy import."""
    import os
    import subprocess
    import sys
    import zipfile

    out = tmp_path / "reward.zip"
    env = {**os.environ, "RFT_DATA_DIR": DATA, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    subprocess.run(["bash", str(ROOT / "scripts/build_lambda.sh"), "--reward", reward, "--out", str(out)],
                   check=True, cwd=ROOT, env=env, capture_output=True, text=True)
    code = tmp_path / "code"
    zipfile.ZipFile(out).extractall(code)
    assert (code / "metrics/reward/judge_kinds/__init__.py").exists()
    task = load_task()
    rows = [r for r in task.rows("test") if r["gold"]][:2]
    event = [{**rft_record(task, r), "messages": [*task.messages(r), {"role": "assistant",
                                                                         "content": task.render_gold(r)}]}
             for r in rows]
    (tmp_path / "event.json").write_text(json.dumps(event))
    result = subprocess.run([sys.executable, "-c", _STUBBED_ZIP_RUN, str(tmp_path / "event.json")],
                            capture_output=True, text=True, cwd=code,
                            env={"PATH": os.environ["PATH"], "PYTHONPATH": str(code),
                                 "AWS_DEFAULT_REGION": "us-east-1"})
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout.strip().splitlines()[-1])
    assert payload["heavy"] == [] and payload["asked"] == len(rows) * (2 if judge_metric == "judge_preference" else 1)
    for r in payload["results"]:
        metrics = {m["name"]: m["value"] for m in r["metrics_list"]}
        assert metrics["neutral"] == 0.0 and metrics[judge_metric] == expected
