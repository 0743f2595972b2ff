"""`rft-evals nightly` and `rft-evals compare`: suites, the baseline found in MLflow, the regression gate.

The Nova suite runs base / SFT / RFT against the loopback fake Bedrock, which answers each model by script:
every candidate writes the gold answer (tasks/contract_review render_gold), except that on the "worse" night
the RFT deployment misses every risk. Three nights share one MLflow SQLite store:
1. good RFT, no earlier night: the gate is not evaluated, exit 0;
2. worse RFT: the gate fails against night 1 (exit 1, risk_f1 named for rft, nothing for base or sft);
3. good RFT again: its baseline is night 1 (night 2 failed its gate, so it is not a "good night"), and equal
   outputs pass the gate."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from _fake_bedrock_env import fake_bedrock_env
from _reward_helpers import asked_criteria, rubric_reply

from evals.suite.config import BaselineKind, SuiteConfig, SuiteConfigError
from tests.fakes.bedrock_server import FakeBedrock, Script, reply

ROOT = Path(__file__).resolve().parents[1]
SFT_ARN = "arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/sft-nightly"
RFT_ARN = "arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/rft-nightly"
LIMIT = 20  # 9 of these 20 windows hold a gold risk: enough for a miss-every-risk drop to be significant


def _suite(name: str) -> dict:
    return yaml.safe_load((ROOT / "conf" / "suite" / f"{name}.yaml").read_text())


# --- suite configs ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["local", "nightly"])
def test_shipped_suites_load(name):
    suite = SuiteConfig.from_mapping(_suite(name), f"conf/suite/{name}.yaml")
    assert [t.name for t in suite.tasks][0] == "contract_review"  # every task: tests/test_suites.py
    assert set(suite.roles) == {"base", "sft", "rft"}
    assert [(suite.resolve(a), suite.resolve(b)) for a, b in suite.pairs][0] == (suite.roles["rft"], suite.roles["sft"])
    assert suite.baseline.kind is BaselineKind.LATEST
    assert "risk_f1" in suite.gate.metrics


@pytest.mark.parametrize(("patch", "message"), [
    ({"tasks": {"contract_review": {"limt": 3}}}, "tasks.contract_review.limt"),
    ({"gate": {"metrics": {"risk_f1": {"absolute": -0.1}}}}, "gate.metrics.risk_f1.absolute"),
    ({"gate": {"metrics": {"risk_f1": 0.05}}}, "gate.metrics.risk_f1"),
    ({"roles": {"best": "x"}}, "roles"),
    ({"baseline": "yesterday"}, "baseline"),
    ({"tasks": {}}, "tasks"),
    ({"pairs": [["rft", "rft"]]}, "pairs"),
    ({"colour": "red"}, "colour"),
])
def test_bad_suite_names_the_file_and_key(patch, message):
    with pytest.raises(SuiteConfigError) as error:
        SuiteConfig.from_mapping({**_suite("local"), **patch}, "conf/suite/local.yaml")
    assert "conf/suite/local.yaml" in str(error.value) and message in str(error.value)


def test_task_run_config_applies_only_roles_and_suite_settings():
    from evals.suite.nightly import task_run_config

    suite = SuiteConfig.from_mapping({**_suite("local"), "only": ["smollm2_zero_shot", "tfidf_baseline"]})
    nightly = {"tracking": {"enabled": False, "uri": "", "experiment": "x"}, "cache": {"enabled": False, "path": "c"},
               "data_root": "/data"}
    cfg = task_run_config(suite.tasks[0], suite, nightly)
    assert list(cfg.candidates) == ["smollm2_zero_shot", "tfidf_baseline"]
    assert cfg.candidates.tfidf_baseline.role == "rft" and cfg.candidates.smollm2_zero_shot.role == "base"
    assert cfg.limit == 8 and cfg.reward.name == "contract_review_deterministic" and cfg.kind == "nightly_task"
    assert cfg.tracking.enabled is False and cfg.data_root == "/data"
    bad = SuiteConfig.from_mapping({**_suite("local"), "only": ["gpt5"]})
    with pytest.raises(SuiteConfigError, match="gpt5"):
        task_run_config(bad.tasks[0], bad, nightly)


def test_a_missing_baseline_folder_stops_the_night_before_any_model_call(tmp_path):
    from hydra import compose, initialize_config_dir

    from evals.suite.nightly import CONF_DIR, run_nightly
    from evals.run.outputs import RunDataError

    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        cfg = compose(config_name="nightly", overrides=["suite=local", f"suite.baseline={tmp_path}/nowhere",
                                                        "tracking=none"])
        with pytest.raises(RunDataError, match=r"conf/suite/local.yaml: baseline .*nowhere"):
            run_nightly(cfg, tmp_path / "night")
    assert not (tmp_path / "night" / "contract_review").exists()


# --- the Nova suite against the fake Bedrock -------------------------------------------------------------


class ScriptedModels:
    """Every candidate answers the gold; the RFT deployment misses every risk while `rft_worse` is set. The
    reward's judge (the same Nova model id as base) passes every criterion."""

    def __init__(self, data_root: Path):
        from tasks.registry import build_task

        task = build_task(yaml.safe_load((ROOT / "conf/task/contract_review.yaml").read_text()), data_root=data_root)
        items = [dict(row) for row in task.select(task.load("test"), LIMIT, 0)]
        self.gold = {item["document"]: task.render_gold(item) for item in items}
        self.with_risk = sum(1 for item in items if item["gold"])
        self.gold_risks = sum(len(item["gold"]) for item in items)
        self.rft_worse = False

    def __call__(self, model_id, body):
        text = body["messages"][-1]["content"][0]["text"]
        if "OUTPUT_A" in "".join(block.get("text", "") for block in body.get("system", [])):
            return reply(self.prefer_more_comments(text))
        criteria = asked_criteria(body)
        if criteria:
            return reply(rubric_reply(dict.fromkeys(criteria, "pass")))
        if model_id == RFT_ARN and self.rft_worse:
            return reply('{"comments": []}')
        matches = [doc for doc in self.gold if doc in text]
        return reply(self.gold[max(matches, key=len)]) if matches else reply("no such window")

    @staticmethod
    def prefer_more_comments(prompt: str) -> str:
        """A pairwise verdict: the output with more comments wins, equal counts tie (in either order)."""
        from metrics.judges.prompt_hygiene import blocks

        first, second = (block.count("text_excerpt") for block in blocks(prompt, "OUTPUT"))
        winner = "A" if first > second else "B" if second > first else "tie"
        return json.dumps({"justification": "counted the comments", "winner": winner})


def _output(result: subprocess.CompletedProcess) -> str:
    return result.stdout + result.stderr


def _cli(tmp: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "evals.cli", *args], cwd=tmp, env=env, capture_output=True,
                          text=True, timeout=600)


# The suites hold four tasks; these tests exercise the machinery on contract review alone.
ONLY_CONTRACT_REVIEW = ["~suite.tasks.cuad_risks", "~suite.tasks.nda_policy", "~suite.tasks.unfair_tos"]


def _overrides(tmp: Path) -> list[str]:
    # cache off: night 2 must really ask the RFT deployment again, not replay night 1's answers
    return ["suite=nightly", *ONLY_CONTRACT_REVIEW, f"suite.limit={LIMIT}",
            "suite.bootstrap_resamples=1000", f"tracking.uri=sqlite:///{tmp}/mlflow.db", "cache.enabled=false"]


def _nightly_cli(tmp: Path, env: dict[str, str], night: str) -> tuple[int, str]:
    # night 2 also asks the pairwise judge (GPT OSS config, served by the fake) which answer is better
    result = _cli(tmp, env, "nightly", *_overrides(tmp), f"hydra.run.dir={tmp}/{night}",
                  "suite.pairwise_judge=pairwise_gpt_oss")
    return result.returncode, _output(result)


def _nightly_in_process(tmp: Path, env: dict[str, str], night: str,
                        overrides: list[str] | None = None) -> tuple[int, str]:
    """The same command without a new interpreter (imports cost ~5 s of CPU per process on this machine)."""
    from hydra import compose, initialize_config_dir
    from rich.console import Console

    from evals.suite.nightly import CONF_DIR, run_nightly

    out = io.StringIO()
    with pytest.MonkeyPatch.context() as patch, initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        for key in [k for k in os.environ if k.startswith(("AWS_", "MLFLOW_", "RFT_NOVA"))]:
            patch.delenv(key)
        for key, value in env.items():
            patch.setenv(key, value)
        cfg = compose(config_name="nightly", overrides=_overrides(tmp) if overrides is None else overrides)
        with contextlib.redirect_stdout(out):
            code = run_nightly(cfg, tmp / night, Console(file=out, width=150))
    return code, out.getvalue()


@pytest.fixture(scope="module")
def nights(tmp_path_factory, data_root):
    tmp = tmp_path_factory.mktemp("nightly")
    models = ScriptedModels(data_root)
    results = {}
    with FakeBedrock(Script(respond=models)) as server:
        env = fake_bedrock_env(server.url, data_root, SFT_ARN, RFT_ARN)
        # night 2 goes through the real CLI: its exit code is what a scheduler sees
        for night, worse, run in (("night1", False, _nightly_in_process), ("night2", True, _nightly_cli),
                                  ("night3", False, _nightly_in_process)):
            models.rft_worse = worse
            results[night] = run(tmp, env, night)
        requests = server.stats()["requests"]
    return {"tmp": tmp, "results": results, "models": models, "requests": requests, "env": env}


def _report(nights, night: str) -> dict:
    return json.loads((nights["tmp"] / night / "nightly.json").read_text())


@pytest.mark.slow
def test_first_night_has_no_baseline_and_writes_the_report(nights):
    code, output = nights["results"]["night1"]
    assert code == 0, output
    report = _report(nights, "night1")
    assert report["baseline"]["source"] == "none" and report["gate"]["passed"] is None
    task = report["tasks"]["contract_review"]
    assert task["n_items"] == LIMIT and set(task["candidates"]) == {"base", "sft", "rft"}
    assert task["candidates"]["sft"]["model_id"] == SFT_ARN and task["candidates"]["rft"]["role"] == "rft"
    for name in ("base", "sft", "rft"):  # every candidate answered the gold
        assert task["candidates"][name]["metrics"]["risk_f1"]["value"] == pytest.approx(1.0)
    pairs = {(r["a"], r["b"]) for r in task["comparisons"]}
    assert pairs == {("rft", "sft"), ("rft", "base"), ("sft", "base")}
    assert set(task["agreement"]) == {"base", "sft", "rft"}  # within each candidate, nothing pooled
    policy = task["policy_agreement"]["production"]["risk_f1"]
    assert policy["n"] == 3 and policy["pairs"] == 3 and isinstance(policy["discordant"], list)
    categories = task["per_category"]["rft"]
    assert len(categories) == 9 and sum(c["support"] for c in categories.values()) == nights["models"].gold_risks
    html = nights["tmp"] / "night1" / "report" / "report.html"
    assert html.is_file() and "report: file://" in output
    assert "## Nightly `nightly`" in output  # the Markdown summary is printed
    # every candidate was asked every window (and the reward judge some more)
    assert nights["requests"][SFT_ARN] == 3 * LIMIT and nights["requests"][RFT_ARN] == 3 * LIMIT


@pytest.mark.slow
def test_worse_rft_fails_the_gate_naming_the_metric(nights):
    code, output = nights["results"]["night2"]
    assert code == 1, output
    report = _report(nights, "night2")
    night1 = _report(nights, "night1")
    assert report["baseline"]["run_id"] == night1["run_id"] and report["baseline"]["source"] == "mlflow-latest"
    gate = report["gate"]
    assert gate["passed"] is False
    regressed = [c for c in gate["checks"] if c["regressed"]]
    assert {c["candidate"] for c in regressed} == {"rft"}  # base and sft answered as before
    f1 = next(c for c in regressed if c["metric"] == "risk_f1")
    assert f1["baseline"] == pytest.approx(1.0) and f1["current"] == pytest.approx(0.0)
    assert f1["p_value"] < 0.05 and f1["ci_high"] < -f1["threshold"]
    assert "REGRESSION contract_review/rft risk_f1" in output
    assert "threshold absolute 0.0300" in output
    # RFT - SFT inside the night: the paired comparison sees the drop too
    row = next(r for r in report["tasks"]["contract_review"]["comparisons"]
               if (r["a"], r["b"], r["metric"]) == ("rft", "sft", "risk_recall"))
    assert row["diff"] == pytest.approx(-1.0) and row["p_value"] < 0.05
    assert row["losses"] == nights["models"].with_risk


@pytest.mark.slow
def test_pairwise_judge_win_rates_count_both_orders(nights):
    rows = {(r["a"], r["b"]): r for r in _report(nights, "night2")["tasks"]["contract_review"]["pairwise_judge"]}
    assert set(rows) == {("rft", "sft"), ("rft", "base"), ("sft", "base")}
    with_risk = nights["models"].with_risk
    rft_sft = rows[("rft", "sft")]  # rft's empty answers lose wherever the window has a risk, tie elsewhere
    assert (rft_sft["wins"], rft_sft["losses"], rft_sft["ties"]) == (0, with_risk, LIMIT - with_risk)
    assert rft_sft["inconsistent"] == 0 and rft_sft["win_rate"] == pytest.approx((LIMIT - with_risk) / 2 / LIMIT)
    assert rft_sft["ci_high"] < 0.5
    assert rows[("sft", "base")]["ties"] == LIMIT  # identical answers
    assert nights["requests"]["openai.gpt-oss-120b-1:0"] == 3 * LIMIT * 2  # three pairs, both orders
    assert not _report(nights, "night1")["tasks"]["contract_review"]["pairwise_judge"]


@pytest.mark.slow
def test_equal_outputs_pass_against_the_last_good_night(nights):
    code, output = nights["results"]["night3"]
    assert code == 0, output
    report = _report(nights, "night3")
    assert report["baseline"]["run_id"] == _report(nights, "night1")["run_id"]  # night 2 failed: not a baseline
    gate = report["gate"]
    assert gate["passed"] is True and gate["checks"] and not any(c["regressed"] for c in gate["checks"])
    f1 = next(c for c in gate["checks"] if c["candidate"] == "rft" and c["metric"] == "risk_f1")
    assert f1["delta"] == pytest.approx(0.0)


@pytest.mark.slow
def test_suite_run_in_mlflow_holds_tags_tasks_and_report(nights):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{nights['tmp']}/mlflow.db")
    experiment = client.get_experiment_by_name("rft-evals")
    suites = client.search_runs([experiment.experiment_id], "tags.kind = 'nightly' and tags.suite = 'nightly'",
                                order_by=["attributes.start_time ASC"])
    assert [r.data.tags["gate"] for r in suites] == ["not_evaluated", "failed", "passed"]
    assert all(r.info.status == "FINISHED" for r in suites)
    night2 = suites[1]
    assert night2.data.metrics["gate/passed"] == 0.0 and night2.data.metrics["gate/regressions"] >= 1
    tasks = client.search_runs([experiment.experiment_id], f"tags.mlflow.parentRunId = '{night2.info.run_id}'")
    assert [t.data.tags["kind"] for t in tasks] == ["nightly_task"]
    artifacts = {a.path for a in client.list_artifacts(night2.info.run_id)}
    assert {"nightly.json", "report", "tasks"} <= artifacts
    records = {a.path for a in client.list_artifacts(night2.info.run_id, "tasks/contract_review/records")}
    assert records == {f"tasks/contract_review/records/{c}.jsonl" for c in ("base", "sft", "rft")}


@pytest.mark.slow
def test_mlflow_view_of_a_night_metrics_samples_and_traces(nights):
    import mlflow
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{nights['tmp']}/mlflow.db"
    client = MlflowClient(tracking_uri=uri)
    report = _report(nights, "night2")
    task = report["tasks"]["contract_review"]
    # the task run: its paired differences (and the rest of nightly.json) as metrics, chartable across nights
    task_run = client.get_run(task["mlflow_run_id"])
    metrics = task_run.data.metrics
    row = next(r for r in task["comparisons"] if (r["a"], r["b"], r["metric"]) == ("rft", "sft", "risk_f1"))
    assert metrics["compare/rft-sft/risk_f1/diff"] == pytest.approx(row["diff"], abs=1e-3)
    for field in ("ci_low", "ci_high", "p_value", "p_holm", "wins", "losses"):
        assert metrics[f"compare/rft-sft/risk_f1/{field}"] == pytest.approx(row[field], rel=1e-3, abs=1e-4), field
    assert "agreement/rft/risk_f1/n" in metrics and "policy_agreement/risk_f1/candidates" in metrics
    assert metrics["gate/rft/risk_f1/regressed"] == 1.0
    assert task_run.data.tags["mlflow.note.content"].startswith("## Nightly")  # the Markdown verdict
    suite_run = client.get_run(report["run_id"])
    assert "contract_review/compare/rft-sft/risk_f1/diff" in suite_run.data.metrics
    assert "**Verdict**" in suite_run.data.tags["mlflow.note.content"]
    experiment = client.get_experiment_by_name("rft-evals").experiment_id
    for name, candidate in task["candidates"].items():
        run = client.get_run(candidate["mlflow_run_id"])
        assert run.info.run_name == f"{candidate['role'].upper()} · {name}"
        assert run.data.params["role"] == candidate["role"]
        assert run.data.metrics["errors/parse_error"] == 0.0  # zeros are logged, not left out
        table = json.loads(Path(client.download_artifacts(run.info.run_id, "samples.json",
                                                          str(nights["tmp"]))).read_text())
        columns, rows = table["columns"], table["data"]
        assert len(rows) == LIMIT
        assert all(r[columns.index("input")] and r[columns.index("gold")] for r in rows)
        for metric, estimate in candidate["metrics"].items():
            values = [r[columns.index(metric)] for r in rows]
            if estimate["value"] is not None:  # the run has the metric: some sample has its own value
                assert any(v is not None for v in values), (name, metric)
        traces = mlflow.search_traces(locations=[experiment], run_id=run.info.run_id, return_type="list")
        assert len(traces) == run.data.metrics["traces_logged"] == LIMIT
        assessed = {a.name for a in traces[0].info.assessments}
        assert {"gold", "risk_f1", "reward", "schema_valid"} <= assessed, assessed


@pytest.mark.slow
def test_compare_two_run_folders_and_run_ids(nights):
    tmp = nights["tmp"]
    worse = _cli(tmp, nights["env"], "compare", str(tmp / "night2"), str(tmp / "night1"), "--out", str(tmp / "c.json"))
    assert worse.returncode == 1, _output(worse)
    assert "REGRESSION contract_review/rft risk_f1" in worse.stdout and "rft" in worse.stdout
    result = json.loads((tmp / "c.json").read_text())
    rows = result["tasks"]["contract_review"]["rft"]
    assert next(r for r in rows if r["metric"] == "risk_f1")["diff"] == pytest.approx(-1.0)
    # night 3 against night 1 by MLflow run id: equal outputs pass
    from evals.suite.compare import main

    ids = [_report(nights, n)["run_id"] for n in ("night3", "night1")]
    assert main([*ids, "--tracking-uri", f"sqlite:///{tmp}/mlflow.db"]) == 0


def test_compare_rejects_what_is_not_a_run(tmp_path):
    from evals.suite.compare import main

    assert main([str(tmp_path), str(tmp_path)]) == 2
    assert main(["not-a-run", str(tmp_path)]) == 2


# --- the offline suite ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_local_suite_runs_offline_and_the_second_night_uses_the_first(tmp_path, data_root):
    env = {"RFT_DATA_DIR": str(data_root)}
    smollm2 = "candidates.smollm2_zero_shot"
    overrides = ["suite=local", *ONLY_CONTRACT_REVIEW, "suite.limit=2", "suite.bootstrap_resamples=200",
                 "suite.only=[smollm2_zero_shot,tfidf_baseline]",
                 # Short answers and one llama.cpp thread keep SmolLM2 to seconds per window on a shared CPU
                 # (two spinning threads on a loaded machine were 2x slower); truncated answers are scored as
                 # errors, as designed.
                 f"suite.overrides=['{smollm2}.max_tokens=96','{smollm2}.n_threads=1','{smollm2}.n_threads_batch=1']",
                 f"tracking.uri=sqlite:///{tmp_path}/mlflow.db", f"cache.path={tmp_path}/cache.sqlite"]
    code, output = _nightly_in_process(tmp_path, env, "first", overrides)
    assert code == 0, output
    code, output = _nightly_in_process(tmp_path, env, "second", overrides)
    assert code == 0, output
    one = json.loads((tmp_path / "first" / "nightly.json").read_text())
    two = json.loads((tmp_path / "second" / "nightly.json").read_text())
    assert two["baseline"]["run_id"] == one["run_id"] and two["gate"]["passed"] is True
    assert {(c["candidate"], c["metric"]) for c in two["gate"]["checks"]} >= {("tfidf_baseline", "risk_f1"),
                                                                               ("smollm2_zero_shot", "reward")}
    task = two["tasks"]["contract_review"]
    assert task["candidates"]["smollm2_zero_shot"]["role"] == "base"  # a stand-in role (conf/suite/local.yaml)
    assert [(r["a"], r["b"]) for r in task["comparisons"]][0] == ("tfidf_baseline", "smollm2_zero_shot")
    assert (tmp_path / "second" / "report" / "report.html").is_file()
    assert any(p.suffix == ".png" for p in (tmp_path / "second" / "report" / "figures").iterdir())
    assert "report: file://" in output


# --- scheduling ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", [0, 1, 3])
def test_nightly_sh_propagates_the_exit_code(tmp_path, code):
    shim = tmp_path / "bin"
    shim.mkdir()
    fake = shim / "rft-evals"  # stands in for the real command: records its arguments, exits with `code`
    fake.write_text(f'#!/usr/bin/env bash\necho "$@" > "{tmp_path}/args"\nexit {code}\n')
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{shim}:{os.environ['PATH']}", "RFT_VENV": str(tmp_path / "no-venv"),
           "RFT_NIGHTLY_DIR": str(tmp_path / "nights")}
    result = subprocess.run(["bash", str(ROOT / "scripts" / "nightly.sh"), "local", "suite.limit=2"], env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == code, result.stdout + result.stderr
    args = (tmp_path / "args").read_text().split()
    assert args[:2] == ["nightly", "suite=local"] and "suite.limit=2" in args
    assert any(a.startswith("hydra.run.dir=") for a in args)
    latest = tmp_path / "nights" / "local" / "latest"
    assert latest.is_symlink() and (latest / "console.log").is_file()
