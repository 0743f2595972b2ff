"""The judge calibration gate: `judge-eval` measures the scale judge (scripted on the loopback Bedrock server)
and stores its figures; a reward whose judge is below its `judge.calibration` bar is refused by `reward
bundle` with the figure and the threshold named; `latest` finds the newest report of that judge."""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import pytest
import yaml
from hydra import compose, initialize_config_dir

from evals.judging.calibration import CalibrationError, check_calibration, find_report
from evals.cli.reward import main as reward_main
from metrics.reward.config import RewardConfig, RewardConfigError
from _data import DATA
from _judge_scripts import comment_count, scale_reply, user_text
from fakes.bedrock_server import FakeBedrock, Script, reply

REPO = Path(__file__).resolve().parents[1]
DIMENSIONS = ("target_document_grounding", "reference_consistency", "actionability")


@pytest.fixture
def aws(monkeypatch, tmp_path):
    for var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_REGION"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))


def _scale_judge(model_id, body):
    """Scores 1 for a comment quoting the fabricated sentence, 5 for every other comment."""
    comments = re.findall(r"^Comment \d+: (.*)$", user_text(body), re.MULTILINE)
    assert len(comments) == comment_count(body)
    return reply(scale_reply([{d: 1 if "sell the consumer" in c else 5 for d in DIMENSIONS} for c in comments]))


def _reward(calibration: dict, name: str = "contract_review_scale") -> RewardConfig:
    data = yaml.safe_load((REPO / f"conf/reward/{name}.yaml").read_text())
    data["judge"]["calibration"] = calibration
    return RewardConfig.from_mapping(data, f"conf/reward/{name}.yaml")


@pytest.fixture(scope="module")
def scale_run(tmp_path_factory):
    """judge-eval data=contract_review for the scale judge on GPT OSS (served by the scripted fake)."""
    from evals.suite.judge_eval import execute

    tmp = tmp_path_factory.mktemp("judge-eval")
    mp = pytest.MonkeyPatch()
    for var, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                       ("AWS_DEFAULT_REGION", "us-east-1"), ("AWS_CONFIG_FILE", str(tmp / "none"))):
        mp.setenv(var, value)
    try:
        with FakeBedrock(Script(respond=_scale_judge)) as fake:
            mp.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", fake.url)
            with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
                cfg = compose(config_name="judge_eval", overrides=[
                    "judge=contract_review_scale_gpt_oss", "data=contract_review", "limit=4", "repeats=2",
                    f"data_root={DATA}", f"cache.path={tmp}/c.sqlite", f"tracking.uri=sqlite:///{tmp}/mlflow.db",
                    f"probes_path={REPO / 'tests' / '_one_probe.jsonl'}", "bootstrap.resamples=20"])
            assert execute(cfg, tmp / "runs" / "scale") == 0
            assert fake.requests() > 0
    finally:
        mp.undo()
    return tmp


def test_judge_eval_reports_the_scale_judges_figures(scale_run):
    report = json.loads((scale_run / "runs" / "scale" / "report.json").read_text())
    (entry,) = report["judges"]
    figures = entry["figures"]
    assert entry["kind"] == "scale" and entry["data"] == "contract_review"
    for d in DIMENSIONS:
        assert {f"kappa/{d}", f"accuracy/{d}", f"fail_recall/{d}", f"self_consistency/{d}"} <= set(figures)
    # the scripted judge scores the fabricated comment 1 and misses wrong actions and left-out flags; a
    # fabricated comment among k good ones averages (5k + 1) / (k + 1) >= 3, a pass: some fails are missed
    assert 0.0 < figures["fail_recall/target_document_grounding"] < 1.0
    assert 0.0 < figures["accuracy"] < 1.0 and "kappa" in figures
    assert 0.0 < figures["ranking_accuracy"] < 1.0
    assert figures["self_consistency/actionability"] == 1.0  # a deterministic judge agrees with itself

    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{scale_run}/mlflow.db")
    (child,) = [r for r in mlflow.search_runs(experiment_names=["rft-evals"], output_format="list")
                if r.data.tags.get("judge")]
    assert child.data.metrics["accuracy"] == pytest.approx(figures["accuracy"], rel=1e-3)  # logged to 4 digits


def test_a_reward_below_its_bar_is_refused_naming_the_figure(scale_run, aws, capsys, tmp_path):
    run = scale_run / "runs" / "scale"
    accuracy = json.loads((run / "report.json").read_text())["judges"][0]["figures"]["accuracy"]
    bar = {"report": str(run), "judge": "contract_review_scale_gpt_oss"}
    check = check_calibration(_reward({**bar, "min_accuracy": round(accuracy - 0.01, 3)}))
    assert check is not None and check.figures["accuracy"] == accuracy and "calibrated" in check.summary()
    too_high = round(accuracy + 0.01, 3)
    with pytest.raises(CalibrationError, match=rf"accuracy {accuracy:.3f} is below min_accuracy {too_high:g}"):
        check_calibration(_reward({**bar, "min_accuracy": too_high}))
    with pytest.raises(CalibrationError, match="position_consistency was not measured"):
        check_calibration(_reward({**bar, "min_position_consistency": 0.5}))

    # the bundle command refuses it (exit 2, the figure and threshold named) and writes nothing
    reward_file = tmp_path / "reward.yaml"
    reward_file.write_text(yaml.safe_dump(_reward({**bar, "min_accuracy": too_high}).to_dict()))
    out = tmp_path / "bundle.json"
    code = reward_main(["bundle", "--reward", str(reward_file), "--out", str(out), "--data-root", str(DATA)])
    assert code == 2 and not out.exists()
    assert f"below min_accuracy {too_high:g}" in capsys.readouterr().err
    # so does the audit, before it scores anything
    assert reward_main(["audit", "task=contract_review", f"reward={reward_file}", "limit=2"]) == 2
    assert f"below min_accuracy {too_high:g}" in capsys.readouterr().err
    reward_file.write_text(yaml.safe_dump(_reward({**bar, "min_accuracy": 0.0}).to_dict()))
    assert reward_main(["bundle", "--reward", str(reward_file), "--out", str(out), "--data-root", str(DATA)]) == 0
    assert out.exists() and "calibrated" in capsys.readouterr().out


def _report(path: Path, name: str, data: str, figures: dict) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "report.json").write_text(json.dumps({"meta": {"kind": "judge_eval", "data": data},
                                                  "judges": [{"name": name, "data": data, "figures": figures}]}))
    return path / "report.json"


def test_latest_is_the_newest_report_of_that_judge_and_preference_reads_position_consistency(tmp_path):
    name = "contract_review_reward_preference"
    old = _report(tmp_path / "runs/a", name, "llmbar", {"accuracy": 0.9, "kappa": 0.8, "position_consistency": 0.9})
    new = _report(tmp_path / "runs/b", name, "llmbar", {"accuracy": 0.9, "kappa": 0.8, "position_consistency": 0.6})
    _report(tmp_path / "runs/c", "another_judge", "llmbar", {"accuracy": 0.1})
    os.utime(old, (time.time() - 60, time.time() - 60))
    assert find_report("latest", name, "preference", tmp_path / "runs") == new
    reward = _reward({"min_position_consistency": 0.75, "min_kappa": 0.5}, "contract_review_preference")
    with pytest.raises(CalibrationError, match=r"position_consistency 0\.600 is below min_position_consistency 0\.75"):
        check_calibration(reward, tmp_path / "runs")
    assert check_calibration(_reward({"min_kappa": 0.5}, "contract_review_preference"), tmp_path / "runs")
    with pytest.raises(CalibrationError, match="no judge-eval report under .* measured judge 'nobody'"):
        check_calibration(_reward({"min_kappa": 0.5, "judge": "nobody"}, "contract_review_preference"),
                          tmp_path / "runs")
    _report(tmp_path / "rubric", "contract_review_reward_scale", "llmbar", {"accuracy": 1.0})
    with pytest.raises(CalibrationError, match="a scale judge is calibrated on data=contract_review"):
        check_calibration(_reward({"min_accuracy": 0.5, "report": str(tmp_path / "rubric")}))


@pytest.mark.parametrize("bar, fragment", [
    ({"min_acuracy": 0.5}, "unknown keys"),
    ({"report": "latest"}, "set at least one of"),
    ({"min_kappa": 2}, "must be a number"),
    ("strict", "must be a mapping"),
])
def test_bad_calibration_bars_are_rejected_at_load(bar, fragment):
    with pytest.raises(RewardConfigError, match=fragment):
        _reward(bar)
