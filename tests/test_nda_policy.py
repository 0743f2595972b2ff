"""The nda_policy task (ContractNLI): loader against the real files, truncation accounting, the policy, the
schema and prompt, the metrics on hand-checked answers, classified errors, config errors, the majority
baseline, and (slow) a `rft-evals run task=nda_policy limit=3` with the local SmolLM2."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import jsonschema
import pytest
import yaml

from evals.stats.estimate import estimate_all
from metrics.errors import ErrorKind
from metrics.evidence import RuleEvidence, evidence_values
from metrics.policy_nli import LABELS, majority_labels
from metrics.policy_review import scoring
from tasks.nda_policy import contract_nli, prompt
from tasks.nda_policy.policy import PACKAGED_POLICY, PolicyError, load_policy, parse_policy
from tasks.nda_policy.schema import output_schema
from metrics.policy_review.spec import PolicyReviewSpec
from tasks.nda_policy.task import NdaPolicyConfigError, NdaPolicyTask, build
from tasks.registry import build_task

REPO_ROOT = Path(__file__).resolve().parents[1]
CONFIG = yaml.safe_load((REPO_ROOT / "conf" / "task" / "nda_policy.yaml").read_text())
STATED_DOCUMENTS = {"test": 123, "dev": 61, "train": 50}  # data README: test 123 NDAs, dev 61, first 50 train
STATED_TEST_PAIRS = 2091  # data README: 2,091 test pairs
CHOICE = {"Entailment": "entailment", "Contradiction": "contradiction", "NotMentioned": "not_mentioned"}


def _raw(data_root: Path, split: str) -> dict:
    return json.loads((data_root / contract_nli.SPLIT_FILES[split]).read_text(encoding="utf-8"))


def _raw_label_counts(raw: dict) -> Counter:
    return Counter(CHOICE[a["choice"]] for doc in raw["documents"]
                   for a in doc["annotation_sets"][0]["annotations"].values())


@pytest.fixture(scope="module")
def task(data_root) -> NdaPolicyTask:
    return build_task(CONFIG, data_root=data_root)


@pytest.fixture(scope="module")
def rows(task):
    return task.rows("test")


def _estimates(task_or_spec, values: list[dict]) -> dict[str, float]:
    aggregates = task_or_spec.aggregates() if hasattr(task_or_spec, "aggregates") else scoring.aggregates(task_or_spec)
    return {e.name: e.value for e in estimate_all(aggregates, values, resamples=10, seed=0)}


# --- loader against the real files ------------------------------------------------------------------------


@pytest.mark.parametrize("split", ["test", "dev", "train"])
def test_loader_counts_match_the_files(task, data_root, split):
    raw = _raw(data_root, split)
    rows = task.rows(split)
    assert len(rows) == len(raw["documents"]) == STATED_DOCUMENTS[split]  # head mode: one item per NDA
    assert len({r["id"] for r in rows}) == len(rows)
    loaded = Counter(g["label"] for r in rows for g in r["gold"])
    assert loaded == _raw_label_counts(raw)
    assert sum(loaded.values()) == 17 * STATED_DOCUMENTS[split]
    if split == "test":
        assert sum(loaded.values()) == STATED_TEST_PAIRS


def test_dataset_has_the_protocol_columns(task):
    dataset = task.load("dev")
    assert len(dataset) == 61
    assert {"id", "document", "reference", "gold", "truncation"} <= set(dataset.column_names)
    row = dataset[0]
    assert task.reference(row) == task.reference(task.rows("dev")[0])


def test_gold_evidence_is_the_span_text(task, data_root, rows):
    raw = {str(d["id"]): d for d in _raw(data_root, "test")["documents"]}
    checked = 0
    for row in rows:
        doc = raw[row["doc_id"]]
        for gold in row["gold"]:
            for index, text in zip(gold["evidence"], gold["evidence_text"], strict=True):
                start, end = doc["spans"][index]  # head segments start at span 0: indices are the document's
                assert text == doc["text"][start:end] and text in row["document"]
                checked += 1
    assert checked > 1000


def test_policy_rules_are_the_seventeen_hypotheses(task, data_root):
    hypotheses = _raw(data_root, "test")["labels"]
    assert set(task.policy.rule_ids) == set(hypotheses) and len(task.policy.rules) == 17
    for rule in task.policy.rules:
        assert rule.statement == hypotheses[rule.id]["hypothesis"]
        assert rule.contradiction.default in rule.contradiction.allowed
        assert set(rule.contradiction.allowed) <= set(task.policy.actions)
        assert rule.contradiction.assessment in task.policy.assessments
    reference = task.reference_text
    assert all(f"- {r}" in reference for r in task.policy.rule_ids)


def test_policy_errors_name_the_problem(tmp_path):
    data = json.loads(PACKAGED_POLICY.read_text())
    data["rules"][0]["contradiction"]["default"] = "shrug"
    with pytest.raises(PolicyError, match=r"rules\[0\].*shrug"):
        parse_policy(data, "bad.json")
    with pytest.raises(PolicyError, match="hypotheses without a rule: \\['nda-99'\\]"):
        load_policy().with_statements({**{r: "x" for r in load_policy().rule_ids}, "nda-99": "y"}, "data.json")
    with pytest.raises(PolicyError, match="does not exist"):
        load_policy(tmp_path / "missing.json")


# --- truncation accounting ---------------------------------------------------------------------------------


def test_head_truncation_is_reported_and_counted(task, data_root, rows):
    limit = CONFIG["max_document_chars"]
    raw = {str(d["id"]): d for d in _raw(data_root, "test")["documents"]}
    for row in rows:
        t, doc = row["truncation"], raw[row["doc_id"]]
        assert t["chars_total"] == len(doc["text"])
        assert t["chars_shown"] == len(row["document"]) <= max(limit, doc["spans"][0][1])
        shown_end = doc["spans"][t["spans_shown"] - 1][1]
        assert row["document"] == doc["text"][:shown_end]
        assert t["truncated"] == (t["spans_shown"] < len(doc["spans"]))
        assert t["chars_cut"] == (len(doc["text"]) - shown_end if t["truncated"] else 0)
        # gold spans cut off = evidence spans starting at or after the first span not shown
        annotations = doc["annotation_sets"][0]["annotations"]
        cut = sum(1 for a in annotations.values() for i in a["spans"] if i >= t["spans_shown"])
        assert t["gold_spans_cut"] == cut
        unseen = sorted(r for r, a in annotations.items() if a["spans"] and min(a["spans"]) >= t["spans_shown"])
        assert sorted(t["rules_unseen"]) == unseen
        assert row["reference"]["truncation"]["truncated"] == t["truncated"]
    truncated = sum(r["truncation"]["truncated"] for r in rows)
    assert 0 < truncated < len(rows)  # the default cuts the long NDAs only


def test_whole_documents_when_unlimited(data_root):
    task = build({**CONFIG, "max_document_chars": None}, data_root=data_root)
    rows = task.rows("dev")
    assert not any(r["truncation"]["truncated"] or r["truncation"]["gold_spans_cut"] for r in rows)
    assert task.budget()["total_tokens"] is None


def test_chunks_tile_the_nda_and_are_labelled_on_their_own(data_root):
    task = build({**CONFIG, "truncation": "chunk", "max_document_chars": 3000}, data_root=data_root)
    raw = {str(d["id"]): d for d in _raw(data_root, "dev")["documents"]}
    by_doc: dict[str, list[dict]] = {}
    for row in task.rows("dev"):
        by_doc.setdefault(row["doc_id"], []).append(row)
    assert len(by_doc) == 61 and sum(map(len, by_doc.values())) > 61
    for doc_id, chunks in by_doc.items():
        doc = raw[doc_id]
        assert sum(c["truncation"]["spans_shown"] for c in chunks) == len(doc["spans"])
        assert not any(c["truncation"]["truncated"] or c["truncation"]["gold_spans_cut"] for c in chunks)
        for rule, annotation in doc["annotation_sets"][0]["annotations"].items():
            golds = [next(g for g in c["gold"] if g["rule"] == rule) for c in chunks]
            assert sum(len(g["evidence"]) for g in golds) == len(annotation["spans"])
            for g in golds:
                assert g["label"] == (CHOICE[annotation["choice"]] if g["evidence"] else "not_mentioned")
        if len(chunks) > 1:
            assert chunks[0]["id"] == f"{doc_id}#0"
            assert prompt.CHUNK_NOTE.format(part=1, parts=len(chunks)) in task.messages(chunks[0])[-1]["content"]


def test_truncation_costs_are_scored_apart(task, rows):
    row = next(r for r in rows if r["truncation"]["rules_unseen"])
    score = task.score(task.render_gold(row), task.reference(row))
    v = score.values
    assert v["truncated"] == 1.0 and v["rules_unseen"] == len(row["truncation"]["rules_unseen"]) > 0
    assert v["evidence_found"] == v["evidence_gold"] and v["evidence_gold_cut"] > 0
    assert v["evidence_gold_all"] == v["evidence_gold"] + v["evidence_gold_cut"]
    assert v["chars_cut_fraction"] == pytest.approx(row["truncation"]["chars_cut"] / row["truncation"]["chars_total"])
    assert score.details["truncation"]["gold_spans_cut"] == row["truncation"]["gold_spans_cut"]


# --- schema and prompt -------------------------------------------------------------------------------------


def _walk(node, path="$"):
    yield path, node
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in children:
        if isinstance(value, (dict, list)):
            yield from _walk(value, f"{path}.{key}")


def test_schema_is_bounded_and_keyed_by_rule(task):
    schema = task.output_schema()
    for path, node in _walk(schema):
        if isinstance(node, dict) and node.get("type") == "string":
            assert "maxLength" in node or "enum" in node, path
        if isinstance(node, dict) and node.get("type") == "array":
            assert "maxItems" in node, path
        if isinstance(node, dict) and node.get("type") == "object":
            assert node.get("additionalProperties") is False, path
    rules = schema["properties"]["rules"]
    assert rules["required"] == list(task.policy.rule_ids)
    jsonschema.Draft202012Validator.check_schema(schema)


def test_gold_and_majority_answers_are_schema_valid(task, rows):
    validator = jsonschema.Draft202012Validator(task.output_schema())
    for row in rows:
        validator.validate(json.loads(task.render_gold(row)))
    validator.validate(json.loads(task.majority_answer(rows[0])))


def test_prompt_delimits_the_document_and_says_when_it_was_cut(task, rows):
    cut = next(r for r in rows if r["truncation"]["truncated"])
    whole = next(r for r in rows if not r["truncation"]["truncated"])
    for row, noted in ((cut, True), (whole, False)):
        system, user = (m["content"] for m in task.messages(row))
        block = f"{prompt.DOC_BEGIN}\n{row['document']}\n{prompt.DOC_END}"
        assert block in user and row["document"] not in system
        assert (prompt.CUT_NOTE in user) is noted
    assert len(task.prompt_template_hash()) == 12


def test_default_config_fits_the_context_with_two_examples(task, rows):
    examples = task.few_shot_examples(2, seed=0)
    assert len(examples) == 2 and all(e["truncation"]["chars_total"] <= CONFIG["few_shot_max_chars"] for e in examples)
    longest = max(rows, key=lambda r: len(r["document"]))
    chars = sum(len(m["content"]) for m in task.messages(longest, examples))
    assert math.ceil(chars / CONFIG["chars_per_token"]) + CONFIG["answer_tokens"] <= CONFIG["context_tokens"]
    budget = task.budget()
    assert budget["total_tokens"] <= budget["context_tokens"]


# --- metrics on hand-checked answers ---------------------------------------------------------------------

HAND_POLICY = {
    "name": "hand", "version": "1", "labels": {label: label for label in LABELS},
    "assessments": {"minor_deviation": "", "major_deviation": ""},
    "actions": {"accept": "", "negotiate": "", "escalate_to_counsel": ""},
    "rules": [{"id": r, "title": r, "contradiction": {"assessment": "major_deviation", "default": "negotiate",
                                                      "allowed": ["negotiate", "escalate_to_counsel"]}}
              for r in ("r1", "r2", "r3", "r4", "r5")],
}
HAND_SPANS = ["The Recipient shall not reverse engineer any sample.",
              "Confidential Information includes oral disclosures.",
              "This Agreement is governed by the laws of Utah.",
              "Obligations survive termination for five years."]
HAND_REFERENCE = {
    "spans": HAND_SPANS,
    "rules": [
        {"rule": "r1", "label": "entailment", "evidence": [0], "evidence_total": 1},
        {"rule": "r2", "label": "contradiction", "evidence": [1], "evidence_total": 1},
        {"rule": "r3", "label": "not_mentioned", "evidence": [], "evidence_total": 0},
        {"rule": "r4", "label": "entailment", "evidence": [3], "evidence_total": 2},  # one span cut off
        {"rule": "r5", "label": "contradiction", "evidence": [], "evidence_total": 1},  # unseen: all cut off
    ],
    "truncation": {"truncated": True, "chars_cut": 50, "chars_total": 250},
}


@pytest.fixture(scope="module")
def hand_spec() -> PolicyReviewSpec:
    policy = parse_policy(HAND_POLICY, "hand")
    return PolicyReviewSpec(policy.rule_ids, {r: "major_deviation" for r in policy.rule_ids},
                            {r: frozenset({"negotiate", "escalate_to_counsel"}) for r in policy.rule_ids},
                            output_schema(policy, max_evidence=2, max_excerpt=200), max_evidence=2)


def _answer(**rules) -> str:
    return json.dumps({"rules": rules})


def test_perfect_answer_scores_one(hand_spec):
    answer = _answer(
        r1={"label": "entailment", "evidence": ["shall not reverse engineer any sample"]},
        r2={"label": "contradiction", "evidence": ["includes oral disclosures"], "assessment": "major_deviation",
            "action": "escalate_to_counsel"},
        r3={"label": "not_mentioned", "evidence": []},
        r4={"label": "entailment", "evidence": ["OBLIGATIONS  survive termination"]},  # case/space forgiven
        r5={"label": "contradiction", "evidence": [], "assessment": "major_deviation", "action": "negotiate"},
    )
    score = scoring.score(answer, HAND_REFERENCE, hand_spec)
    assert score.errors == []
    est = _estimates(hand_spec, [score.values])
    for name in ("label_accuracy", "label_macro_f1", "evidence_precision", "evidence_recall", "grounding",
                 "assessment_compliance", "action_compliance", "schema_valid", "label_accuracy_visible"):
        assert est[name] == 1.0, name
    assert est["evidence_recall_all"] == pytest.approx(3 / 5)  # r4 and r5 each lost one span to the cut
    assert est["truncated_fraction"] == 1.0 and est["chars_cut_fraction"] == pytest.approx(0.2)
    assert est["unseen_rule_fraction"] == pytest.approx(1 / 5)


def test_answer_with_known_errors_gives_hand_computed_figures(hand_spec):
    answer = _answer(
        r1={"label": "entailment", "evidence": ["shall not reverse engineer any sample"]},  # right, good evidence
        r2={"label": "entailment", "evidence": ["includes oral disclosures", "governed by the laws of Utah"]},
        r3={"label": "contradiction", "evidence": ["a clause that is nowhere in the NDA"],
            "assessment": "minor_deviation", "action": "accept"},  # wrong label, ungrounded, non-compliant
        r4={"label": "entailment", "evidence": []},  # right label, no evidence
        r5={"label": "not_mentioned", "evidence": []},  # wrong (its evidence was cut off)
    )
    score = scoring.score(answer, HAND_REFERENCE, hand_spec)
    v, est = score.values, _estimates(hand_spec, [score.values])
    # labels: r1, r4 right of 5. entailment tp2 fp1 (r2) fn0 -> 0.8; contradiction tp0 fp1 (r3) fn2 -> 0;
    # not_mentioned tp0 fp1 (r5) fn1 (r3) -> 0; macro = 0.8 / 3
    assert est["label_accuracy"] == pytest.approx(2 / 5)
    assert (v["label_tp/entailment"], v["label_fp/entailment"], v["label_fn/entailment"]) == (2, 1, 0)
    assert (v["label_tp/contradiction"], v["label_fp/contradiction"], v["label_fn/contradiction"]) == (0, 1, 2)
    assert est["label_macro_f1"] == pytest.approx(0.8 / 3)
    assert [v[f"correct/r{i}"] for i in range(1, 6)] == [1, 0, 0, 1, 0]
    assert est["accuracy/r1"] == 1.0 and est["accuracy/r2"] == 0.0
    assert est["label_accuracy_visible"] == pytest.approx(2 / 4)  # r5 is unseen
    # evidence: 4 excerpts, 2 cover a gold span of their rule (r1's, r2's first) -> precision 1/2;
    # asked r1 1 + r2 1 + r4 1 = 3, found r1 + r2 = 2 -> recall 2/3; with the cut r4 + r5 spans -> 2/5
    assert est["evidence_precision"] == pytest.approx(1 / 2)
    assert est["evidence_recall"] == pytest.approx(2 / 3)
    assert est["evidence_recall_all"] == pytest.approx(2 / 5)
    assert est["grounding"] == pytest.approx(3 / 4)
    # one contradiction answered (r3), with the wrong assessment and a disallowed action
    assert v["contradictions_answered"] == 1
    assert est["assessment_compliance"] == 0.0 and est["action_compliance"] == 0.0
    assert score.details["rules"]["r2"]["evidence"][1]["matches_gold"] is False


def test_evidence_recall_asks_for_at_most_the_cap():
    many = RuleEvidence([frozenset({0, 1})], gold=frozenset({0, 1, 2, 3}), gold_total=5)
    values = evidence_values([many], cap=2)
    assert values["evidence_gold"] == 2 and values["evidence_found"] == 2  # one excerpt covering two gold spans
    assert values["evidence_gold_cut"] == 0  # min(5, 2) - min(4, 2): the cut asks for nothing more
    assert evidence_values([many], cap=8)["evidence_gold_cut"] == 1


def test_majority_labels_tie_break_and_fallback():
    golds = [{"a": "entailment", "b": "contradiction"}, {"a": "not_mentioned", "b": "contradiction"}]
    assert majority_labels(golds, ["a", "b", "c"]) == {"a": "entailment", "b": "contradiction", "c": "contradiction"}


def test_perfect_answers_on_the_real_test_split_score_one(task, rows):
    values = []
    for row in rows:
        score = task.score(task.render_gold(row), task.reference(row))
        assert score.errors == []
        values.append(score.values)
    est = _estimates(task, values)
    for name in ("label_accuracy", "label_macro_f1", "evidence_precision", "evidence_recall", "grounding",
                 "assessment_compliance", "action_compliance"):
        assert est[name] == pytest.approx(1.0), name
    assert est["evidence_recall_all"] < 1.0  # the default head truncation cuts evidence off some NDAs


# --- classified errors, never exceptions -------------------------------------------------------------------


@pytest.mark.parametrize("output, kind", [
    ("the NDA looks fine to me", ErrorKind.PARSE),
    ('{"rules": {"r1": {"label": "entailment", "evidence": [', ErrorKind.PARSE),
    ("", ErrorKind.PARSE),
    (None, ErrorKind.PARSE),
    ('{"rules": {"r1": {"label": "entailment", "evidence": []}}}', ErrorKind.SCHEMA),  # rules missing
    ('{"rules": {"r1": {"label": "maybe", "evidence": []}}}', ErrorKind.SCHEMA),
    (["not", "text"], ErrorKind.INPUT),
])
def test_malformed_answer_is_a_classified_error(hand_spec, output, kind):
    score = scoring.score(output, HAND_REFERENCE, hand_spec)
    assert [e.kind for e in score.errors] == [kind]
    if kind is not ErrorKind.INPUT:  # scored as answering no rule: every label wrong, every span missed
        assert score.values["schema_valid"] == 0.0 and score.values["label_correct"] == 0.0
        assert score.values["label_fn/entailment"] == 2 and score.values["evidence_found"] == 0


def test_bad_reference_is_an_input_error(hand_spec):
    bad = {**HAND_REFERENCE, "rules": HAND_REFERENCE["rules"][:2]}
    score = scoring.score(_answer(), bad, hand_spec)
    assert [e.kind for e in score.errors] == [ErrorKind.INPUT] and not score.values
    assert "missing ['r3', 'r4', 'r5']" in score.errors[0].message


def test_spec_round_trips_through_json(task):
    spec = PolicyReviewSpec.from_dict(json.loads(json.dumps(task.spec.to_dict())))
    assert spec == task.spec


# --- config errors -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("override, message", [
    ({"max_doc_chars": 5000}, r"unknown keys \['max_doc_chars'\].*known keys are .*max_document_chars"),
    ({"truncation": "tail"}, r"truncation='tail' is invalid; use one of \['chunk', 'head'\]"),
    ({"split": "validation"}, r"split='validation' is invalid; use one of \['dev', 'test', 'train'\]"),
    ({"max_document_chars": 100}, r"max_document_chars=100 is invalid"),
    ({"metrics": ["labels", "bleu"]}, r"metrics=.*is invalid; list names from"),
    ({"max_document_chars": 40000}, r"max_document_chars=40000 .* exceed context_tokens=8192; set "
                                    r"max_document_chars to at most \d+"),
])
def test_bad_config_is_a_clear_error(data_root, override, message):
    with pytest.raises(NdaPolicyConfigError, match=message):
        build({**CONFIG, **override}, data_root=data_root)


def test_metrics_subset_runs_only_those(data_root, rows):
    task = build({**CONFIG, "metrics": ["format", "labels"]}, data_root=data_root)
    values = task.score(task.render_gold(rows[0]), task.reference(rows[0])).values
    assert "label_correct" in values and "evidence_pred" not in values
    assert {a.name for a in task.aggregates()} >= {"label_accuracy", "schema_valid"}


# --- the majority-class baseline ------------------------------------------------------------------------------


def test_majority_answer_uses_the_training_majority(task, data_root, rows):
    counts: dict[str, Counter] = {}
    for doc in _raw(data_root, "train")["documents"]:
        for rule, a in doc["annotation_sets"][0]["annotations"].items():
            counts.setdefault(rule, Counter())[CHOICE[a["choice"]]] += 1
    answer = json.loads(task.majority_answer(rows[0]))["rules"]
    for rule, counter in counts.items():
        assert counter[answer[rule]["label"]] == max(counter.values())
        assert answer[rule]["evidence"] == []
    # scoring it on one item gives exactly the share of rules where the item's gold is the majority label
    gold = {g["rule"]: g["label"] for g in rows[0]["gold"]}
    values = task.score(task.majority_answer(rows[0]), task.reference(rows[0])).values
    assert values["label_correct"] == sum(answer[r]["label"] == label for r, label in gold.items())


def test_scoring_path_imports_only_the_standard_library():
    # what the reward Lambda would load: measured against what the interpreter had loaded before the import
    code = ("import sys, json\n"
            "before = set(sys.modules)\n"
            "import metrics.policy_review.scoring, tasks.nda_policy.policy, tasks.nda_policy.schema\n"
            "tops = {name.split('.')[0] for name in set(sys.modules) - before}\n"
            "print(json.dumps(sorted(tops - set(sys.stdlib_module_names))))\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    assert json.loads(result.stdout) == ["metrics", "tasks"]


# --- end to end with the local model -------------------------------------------------------------------------


@pytest.mark.slow
def test_run_with_local_smollm2_records_every_item(tmp_path, data_root):
    env = {**os.environ, "RFT_DATA_DIR": str(data_root), "COLUMNS": "160"}
    env.pop("RFT_CACHE_DIR", None)
    command = [
        sys.executable, "-m", "evals.cli", "run", "task=nda_policy", "limit=3", "candidates=local",
        "~candidates.smollm2_few_shot", "~candidates.tfidf_baseline", "tracking=none", "~reward",
        # The shortest document and a small answer budget (answers get cut: classified errors) keep this test
        # short; the policy prompt (~1,500 tokens) is processed once and reused from llama.cpp's prefix cache.
        "task.max_document_chars=500", "candidates.smollm2_zero_shot.max_tokens=48",
        f"cache.path={tmp_path}/cache.sqlite", f"hydra.run.dir={tmp_path}/run",
    ]
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr
    records = [json.loads(line) for line in (tmp_path / "run" / "records" / "smollm2_zero_shot.jsonl").open()]
    assert len(records) == 3
    known = {str(kind) for kind in ErrorKind}
    for record in records:
        assert record["values"] or record["errors"]
        assert all(e["kind"] in known for e in record["errors"])
        if record["values"]:
            assert "truncation" in record["details"] and record["values"]["label_total"] == 17
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["meta"]["task"] == "nda_policy" and summary["candidates"]["smollm2_zero_shot"]["n"] == 3
