"""unfair_tos: the loader against the real LegalBench files, the classification metrics on hand-checked
answers and against sklearn, the confusion matrix, the majority baseline, and one run through the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from evals.stats.confusion import INVALID, confusion_matrix, read_confusion
from evals.providers.base import GenerationRequest, ProviderError
from evals.providers.registry import ProviderContext, build_provider
from evals.stats.estimate import estimate
from metrics import classification
from tasks.registry import build_task
from tasks.unfair_tos.classes import LABELS, OTHER, UNFAIR_LABELS

LOL = "Limitation of liability"


@pytest.fixture(scope="module")
def task(data_root):
    return build_task({"name": "unfair_tos", "kind": "unfair_tos"}, data_root=data_root)


def answer(label) -> str:
    return json.dumps({"label": label})


# --- the loader against the real files -------------------------------------------------------------------


def test_test_split_has_the_sources_counts(task):
    dataset = task.load("test")
    assert len(dataset) == 3841  # the data README: 3,841 sentences, 362 of them unfair
    counts = task.label_counts("test")
    assert sum(counts[label] for label in UNFAIR_LABELS) == 362
    assert counts[OTHER] == 3479
    assert len(set(dataset["id"])) == 3841


def test_class_counts_match_an_independent_read_of_the_file(task, data_root):
    # counted here without the csv module: the last tab-separated column of every data line
    lines = (data_root / "unfair_tos" / "test.tsv").read_text(encoding="utf-8").splitlines()
    assert lines[0].split("\t") == ["index", "text", "label"]
    raw = Counter(line.rsplit("\t", 1)[1] for line in lines[1:] if line.strip())
    assert task.label_counts("test") == {label: raw[label] for label in LABELS}
    assert set(raw) == set(LABELS)
    # per-class counts of the pinned file (sha256 in tasks/data_pins.json), the smallest class included
    assert raw["Arbitration"] == 15 and raw[LOL] == 98 and raw["Unilateral termination"] == 71


def test_items_carry_the_sentence_and_its_gold(task):
    item = task.load("test")[0]
    assert item["id"] == "utos-00000"
    assert item["document"] == "last updated date : may 15 , 2017"
    assert item["gold"] == OTHER and task.reference(item) == {"label": OTHER}
    assert json.loads(task.render_gold(item)) == {"label": OTHER}


def test_few_shot_file_has_one_row_per_class_so_the_majority_is_a_stated_prior(task):
    train = task.load("train")
    assert sorted(train["gold"]) == sorted(LABELS)  # no majority to count: hence majority_label (Other)
    assert json.loads(task.majority_answer({"id": "x"})) == {"label": OTHER}
    examples = task.few_shot_examples(2, seed=3)
    assert len(examples) == 2 and OTHER in {e["gold"] for e in examples}
    assert any(e["gold"] != OTHER for e in examples)


def test_exclude_demonstrations_drops_the_few_shot_sentences_from_the_test_items(data_root):
    task = build_task({"name": "unfair_tos", "kind": "unfair_tos", "exclude_demonstrations": True}, data_root)
    test_texts = task.load("test")["document"]
    assert len(test_texts) == 3841 - 9  # each demonstration is exactly one test row
    assert not set(test_texts) & set(task.load("train")["document"])


def test_messages_list_every_class_and_the_schema_is_a_bounded_enum(task):
    item = task.load("test")[5]
    messages = task.messages(item)
    assert [m["role"] for m in messages] == ["system", "user"]
    for label in LABELS:
        assert f"- {label}: " in messages[0]["content"]
    assert item["document"] in messages[1]["content"]
    schema = task.output_schema()
    assert schema["properties"]["label"]["enum"] == list(LABELS)
    assert classification.classes_from_schema(schema) == LABELS
    shots = task.messages(item, task.few_shot_examples(2))
    assert [m["role"] for m in shots] == ["system", "user", "assistant", "user", "assistant", "user"]
    assert task.prompt_template_hash() == task.prompt_template_hash() and len(task.prompt_template_hash()) == 12


@pytest.mark.parametrize("cfg, words", [
    ({"split": "dev"}, ["split", "dev", "test", "train"]),
    ({"majority_label": "Unfair"}, ["majority_label", "Unfair"]),
    ({"fold": 1}, ["unknown keys", "fold"]),
])
def test_bad_task_config_is_named(cfg, words, data_root):
    with pytest.raises(ValueError) as error:
        build_task({"name": "unfair_tos", "kind": "unfair_tos", **cfg}, data_root)
    assert all(word in str(error.value) for word in words)


# --- the metrics on hand-checked answers -------------------------------------------------------------------


def test_right_label(task):
    s = task.score(answer(LOL), {"label": LOL})
    assert s.errors == []
    assert s.values["accuracy"] == 1.0 and s.values["schema_valid"] == 1.0
    assert s.values[f"cls_tp/{LOL}"] == 1.0
    assert sum(v for k, v in s.values.items() if k.startswith(("cls_fp/", "cls_fn/"))) == 0
    assert (s.values["unfair_tp"], s.values["unfair_fp"], s.values["unfair_fn"]) == (1.0, 0.0, 0.0)
    assert s.details["classification"] == {"gold": LOL, "predicted": LOL}


def test_wrong_label_is_a_false_positive_and_a_false_negative(task):
    s = task.score(answer("Jurisdiction"), {"label": "Choice of law"})
    assert s.values["accuracy"] == 0.0 and s.errors == []
    assert s.values["cls_fp/Jurisdiction"] == 1.0 and s.values["cls_fn/Choice of law"] == 1.0
    assert s.values["cls_tp/Choice of law"] == 0.0
    # the sentence is unfair and was flagged unfair: detection is right even though the type is wrong
    assert s.values["unfair_tp"] == 1.0
    flagged_fair = task.score(answer("Arbitration"), {"label": OTHER})
    assert (flagged_fair.values["unfair_fp"], flagged_fair.values["cls_fn/Other"]) == (1.0, 1.0)


@pytest.mark.parametrize("text, kind", [
    (answer("Unfair"), "schema_error"),  # a label outside the classes
    (json.dumps({"label": LOL, "why": "x"}), "schema_error"),  # an extra field: fails the schema
    (json.dumps({"category": LOL}), "schema_error"),
    ('{"label": "Limitation', "parse_error"),  # truncated
    ("I think it is limitation of liability.", "parse_error"),
    ("", "parse_error"),
])
def test_invalid_answer_is_wrong_counts_a_miss_and_no_false_positive(task, text, kind):
    s = task.score(text, {"label": LOL})
    assert [e.kind for e in s.errors] == [kind]
    assert s.values["accuracy"] == 0.0 and s.values["schema_valid"] == 0.0
    assert s.values[f"cls_fn/{LOL}"] == 1.0
    assert sum(v for k, v in s.values.items() if k.startswith("cls_fp/")) == 0
    assert s.values["unfair_fn"] == 1.0 and s.values["unfair_fp"] == 0.0
    assert s.details["classification"] == {"gold": LOL, "predicted": None}


def test_fenced_answer_is_read_and_marked_repaired(task):
    s = task.score(f"```json\n{answer(OTHER)}\n```", {"label": OTHER})
    assert s.values["accuracy"] == 1.0 and s.values["json_valid"] == 1.0
    assert s.details["json_repaired"] is True


def test_bad_gold_is_an_input_error_without_values(task):
    s = task.score(answer(OTHER), {"label": "Privacy"})
    assert s.values == {} and [e.kind for e in s.errors] == ["input_error"]
    assert "Privacy" in s.errors[0].message


def test_every_scored_answer_has_the_same_value_names(task):
    names = {frozenset(task.score(text, {"label": LOL}).values)
             for text in (answer(LOL), answer(OTHER), "nope", answer("bad"))}
    assert len(names) == 1


def _aggregate(task, name):
    return next(a for a in task.aggregates() if a.name == name)


def test_macro_f1_and_per_class_f1_equal_sklearn(task):
    from sklearn.metrics import f1_score

    gold = ["Other", "Other", "Other", LOL, LOL, "Arbitration", "Jurisdiction", "Choice of law", "Other", LOL]
    pred = ["Other", LOL, "Other", LOL, "Other", "Arbitration", "Choice of law", "Choice of law", "Other", LOL]
    records = [task.score(answer(p), {"label": g}).values for g, p in zip(gold, pred, strict=True)]
    seen = sorted(set(gold) | set(pred))  # classes never seen are left out, as sklearn does by default
    macro = estimate(_aggregate(task, "macro_f1"), records, resamples=100)
    assert macro.value == pytest.approx(f1_score(gold, pred, labels=seen, average="macro"))
    assert macro.value == pytest.approx(f1_score(gold, pred, average="macro"))
    per_class = f1_score(gold, pred, labels=seen, average=None)
    for label, expected in zip(seen, per_class, strict=True):
        assert estimate(_aggregate(task, f"f1/{label}"), records, resamples=10).value == pytest.approx(expected)
    accuracy = estimate(_aggregate(task, "accuracy"), records, resamples=10).value
    assert accuracy == pytest.approx(7 / 10)
    # hand check: Other P=3/4 R=3/4; LoL P=2/3 R=2/3; Arbitration 1; Jurisdiction 0; Choice of law 2/3
    assert macro.value == pytest.approx((0.75 + 2 / 3 + 1 + 0 + 2 / 3) / 5)


def test_invalid_answers_lower_macro_f1_like_sklearn_restricted_to_the_real_classes(task):
    from sklearn.metrics import f1_score

    gold = [LOL, LOL, "Other", "Arbitration"]
    texts = [answer(LOL), "not json", answer("Other"), answer("Unfair")]
    pred = [LOL, "<invalid>", "Other", "<invalid>"]
    records = [task.score(t, {"label": g}).values for g, t in zip(gold, texts, strict=True)]
    macro = estimate(_aggregate(task, "macro_f1"), records, resamples=10).value
    # the invalid marker is not a class: sklearn's labels= keeps it out of the mean but counts its misses
    assert macro == pytest.approx(f1_score(gold, pred, labels=[LOL, "Other", "Arbitration"], average="macro"))
    assert macro == pytest.approx((2 / 3 + 1 + 0) / 3)


def test_confusion_matrix_from_records(task, tmp_path):
    pairs = [(LOL, LOL), (LOL, "Other"), ("Other", "Other"), ("Other", None), ("Arbitration", LOL)]
    records = []
    for gold, predicted in pairs:
        s = task.score(answer(predicted) if predicted else "oops", {"label": gold})
        records.append({"item_id": gold, "details": s.details, "values": s.values})
    records.append({"item_id": "x", "details": {}, "values": {}, "errors": [{"kind": "timeout"}]})
    matrix = confusion_matrix(records, LABELS)
    assert matrix.n == 5 and matrix.unpaired == 1
    assert matrix.counts[LOL] == {LOL: 1, "Other": 1}
    assert matrix.counts["Other"] == {"Other": 1, INVALID: 1}
    data = matrix.to_dict()
    assert data["columns"][-1] == INVALID and data["labels"] == list(LABELS)
    assert data["matrix"][LABELS.index("Arbitration")][LABELS.index(LOL)] == 1
    assert sum(map(sum, data["matrix"])) == 5
    path = tmp_path / "records.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    assert read_confusion(path, LABELS).to_dict() == data


# --- the majority baseline ---------------------------------------------------------------------------------


def test_majority_provider_answers_the_tasks_majority_label(task):
    provider = build_provider({"name": "maj", "provider": "majority"}, ProviderContext(task=task))
    item = dict(task.load("test")[140])
    request = GenerationRequest(item_id=item["id"], messages=tuple(task.messages(item)), context=item)
    generation = provider.generate(request)
    assert json.loads(generation.text) == {"label": OTHER}
    assert task.score(generation.text, task.reference(item)).values["accuracy"] == float(item["gold"] == OTHER)
    assert provider.identity()["fingerprint"] == "prior:Other"


def test_majority_provider_refuses_a_task_without_majority_answer():
    class NoMajority:
        name = "contract_review"

    with pytest.raises(ValueError) as error:
        build_provider({"name": "maj", "provider": "majority", "_source": "conf/model/majority_baseline.yaml"},
                       ProviderContext(task=NoMajority()))
    message = str(error.value)
    assert "conf/model/majority_baseline.yaml" in message and "contract_review" in message
    assert "majority_answer" in message


def test_majority_provider_classifies_a_failing_item():
    class Broken:
        name = "t"

        def majority_answer(self, item):
            return item["missing"]

        def prompt_template_hash(self):
            return "h"

    provider = build_provider({"provider": "majority"}, ProviderContext(task=Broken()))
    with pytest.raises(ProviderError) as error:
        provider.generate(GenerationRequest(item_id="i1", messages=(), context={}))
    assert error.value.kind == "input_error" and "i1" in str(error.value)


# --- one run through the CLI ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_cli_run_with_smollm2_and_the_majority_baseline(tmp_path, data_root):
    env = {**os.environ, "RFT_DATA_DIR": str(data_root), "COLUMNS": "160"}
    env.pop("RFT_CACHE_DIR", None)
    result = subprocess.run(
        [sys.executable, "-m", "evals.cli", "run", "task=unfair_tos", "candidates=local_majority", "limit=3",
         "tracking=none", f"cache.path={tmp_path}/cache.sqlite", f"hydra.run.dir={tmp_path}/run"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert set(summary["candidates"]) == {"smollm2_zero_shot", "smollm2_few_shot", "majority_baseline"}
    assert summary["meta"]["task"] == "unfair_tos"
    for name, candidate in summary["candidates"].items():
        records = [json.loads(line) for line in (tmp_path / "run" / "records" / f"{name}.jsonl").open()]
        assert len(records) == 3 and candidate["n"] == 3
        assert all(r["values"] or r["errors"] for r in records)  # nothing lost
        assert {"accuracy", "macro_f1", "unfair_f1"} <= set(candidate["metrics"])
        assert confusion_matrix(records, LABELS).n + confusion_matrix(records, LABELS).unpaired == 3
    majority = [json.loads(line) for line in (tmp_path / "run" / "records" / "majority_baseline.jsonl").open()]
    expected = sum(r["details"]["classification"]["gold"] == OTHER for r in majority) / 3
    assert summary["candidates"]["majority_baseline"]["metrics"]["accuracy"]["value"] == pytest.approx(expected)
    assert all(r["details"]["classification"]["predicted"] == OTHER for r in majority)
    assert Path(tmp_path / "run" / "resolved_config.yaml").exists()
