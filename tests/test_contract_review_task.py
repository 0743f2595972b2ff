"""The contract-review task: bounded schema, prompt shape, gold answers valid under the schema, playbook."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import jsonschema
import pytest

from tasks.contract_review import claudette, prompt
from tasks.contract_review.playbook import PACKAGED_PLAYBOOK, PlaybookError, load_playbook
from tasks.contract_review.schema import output_schema
from tasks.contract_review.task import ContractReviewTask, build, quote, select
from tasks.registry import UnknownTaskError, build_task


@pytest.fixture(scope="module")
def task(data_root) -> ContractReviewTask:
    return build({"name": "contract_review", "kind": "contract_review", "fold": 0, "split": "test",
                  "window": {"size": 8, "stride": 8}, "max_comments": 8}, data_root=data_root)


@pytest.fixture(scope="module")
def rows(task):
    return task.rows("test")


def _walk(node, path="$"):
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(value, (dict, list)):
                yield from _walk(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk(value, f"{path}[{i}]")


def test_schema_bounded_everywhere(task):
    schema = task.output_schema()
    strings = arrays = 0
    for path, node in _walk(schema):
        if isinstance(node, dict) and node.get("type") == "string":
            strings += 1
            assert "maxLength" in node or "enum" in node, f"unbounded string at {path}"
        if isinstance(node, dict) and node.get("type") == "array":
            arrays += 1
            assert "maxItems" in node, f"unbounded array at {path}"
        if isinstance(node, dict) and node.get("type") == "object":
            assert node.get("additionalProperties") is False, f"open object at {path}"
            assert set(node["required"]) == set(node["properties"]), f"optional field at {path}"
    assert strings == 5 and arrays == 1


def test_schema_uses_only_grammar_keywords(task):
    allowed = {"type", "properties", "required", "additionalProperties", "enum", "maxLength", "maxItems", "items"}
    for path, node in _walk(task.output_schema()):
        if isinstance(node, dict) and "type" in node:
            assert set(node) <= allowed, f"{path}: {set(node) - allowed}"


def test_schema_enums_follow_playbook(task):
    item = task.output_schema()["properties"]["comments"]["items"]["properties"]
    assert item["risk"]["enum"] == list(task.playbook.category_ids) and len(item["risk"]["enum"]) == 9
    assert item["assessment"]["enum"] == ["potentially_unfair", "clearly_unfair"]
    assert set(item["action"]["enum"]) == set(task.playbook.actions)


def test_prompt_delimits_the_document(task, rows):
    item = rows[3]
    messages = task.messages(item)
    assert [m["role"] for m in messages] == ["system", "user"]
    user = messages[-1]["content"]
    assert user.count(prompt.DOC_BEGIN) == user.count(prompt.DOC_END) == 1
    begin, end = user.index(prompt.DOC_BEGIN), user.index(prompt.DOC_END)
    assert begin < user.index(item["document"]) < end
    assert user[begin:end + len(prompt.DOC_END)] == f"{prompt.DOC_BEGIN}\n{item['document']}\n{prompt.DOC_END}"
    # the document appears nowhere in the (shared) system message, the Reference does
    assert item["document"] not in messages[0]["content"]
    assert "## arbitration" in messages[0]["content"]


def test_system_prompt_is_shared_across_items(task, rows):
    first, second = task.messages(rows[0]), task.messages(rows[1])
    assert first[0] == second[0] and first[1] != second[1]


def test_few_shot_turns_precede_the_item(task, rows):
    examples = task.few_shot_examples(3, seed=1)
    assert len(examples) == 3
    assert any(e["gold"] for e in examples) and any(not e["gold"] for e in examples)
    test_docs = set(task.fold.test)
    assert not {e["doc"] for e in examples} & test_docs
    messages = task.messages(rows[0], examples)
    assert [m["role"] for m in messages] == ["system"] + ["user", "assistant"] * 3 + ["user"]
    assert json.loads(messages[2]["content"]) == json.loads(task.render_gold(examples[0]))
    assert task.few_shot_examples(3, seed=1) == examples


def test_template_hash_changes_with_the_playbook(task, data_root):
    other = build({"kind": "contract_review", "max_rationales_per_category": 1}, data_root=data_root)
    assert task.prompt_template_hash() != other.prompt_template_hash()
    assert task.prompt_template_hash() == build({"kind": "contract_review"}, data_root=data_root)\
        .prompt_template_hash()


def test_render_gold_validates(task, rows):
    schema = task.output_schema()
    validator = jsonschema.Draft202012Validator(schema)
    risky = 0
    for item in rows:
        answer = json.loads(task.render_gold(item))
        validator.validate(answer)
        comments = answer["comments"]
        assert len(comments) == min(len(item["gold"]), task.config.max_comments)
        for comment in comments:
            assert comment["text_excerpt"] in item["document"]  # a verbatim quote of the window
            assert comment["action"] in task.playbook.category(comment["risk"]).actions[comment["assessment"]].allowed
        risky += bool(comments)
    assert 0 < risky < len(rows)  # both kinds of windows exist


def test_quote_is_a_verbatim_word_prefix():
    sentence = "You agree that we may terminate your account at any time for any reason."
    cut = quote(sentence, 30)
    assert sentence.startswith(cut) and len(cut) <= 30 and sentence[len(cut)] == " "
    assert quote(sentence, 500) == sentence


def test_playbook_rules_complete():
    playbook = load_playbook()
    assert len(playbook.categories) == 9
    assert {c.code for c in playbook.categories} == set(claudette.RISK_IDS)
    assert all(claudette.RISK_IDS[c.code] == c.id for c in playbook.categories)
    for category in playbook.categories:
        for assessment in ("potentially_unfair", "clearly_unfair"):
            rule = category.actions[assessment]
            assert rule.allowed and rule.default in rule.allowed
            assert set(rule.allowed) <= set(playbook.actions)
            assert category.criteria[assessment].strip()
    spec = playbook.review_spec(output_schema(playbook))
    assert len(spec.allowed_actions) == 18 and spec.assessments == {"potentially_unfair": 2, "clearly_unfair": 3}


def test_rationales_read_at_run_time(data_root):
    kb = data_root / "tos_rationales/local_database/KB"
    playbook = load_playbook(rationales_dir=kb)
    counts = {c.id: len(c.rationales) for c in playbook.categories}
    csv_rows = sum(1 for p in kb.glob("*_explanations.csv")
                   for line in p.read_text(encoding="utf-8").splitlines()[1:] if line.strip())
    assert sum(counts.values()) >= 60 and counts["jurisdiction"] == 0
    assert sum(counts.values()) <= csv_rows
    # the licensed texts are not in the packaged playbook
    packaged = PACKAGED_PLAYBOOK.read_text(encoding="utf-8")
    first = playbook.category("arbitration").rationales[0].text
    assert first not in packaged
    reference = playbook.render_reference(max_rationales_per_category=2)
    assert reference.count("- [") == 2 * sum(1 for n in counts.values() if n)


def test_bad_playbook_is_named(tmp_path):
    bad = json.loads(PACKAGED_PLAYBOOK.read_text(encoding="utf-8"))
    bad["categories"][0]["actions"]["clearly_unfair"]["default"] = "accept"  # not among its allowed actions
    path = tmp_path / "playbook.json"
    path.write_text(json.dumps(bad), encoding="utf-8")
    with pytest.raises(PlaybookError, match="arbitration"):
        load_playbook(path)


def test_dataset_columns_and_reference(task):
    ds = task.load("test")
    assert set(ds.column_names) >= {"id", "doc", "start", "sentences", "document", "gold", "fair", "reference"}
    items = ds.to_list()
    assert len(items) == len(task.rows("test"))
    assert {item["doc"] for item in items} == set(task.fold.test)
    item = next(item for item in items if item["gold"])
    ref = task.reference(item)
    assert ref == {"sentences": item["sentences"], "gold": item["gold"], "fair": item["fair"],
                   "gold_answer": task.render_gold(item)}
    assert {k: v for k, v in ref.items() if k != "gold_answer"} == item["reference"]
    assert item["document"] == "\n".join(item["sentences"])


def test_select_is_seeded(task):
    ds = task.load("test")
    a, b = select(ds, 10, seed=3), select(ds, 10, seed=3)
    assert a["id"] == b["id"] and len(a) == 10
    assert select(ds, 10, seed=4)["id"] != a["id"]
    assert len(select(ds, None)) == len(ds)


def test_sentence_training_set(task):
    texts, labels = task.sentence_training_set()
    train_sentences = sum(len(d) for d in task.documents("train"))
    assert len(texts) == len(labels) == train_sentences
    counts = Counter(labels)
    assert counts["none"] < len(labels)
    for label in counts:
        if label != "none":
            risk, assessment = label.split(":")
            assert risk in task.playbook.category_ids and assessment in task.playbook.assessment_ids


def test_render_sentence_flags(task, rows):
    item = rows[0]
    text = task.render_sentence_flags(item, [(1, "arbitration", "clearly_unfair")])
    comment = json.loads(text)["comments"][0]
    assert comment["action"] == "reject" and item["sentences"][1].startswith(comment["text_excerpt"])
    with pytest.raises(IndexError):
        task.render_sentence_flags(item, [(99, "arbitration", "clearly_unfair")])


def test_registry(data_root):
    assert isinstance(build_task({"kind": "contract_review"}, data_root=data_root), ContractReviewTask)
    with pytest.raises(UnknownTaskError, match="contract_review"):
        build_task({"name": "x", "kind": "nope"})


def test_unknown_config_key_is_named():
    with pytest.raises(ValueError, match="windw"):
        build({"kind": "contract_review", "windw": {"size": 3}})


def test_prompt_modules_stay_light():
    """schema / playbook / prompt run in the reward Lambda: they must not pull in heavy packages."""
    import subprocess
    import sys

    code = ("import sys, tasks.contract_review.schema, tasks.contract_review.playbook, "
            "tasks.contract_review.prompt, tasks.contract_review.windows, tasks.data_pins, tasks.registry; "
            "heavy = {'datasets', 'numpy', 'mlflow', 'hydra', 'sklearn', 'pandas', 'platformdirs', 'rich'}; "
            "print(sorted(heavy & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1])
    assert out.stdout.strip() == "[]"


def test_gold_answer_scores_perfectly(task, rows):
    """The ideal answer, scored by the shared metrics layer: every gold risk found, nothing extra."""
    totals: Counter = Counter()
    for item in rows:
        score = task.score(task.render_gold(item), task.reference(item))
        assert not score.errors, (item["id"], score.errors)
        totals.update(score.values)
    assert totals["risk_tp"] == totals["risk_gold"] == sum(len(r["gold"]) for r in rows) > 0
    assert totals["risk_fp"] == totals["risk_fn"] == 0
    assert totals["grounded_excerpts"] == totals["total_excerpts"]
    assert totals["action_compliant"] == totals["action_total"] > 0
    assert totals["assessment_correct"] == totals["assessment_matched"] > 0
    assert {a.name for a in task.aggregates()} >= {"risk_f1", "risk_precision", "risk_recall"}
