"""rft-evals export-rft: Nova RFT JSONL from the task code, validated; its references score like evaluation's."""

from __future__ import annotations

import json

from evals.cli import main
from evals.rft.export import validate_records
from _reward_helpers import load_task


def test_export_train_split_is_valid_and_matches_the_task(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RFT_DATA_DIR", __import__("_reward_helpers").DATA)
    out = tmp_path / "train.jsonl"
    assert main(["export-rft", "task=contract_review", "split=train", f"out={out}", "limit=120"]) == 0
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == 120 and validate_records(records) == []
    task = load_task()
    rows = {r["id"]: r for r in task.rows("train")}
    first = records[0]
    assert [m["role"] for m in first["messages"]] == ["system", "user"]
    assert first["reference_answer"] == task.reference(rows[first["id"]])
    assert first["messages"] == task.messages(rows[first["id"]])


def test_too_few_records_fail_with_a_clear_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RFT_DATA_DIR", __import__("_reward_helpers").DATA)
    out = tmp_path / "small.jsonl"
    assert main(["export-rft", "task=contract_review", "split=train", f"out={out}", "limit=20"]) == 2
    assert "at least 100" in capsys.readouterr().err and not out.exists()


def test_validation_catches_multi_turn_and_non_text():
    good = {"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}],
            "reference_answer": {}}
    multi = {**good, "messages": good["messages"] + [{"role": "assistant", "content": "a"}]}
    image = {**good, "messages": [{"role": "user", "content": [{"image": "x"}]}]}
    problems = validate_records([good, multi, image], min_records=1)
    assert len(problems) == 2 and "single turn" in problems[0] and "text" in problems[1]
