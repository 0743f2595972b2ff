"""What a new user hits first: commands in comments that must do what they say, the example event, strict JSON
in summary.json, config tasks from TSV, YAML booleans, a missing task.spec, tied majority labels, the printed
per-class table and MLflow params."""

from __future__ import annotations

import json
import logging
import math
import re
import shlex
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from evals.conf import conf_dir, task_folder_name

REPO = Path(__file__).resolve().parents[1]


# --- commands written in comments --------------------------------------------------------------------------


@pytest.mark.parametrize("suite", ["local", "nightly"])
def test_the_one_task_command_in_the_suite_comment_runs_one_task(suite):
    text = (conf_dir() / "suite" / f"{suite}.yaml").read_text()
    (line,) = [line for line in text.splitlines() if line.startswith("#") and "+suite.tasks" in line]
    command = line.split("`")[1] if "`" in line else line.lstrip("# ").split("#")[0]  # `...` quotes a command
    overrides = [arg for arg in shlex.split(command) if "suite.tasks" in arg]
    assert overrides, line
    with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
        cfg = compose(config_name="nightly", overrides=[f"suite={suite}", *overrides])
    assert list(cfg.suite.tasks) == ["contract_review"]


def test_the_ray_launcher_comment_has_no_placeholder_arguments():
    text = (conf_dir() / "hydra" / "launcher" / "ray_cluster.yaml").read_text()
    command = [line for line in text.splitlines() if line.startswith("#")][:8]
    assert not any("..." in line for line in command), command
    # the sweep it shows composes (the launcher itself needs the ray extra, so only the overrides are checked)
    with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
        cfg = compose(config_name="config", overrides=["task=contract_review", "task.fold=4", "seed=1"])
    assert cfg.task.fold == 4


def test_the_example_event_runs_through_reward_invoke(tmp_path, monkeypatch):
    from _data import require_dataset
    from evals.cli import main

    monkeypatch.setenv("RFT_DATA_DIR", str(require_dataset("claudette")))
    event_path = REPO / "docs" / "examples" / "event.json"
    event = json.loads(event_path.read_text(encoding="utf-8"))
    out = tmp_path / "results.json"
    assert main(["reward", "invoke", "--event", str(event_path), "--out", str(out)]) == 0
    results = json.loads(out.read_text())
    assert [r["id"] for r in results] == [s["id"] for s in event]
    scores = {r["id"]: r["aggregate_reward_score"] for r in results}
    assert scores["example-honest-review"] == 1.0  # the reference's own risks, quoted, assessed and acted on
    assert scores["example-honest-review"] > scores["example-empty-answer"]
    assert scores["example-not-json"] < scores["example-honest-review"]
    not_json = {m["name"]: m["value"] for m in results[2]["metrics_list"]}
    assert not_json["format"] == 0.0


# --- run folders, summary.json, printed tables ---------------------------------------------------------------


def test_config_task_run_folders_take_the_spec_name(tmp_path):
    spec = tmp_path / "clause_type.yaml"
    spec.write_text("name: clause type/v2\n")
    assert task_folder_name("config", str(spec)) == "clause_type_v2"
    assert task_folder_name("contract_review", None) == "contract_review"
    assert task_folder_name("config", str(tmp_path / "missing.yaml")) == "config"  # the run reports that error
    with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
        cfg = compose(config_name="config", overrides=["task=config", f"task.spec={spec}"],
                      return_hydra_config=True)
    assert re.search(r"/\d\d-\d\d-\d\d-clause_type_v2$", cfg.hydra.run.dir)


def test_summary_json_is_strict_json_with_null_for_undefined_figures(tmp_path):
    from evals.run.runner import write_summary

    class Result:
        name, role, provider, model_id, records, errors, model_calls, mlflow_run_id = (
            "c", "base", "instant", "m", [], {}, 0, None)
        estimates = [type("E", (), {"name": "f1/other", "as_dict": lambda self: {"value": math.nan, "ci_low": 0.1,
                                                                                  "ci_high": math.inf}})()]
        usage = type("U", (), {"to_metrics": lambda self: {"cost_usd": 0.0}})()
        judge_usage = None

    path = tmp_path / "summary.json"
    write_summary(path, [Result()], {"task": "t"}, {"loaded": {"test": {"items": 3, "skipped": []}}})
    text = path.read_text()
    assert "NaN" not in text and "Infinity" not in text
    summary = json.loads(text, parse_constant=lambda name: pytest.fail(f"non-JSON constant {name}"))
    assert summary["candidates"]["c"]["metrics"]["f1/other"] == {"value": None, "ci_low": 0.1, "ci_high": None}
    assert summary["data"]["loaded"]["test"]["items"] == 3


def test_the_per_class_f1_table_is_printed():
    from rich.console import Console

    from evals.run._console import category_table, print_results

    class Estimate:
        def __init__(self, name, value):
            self.name, self.value, self.ci_low, self.ci_high, self.n = name, value, value, value, 4

    class Result:
        name, role, provider, model_id, records, errors, model_calls, judge_usage = (
            "majority", "baseline", "majority", "m", [], {}, 0, None)
        estimates = [Estimate("accuracy", 0.5), Estimate("f1/termination", 0.25), Estimate("f1/other", 0.75)]
        usage = type("U", (), {"table": lambda self: ""})()

    table = category_table([Result()], "f1/")
    assert table is not None and table.title == "f1 per category" and table.row_count == 2
    console = Console(record=True, width=120)
    print_results([Result()], console)
    printed = console.export_text()
    assert "f1 per category" in printed and "termination" in printed and "0.250" in printed


# --- config tasks -----------------------------------------------------------------------------------------


def _spec(folder: Path, data: str, extra: str = "") -> Path:
    path = folder / "spec.yaml"
    path.write_text(f"""name: tsv_task
data_root: .
data: {{test: {data}, train: {data}}}
fields: {{id: index, document: text, gold: label}}
prompt: {{user: "Clause: {{document}}"}}
output_schema:
  type: object
  properties: {{label: {{type: string, enum: ["Arbitration", "Other"]}}}}
  required: [label]
metrics: [schema_valid, classification]
{extra}""")
    return path


def test_a_config_task_reads_tsv_rows(tmp_path):
    from tasks.registry import build_task

    (tmp_path / "items.tsv").write_text("index\ttext\tlabel\n0\tdisputes go to binding arbitration .\tArbitration\n"
                                        "1\tlast updated : may 2017\tOther\n2\t\"quoted\" words , here\tOther\n")
    task = build_task({"name": "config", "kind": "config", "spec": str(_spec(tmp_path, "items.tsv"))})
    rows = task.rows("test")
    assert [(r["id"], r["document"], json.loads(r["gold"])) for r in rows] == [
        ("0", "disputes go to binding arbitration .", "Arbitration"), ("1", "last updated : may 2017", "Other"),
        ("2", "quoted words , here", "Other")]


def test_a_tsv_row_with_missing_cells_is_a_bad_row(tmp_path):
    from tasks.config_task.spec import ConfigTaskError
    from tasks.registry import build_task

    (tmp_path / "items.tsv").write_text("index\ttext\tlabel\n0\tfine\tOther\n1\tno label here\n")
    task = build_task({"name": "config", "kind": "config", "spec": str(_spec(tmp_path, "items.tsv"))})
    with pytest.raises(ConfigTaskError, match=r"line 3.*2 tab-separated cells, the header has 3"):
        task.rows("test")


def test_unquoted_yes_no_in_the_spec_gets_a_hint(tmp_path, caplog):
    from tasks.config_task.spec import read_spec_file

    path = tmp_path / "spec.yaml"
    path.write_text("name: t\noutput_schema:\n  properties: {label: {enum: [Yes, No, 'Maybe']}}\nnormalize: true\n")
    with caplog.at_level(logging.WARNING):
        values = read_spec_file(path)
    assert values["output_schema"]["properties"]["label"]["enum"] == [True, False, "Maybe"]
    hints = [r.getMessage() for r in caplog.records if "boolean" in r.getMessage()]
    assert len(hints) == 2 and "line 3: unquoted 'Yes'" in hints[0] and "quote it ('Yes')" in hints[0]
    assert "'No' is read by YAML as the boolean False" in hints[1]  # `true` is meant as a boolean: no hint


def test_a_boolean_where_text_belongs_names_the_yaml_rule(tmp_path):
    from tasks.config_task.spec import ConfigTaskError, parse_spec

    with pytest.raises(ConfigTaskError, match="label_field.*bool True.*quote the word"):
        parse_spec({"name": "t", "label_field": True, "prompt": {"user": "{document}"}, "output_schema": {},
                    "metrics": ["schema_valid"], "data": "x.jsonl"}, "spec.yaml", Path("."))


def test_task_config_without_spec_says_to_add_it():
    from tasks.config_task.spec import ConfigTaskError
    from tasks.registry import build_task

    with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
        cfg = compose(config_name="config", overrides=["task=config"])
    with pytest.raises(ConfigTaskError, match=r"task=config needs the task's YAML file: add task.spec=<path>"):
        build_task(dict(cfg.task))


def test_a_tied_majority_label_is_broken_by_the_documented_rule_and_reported(tmp_path, caplog):
    from tasks.registry import build_task

    (tmp_path / "items.tsv").write_text("index\ttext\tlabel\n0\ta\tOther\n1\tb\tArbitration\n")
    task = build_task({"name": "config", "kind": "config", "spec": str(_spec(tmp_path, "items.tsv"))})
    with caplog.at_level(logging.WARNING):
        answer = task.majority_answer({})
    assert json.loads(answer) == {"label": "Arbitration"}  # '"Arbitration"' sorts before '"Other"'
    assert "tied with" in task.majority_fingerprint()
    assert any("majority baseline's gold is a tie" in r.getMessage() for r in caplog.records)


# --- MLflow params ----------------------------------------------------------------------------------------------


def test_the_few_shot_candidate_is_named_as_such():
    for candidates in ("local", "local_majority"):
        with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
            cfg = compose(config_name="config", overrides=[f"candidates={candidates}"])
        assert cfg.candidates.smollm2_few_shot.name == "smollm2-few-shot"
        assert cfg.candidates.smollm2_zero_shot.name == "smollm2-zero-shot"


# --- scorer exceptions in a run ------------------------------------------------------------------------------


def test_a_scorer_exception_in_a_run_is_a_scorer_error_counted_apart():
    from evals.inference.engine import CallOutcome
    from evals.providers.base import Generation, GenerationRequest, Usage
    from evals.samples.records import error_counts
    from evals.run.runner import score_outcome
    from metrics.types import SampleScore

    class Task:
        def reference(self, item):
            return item["gold"]

        def score(self, text, reference):
            if text == "boom":
                raise ZeroDivisionError("division by zero")
            return SampleScore(values={"ok": 1.0})

    def outcome(text):
        request = GenerationRequest(item_id="i", messages=({"role": "user", "content": "q"},))
        return CallOutcome(0, request, Generation(text=text, stop_reason="end_turn", usage=Usage(), model_id="m"),
                           None)

    records = [score_outcome(Task(), {"id": f"i{n}", "gold": None}, outcome(text), "c", "base")
               for n, text in enumerate(["fine", "boom", "boom"])]
    assert records[0].values == {"ok": 1.0} and not records[0].errors
    assert [e["kind"] for e in records[1].errors] == ["scorer_error"]
    assert "ZeroDivisionError" in records[1].errors[0]["message"] and records[1].errors[0]["stage"] == "score"
    assert error_counts(records) == {"scorer_error": 2}  # apart from input errors, which blame the sample
