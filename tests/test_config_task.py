"""Config-only tasks: a task built purely from a YAML file and a JSONL written here, run end to end through
the CLI (replayed outputs and the majority baseline), its metrics checked by hand; and every kind of bad
input failing at load time with a message naming the file, the key and the fix."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from metrics.config_metrics import CONFIG_METRICS
from tasks.registry import build_task

SCHEMA = {
    "type": "object",
    "properties": {
        "label": {"type": "string", "enum": ["refund", "bug", "other"]},
        "quote": {"type": "string", "maxLength": 200},
    },
    "required": ["label"],  # with a label-only gold, demonstrations and the majority answer are {"label": ...}
    "additionalProperties": False,
}

ITEMS = [
    {"ticket": "t1", "body": "I was charged twice for my order, please refund the second payment.", "label": "refund"},
    {"ticket": "t2", "body": "The app crashes when I open the settings page on Android.", "label": "bug"},
    {"ticket": "t3", "body": "Do you ship to Canada? I could not find the answer anywhere.", "label": "other"},
    {"ticket": "t4", "body": "Export to CSV produces an empty file since the last update.", "label": "bug"},
]
TRAIN = [
    {"ticket": "e1", "body": "Login button does nothing on Safari.", "label": "bug"},
    {"ticket": "e2", "body": "The upload fails with error 500 every time.", "label": "bug"},
    {"ticket": "e3", "body": "I want my money back for the annual plan.", "label": "refund"},
]


def write_jsonl(path: Path, rows) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8")
    return path


def spec(tmp: Path, **overrides) -> dict:
    values = {
        "name": "ticket_triage",
        "data": {"test": str(tmp / "items.jsonl"), "train": str(tmp / "train.jsonl")},
        "fields": {"id": "ticket", "document": "body", "gold": "label"},
        "prompt": {"system": "Triage support tickets. Answer JSON only, matching {schema}.",
                   "user": "Ticket:\n{document}"},
        "output_schema": SCHEMA,
        "metrics": ["schema_valid", "classification", {"name": "grounding", "field": "quote"},
                    {"name": "length", "max_chars": 300}, "language"],
    }
    values.update(overrides)
    return values


def write_spec(tmp: Path, **overrides) -> Path:
    path = tmp / "ticket_triage.yaml"
    path.write_text(yaml.safe_dump(spec(tmp, **overrides), sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def files(tmp_path):
    write_jsonl(tmp_path / "items.jsonl", ITEMS)
    write_jsonl(tmp_path / "train.jsonl", TRAIN)
    return tmp_path


def build(path: Path, tmp: Path, **cfg):
    return build_task({"name": "config", "kind": "config", "spec": str(path), **cfg}, data_root=tmp)


def error_of(path: Path, tmp: Path, **cfg) -> str:
    with pytest.raises(ValueError) as error:
        task = build(path, tmp, **cfg)
        task.load("test")
    return str(error.value)


# --- end to end through the CLI ------------------------------------------------------------------------------

REPLAYED = {
    "t1": {"label": "refund", "quote": "please refund the second payment"},  # right, grounded
    "t2": {"label": "refund", "quote": "The app crashes when I open the settings page"},  # wrong, grounded
    "t3": "Sure! The label is other.",  # not JSON: parse_error, counts as wrong
    "t4": {"label": "bug", "quote": "Export to PDF is broken"},  # right, not grounded
}


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("config_task")
    write_jsonl(tmp / "items.jsonl", [*ITEMS, {"ticket": "t5", "label": "bug"}])  # t5 has no body: skipped
    write_jsonl(tmp / "train.jsonl", TRAIN)
    write_jsonl(tmp / "replay.jsonl", [{"id": k, "output": v} for k, v in REPLAYED.items()])
    path = write_spec(tmp, on_bad_rows="skip")
    env = {**os.environ, "COLUMNS": "160"}
    env.pop("RFT_CACHE_DIR", None)
    command = [sys.executable, "-m", "evals.cli", "run", "task=config", f"task.spec={path}", "limit=null",
               "candidates=local_majority", "~candidates.smollm2_zero_shot", "~candidates.smollm2_few_shot",
               "+model@candidates.replayed=replay", f"candidates.replayed.path={tmp}/replay.jsonl", "~reward",
               "tracking=none", f"cache.path={tmp}/cache.sqlite", f"hydra.run.dir={tmp}/run", f"data_root={tmp}"]
    result = subprocess.run(command, cwd=tmp, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads((tmp / "run" / "summary.json").read_text())
    return tmp, result, summary


def records(tmp: Path, name: str) -> dict[str, dict]:
    lines = (tmp / "run" / "records" / f"{name}.jsonl").read_text().splitlines()
    return {r["item_id"]: r for r in map(json.loads, lines)}


def test_cli_run_scores_the_replayed_answers_by_hand(cli_run):
    tmp, result, summary = cli_run
    assert summary["meta"]["task"] == "ticket_triage"
    replayed = summary["candidates"]["replayed"]
    assert replayed["n"] == 4 and replayed["errors"] == {"parse_error": 1}
    metrics = {name: m["value"] for name, m in replayed["metrics"].items()}
    assert metrics["accuracy"] == pytest.approx(2 / 4)
    assert metrics["schema_valid"] == pytest.approx(3 / 4)
    # refund: tp 1, fp 1 (t2) -> 2/3; bug: tp 1 (t4), fn 1 (t2) -> 2/3; other: fn 1 (t3, invalid) -> 0
    assert metrics["macro_f1"] == pytest.approx((2 / 3 + 2 / 3 + 0) / 3)
    assert metrics["grounding"] == pytest.approx(2 / 3)  # t4's quote is not in the ticket
    by_id = records(tmp, "replayed")
    assert by_id["t3"]["details"]["classification"] == {"gold": "other", "predicted": None}
    assert by_id["t2"]["details"]["classification"] == {"gold": "bug", "predicted": "refund"}


def test_cli_run_majority_baseline_answers_the_train_splits_majority(cli_run):
    tmp, _, summary = cli_run
    majority = summary["candidates"]["majority_baseline"]
    assert majority["role"] == "baseline" and majority["errors"] == {}
    assert majority["metrics"]["accuracy"]["value"] == pytest.approx(2 / 4)  # "bug" (2 of 3 train rows)
    answers = {r["output"] for r in records(tmp, "majority_baseline").values()}
    assert answers == {json.dumps({"label": "bug"})}


def test_cli_run_reports_the_skipped_row_by_id(cli_run):
    tmp, result, _ = cli_run
    assert "t5" in result.stdout and "missing field 'body'" in result.stdout  # Hydra logs to stdout
    log = (tmp / "run" / "run_command.log").read_text()  # Hydra's job log in the run folder
    assert "t5" in log and "skipping bad rows" in log
    assert "4 of 4 items" in result.stdout


def test_cli_bad_spec_exits_with_one_clear_message(tmp_path, files):
    path = write_spec(files, metrics=["schema_valid", "bleu"])
    result = subprocess.run([sys.executable, "-m", "evals.cli", "run", "task=config", f"task.spec={path}",
                             "tracking=none", f"hydra.run.dir={tmp_path}/run", f"data_root={files}"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=300,
                            env={k: v for k, v in os.environ.items() if k != "RFT_DEBUG"})
    assert result.returncode == 2
    assert str(path) in result.stderr and "bleu" in result.stderr and "classification" in result.stderr
    assert "Traceback" not in result.stderr


# --- in process: the task from YAML ---------------------------------------------------------------------------


def test_task_from_yaml_builds_prompts_references_and_majority(files):
    task = build(write_spec(files), files)
    dataset = task.load("test")
    assert dataset["id"] == ["t1", "t2", "t3", "t4"]
    item = dataset[1]
    assert task.reference(item) == {"gold": "bug", "document": ITEMS[1]["body"]}
    messages = task.messages(item, task.few_shot_examples(2, seed=0))
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user", "assistant", "user"]
    assert json.dumps(SCHEMA, separators=(",", ":")) in messages[0]["content"]
    assert messages[-1]["content"] == f"Ticket:\n{ITEMS[1]['body']}"
    assert json.loads(task.majority_answer(item)) == {"label": "bug"}
    assert task.output_schema() == SCHEMA


def test_inline_hydra_config_works_like_a_spec_file(files):
    task = build_task({**spec(files), "kind": "config", "_source": "conf/task/ticket_triage.yaml"}, data_root=files)
    assert task.name == "ticket_triage" and len(task.load("test")) == 4


def test_json_object_gold_exact_match_and_grounding(tmp_path):
    schema = {"type": "object", "properties": {"answer": {"type": "string", "maxLength": 20},
                                               "evidence": {"type": "array", "maxItems": 3,
                                                            "items": {"type": "string", "maxLength": 200}}},
              "required": ["answer", "evidence"], "additionalProperties": False}
    rows = [{"id": 1, "document": "The notice period is thirty days from the date of receipt.",
             "gold": {"answer": "30 days", "evidence": ["thirty days from the date of receipt"]}}]
    write_jsonl(tmp_path / "qa.jsonl", rows)
    path = tmp_path / "qa.yaml"
    path.write_text(yaml.safe_dump({
        "name": "qa", "data": "qa.jsonl", "prompt": {"user": "{document}"}, "output_schema": schema,
        "metrics": [{"name": "exact_match", "field": "answer"}, "schema_valid",
                    {"name": "grounding", "field": "evidence[]"}], "majority_answer": {"answer": "", "evidence": []},
    }))
    task = build(path, tmp_path)
    item = task.load("test")[0]
    assert item["id"] == "1"
    good = json.dumps({"answer": "30 DAYS", "evidence": ["Thirty days from the date of receipt", "no such text here"]})
    s = task.score(good, task.reference(item))
    assert s.values["exact_match"] == 1.0  # normalised: case does not matter
    assert (s.values["grounded_excerpts"], s.values["total_excerpts"]) == (1.0, 2.0)
    assert task.render_gold(item) == json.dumps(rows[0]["gold"])
    assert json.loads(task.majority_answer(item)) == {"answer": "", "evidence": []}


def test_parquet_data_is_read_with_datasets(tmp_path):
    import datasets

    datasets.Dataset.from_list(ITEMS).to_parquet(str(tmp_path / "items.parquet"))
    task = build(write_spec(tmp_path, data="items.parquet"), tmp_path)
    assert task.load("test")["id"] == ["t1", "t2", "t3", "t4"]


def test_saved_dataset_dict_directory_is_read_by_split(tmp_path):
    import datasets

    datasets.DatasetDict({"test": datasets.Dataset.from_list(ITEMS[:2]),
                          "train": datasets.Dataset.from_list(TRAIN)}).save_to_disk(str(tmp_path / "hf"))
    task = build(write_spec(tmp_path, data={"test": "hf", "train": "hf"}), tmp_path)
    assert task.load("test")["id"] == ["t1", "t2"]
    assert json.loads(task.majority_answer({})) == {"label": "bug"}


def test_answers_are_scored_with_classified_errors(files):
    task = build(write_spec(files), files)
    reference = task.reference(task.load("test")[0])
    off_schema = task.score(json.dumps({"label": "billing", "quote": "x"}), reference)
    assert [e.kind for e in off_schema.errors] == ["schema_error"]
    assert off_schema.values["accuracy"] == 0.0 and off_schema.values["cls_fn/refund"] == 1.0
    assert task.score("", reference).errors[0].kind == "parse_error"
    assert [e.kind for e in task.score("{}", {"gold": None}).errors] == ["input_error"]
    assert task.score("{}", {"gold": "nope", "document": ""}).values == {}


# --- bad input: each names the file, the key and the fix --------------------------------------------------------


def test_missing_required_key(files):
    for key, words in (("output_schema", ["output_schema", "JSON Schema"]), ("data", ["data", "items.jsonl"]),
                       ("prompt", ["prompt", "{document}"]), ("name", ["name"])):
        values = spec(files)
        del values[key]
        path = files / f"no_{key}.yaml"
        path.write_text(yaml.safe_dump(values))
        message = error_of(path, files)
        assert str(path) in message and f"`{key}`" in message, message
        assert all(word in message for word in words), message


def test_unknown_top_level_key(files):
    message = error_of(write_spec(files, prompts={"user": "x"}), files)
    assert "prompts" in message and "known keys" in message and "prompt" in message


def test_unknown_metric_lists_the_known_ones(files):
    path = write_spec(files, metrics=["schema_valid", "rouge"])
    message = error_of(path, files)
    assert str(path) in message and "`metrics`[1]" in message and "'rouge'" in message
    assert all(name in message for name in CONFIG_METRICS)


@pytest.mark.parametrize("metric, words", [
    ({"name": "length", "max_len": 5}, ["max_len", "max_chars"]),
    ({"name": "grounding"}, ["grounding needs `field`"]),
    ({"name": "grounding", "field": "quotes"}, ["'quotes'", "not a property", "quote"]),
    ({"name": "exact_match", "field": "a..b"}, ["not a field path"]),
    ({"name": "language", "language": "fr"}, ["'fr'", "en"]),
])
def test_bad_metric_options(files, metric, words):
    message = error_of(write_spec(files, metrics=[metric]), files)
    assert "`metrics`" in message and all(w in message for w in words), message


def test_classification_needs_the_class_enum_in_the_schema(files):
    schema = {**SCHEMA, "properties": {**SCHEMA["properties"], "label": {"type": "string", "maxLength": 20}}}
    message = error_of(write_spec(files, output_schema=schema), files)
    assert "properties.label.enum" in message and "`metrics`[1]" in message


@pytest.mark.parametrize("schema, words", [
    ({"type": "strng"}, ["not a valid JSON Schema", "strng"]),
    ({"type": "object", "required": "label"}, ["not a valid JSON Schema", "required"]),
    ({"type": "object", "properties": {"x": {"type": "string", "pattern": "^a"}}}, ["pattern", "unsupported"]),
    (["label"], ["JSON Schema object"]),
])
def test_invalid_output_schema(files, schema, words):
    path = write_spec(files, output_schema=schema, metrics=["schema_valid"])
    message = error_of(path, files)
    assert str(path) in message and "output_schema" in message and all(w in message for w in words), message


def test_data_root_dot_is_the_spec_files_folder(files, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    path = write_spec(files, data={"test": "items.jsonl", "train": "train.jsonl"}, data_root=".")
    task = build(path, elsewhere)  # the run's data root does not hold the files; the spec's folder does
    assert len(task.load("test")) == 4


def test_output_schema_from_a_file_next_to_the_yaml(files):
    (files / "schema.json").write_text(json.dumps(SCHEMA))
    assert build(write_spec(files, output_schema="schema.json"), files).output_schema() == SCHEMA
    message = error_of(write_spec(files, output_schema="missing.json"), files)
    assert "missing.json" in message and "folder" in message


def test_unknown_placeholder_and_reference_without_a_source(files):
    message = error_of(write_spec(files, prompt={"user": "Ticket: {document} for {customer}"}), files)
    assert "`prompt.user`" in message and "{customer}" in message and "{document}" in message
    message = error_of(write_spec(files, prompt={"user": "{document} vs {reference}"}), files)
    assert "{reference}" in message and "reference_text" in message
    message = error_of(write_spec(files, prompt={"user": "Answer like {\"label\": ...} for {document}"}), files)
    assert "{{" in message
    task = build(write_spec(files, prompt={"user": "{reference}\n{document}"}, reference_text="Policy P."), files)
    assert task.messages(task.load("test")[0])[-1]["content"].startswith("Policy P.\n")


def test_missing_data_file_and_unknown_split(files):
    message = error_of(write_spec(files, data="nowhere.jsonl"), files)
    assert "`data.test`" in message and "nowhere.jsonl" in message and "data root" in message
    task = build(write_spec(files), files)
    with pytest.raises(ValueError, match="no split 'dev'"):
        task.load("dev")


def test_bad_rows_fail_fast_listing_every_id_and_the_fix(files):
    write_jsonl(files / "items.jsonl", [
        ITEMS[0],
        {"ticket": "t2", "label": "bug"},  # no document
        {"ticket": "t3", "body": "hello", "label": "billing"},  # gold outside the classes
        "{not json",
        {"ticket": "t1", "body": "again", "label": "bug"},  # repeated id
        {"body": "no id", "label": "bug"},
        {"ticket": "t7", "body": "", "label": "bug"},  # empty document
        {"ticket": "t8", "body": "no gold"},
    ])
    path = write_spec(files)
    message = error_of(path, files)
    assert str(path) in message and "7 of 8 rows" in message and "items.jsonl" in message
    for fragment in ("line 2 (id 't2'): missing field 'body' (mapped as fields.document)",
                     "line 3 (id 't3'): gold label 'billing' is not one of the classes",
                     "line 4: not valid JSON", "line 5 (id 't1'): id repeats line 1",
                     "line 6: missing field 'ticket' (mapped as fields.id)",
                     "line 7 (id 't7'): document (body) must be non-empty text",
                     "line 8 (id 't8'): missing field 'label' (mapped as fields.gold)",
                     "on_bad_rows: skip"):
        assert fragment in message, fragment


def test_skip_mode_evaluates_the_rest_and_reports_the_ids(files, caplog):
    write_jsonl(files / "items.jsonl", [*ITEMS, {"ticket": "t9", "body": "x", "label": None}])
    task = build(write_spec(files, on_bad_rows="skip"), files)
    with caplog.at_level(logging.WARNING):
        dataset = task.load("test")
    assert len(dataset) == 4
    assert "t9" in caplog.text and "fields.gold" in caplog.text
    assert [b.id for b in task.skipped_rows("test")] == ["t9"]
    assert task.load_report()["test"] == {"items": 4, "skipped": [task.skipped_rows("test")[0].to_dict()]}


def test_spec_file_errors(tmp_path, files):
    with pytest.raises(ValueError, match="does not exist"):
        build(tmp_path / "nope.yaml", tmp_path)
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed")
    with pytest.raises(ValueError, match="not valid YAML"):
        build(bad, tmp_path)
    with pytest.raises(ValueError, match="belong in the spec file"):
        build(write_spec(files), files, prompt="x")
    message = error_of(write_spec(files, on_bad_rows="ignore"), files)
    assert "on_bad_rows" in message and "skip" in message


def test_few_shot_and_majority_without_a_train_split_say_how_to_fix(files):
    task = build(write_spec(files, data="items.jsonl"), files)
    with pytest.raises(ValueError, match="few_shot: 0"):
        task.few_shot_examples(2)
    with pytest.raises(ValueError, match="majority_answer"):
        task.majority_answer({})


def test_config_task_scoring_imports_only_the_standard_library():
    # the config task's scorer must be usable by the reward Lambda: no numpy / datasets / jsonschema
    code = ("import sys, json\nbefore = set(sys.modules)\nimport metrics.config_metrics, metrics.classification\n"
            "tops = {n.split('.')[0] for n in set(sys.modules) - before}\n"
            "print(json.dumps(sorted(tops - set(sys.stdlib_module_names) - {'metrics', 'tasks'})))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1])
    assert json.loads(out.stdout) == []


def test_the_worked_example_in_the_docs_builds_and_loads(tmp_path):
    # docs/config_tasks.md: the first ```yaml block and the next two ```json blocks are the files to copy
    import re

    doc = (Path(__file__).resolve().parents[1] / "docs" / "config_tasks.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```(yaml|json)\n(.*?)```", doc, re.DOTALL)
    spec_text = next(body for lang, body in blocks if lang == "yaml")
    items, examples = [body for lang, body in blocks if lang == "json"][:2]
    (tmp_path / "clause_type.yaml").write_text(spec_text)
    (tmp_path / "clause_type.jsonl").write_text(items)
    (tmp_path / "clause_type_examples.jsonl").write_text(examples)
    task = build(tmp_path / "clause_type.yaml", tmp_path / "not_the_data_root")
    dataset = task.load("test")
    assert task.name == "clause_type" and len(dataset) == 5
    assert json.loads(task.majority_answer({})) == {"label": "other"}
    assert [a.name for a in task.aggregates()][:4] == ["json_valid", "schema_valid", "accuracy", "macro_f1"]
    assert task.score(json.dumps({"label": "termination", "quote": "Either party may terminate"}),
                      task.reference(dataset[1])).values["grounded_excerpts"] == 1.0
