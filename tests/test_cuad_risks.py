"""The cuad_risks task against the real CUAD v1 files: loader counts, gold location, split, windows, prompt and
schema, metrics on hand-checked answers, config errors, and (slow) `rft-evals run task=cuad_risks limit=3`."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import jsonschema
import pytest

from evals.stats.estimate import estimate_all
from tasks.cuad_risks import cuad, prompt
from tasks.cuad_risks.playbook import PACKAGED_PLAYBOOK, PlaybookError, load_playbook
from tasks.cuad_risks.segment import SegmentParams, segment
from tasks.cuad_risks.task import DEFAULT_CATEGORIES, CuadRisksTask, build
from tasks.cuad_risks.windows import Contract, split_of, windows
from tasks.registry import build_task

# The sources' stated counts (CUAD_v1_README.txt): 510 contracts; the master clauses CSV has 83 columns and 511
# rows (a header and one row per contract); 41 categories, 33 of them answered Yes/No.
STATED_CONTRACTS, STATED_COLUMNS, STATED_CATEGORIES, STATED_YES_NO = 510, 83, 41, 33


@pytest.fixture(scope="module")
def task(data_root) -> CuadRisksTask:
    task = build({"name": "cuad_risks", "kind": "cuad_risks"}, data_root=data_root)
    task.contracts("train"), task.contracts("test")  # parsed once for the whole module
    return task


@pytest.fixture(scope="module")
def csv_rows(data_root) -> list[dict[str, str]]:
    with (data_root / cuad.MASTER_CLAUSES).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def test_rows(task):
    return task.rows("test")


# -- loader against the real files ------------------------------------------------------------------------


def test_master_clauses_match_the_stated_counts(data_root, csv_rows):
    categories, contracts = cuad.read_master_clauses(data_root)
    assert len(contracts) == len(csv_rows) == STATED_CONTRACTS
    assert len(csv_rows[0]) == STATED_COLUMNS
    assert len(categories) == STATED_CATEGORIES
    yes_no = [c for c in categories if {r[f"{c}-Answer"] for r in csv_rows} <= {"Yes", "No"}]
    assert len(yes_no) == STATED_YES_NO
    # every contract row has its text in the tar.gz, under a slightly different file name for some
    texts = cuad.read_texts(root=data_root)
    assert len(texts) == STATED_CONTRACTS
    assert {cuad.file_key(c.filename) for c in contracts} == set(texts)


def test_file_key_matches_renamed_files():
    assert cuad.file_key("MOELIS&CO_03_24_2014-EX-10.19-STRATEGIC ALLIANCE AGREEMENT.PDF") == \
        cuad.file_key("full_contract_txt/MOELIS_CO_03_24_2014-EX-10.19-STRATEGIC ALLIANCE AGREEMENT.txt")
    assert cuad.file_key("KALLOINC_11_03_2011-EX-10.1-STRATEGIC ALLIANCE AGREEMENT.PDF'") == \
        cuad.file_key("KALLOINC_11_03_2011-EX-10.1-STRATEGIC ALLIANCE AGREEMENT.txt")
    assert cuad.file_key("A - B.pdf") != cuad.file_key("A - C.pdf")


@pytest.mark.parametrize("risk", ["uncapped_liability", "non_compete", "change_of_control", "most_favored_nation",
                                  "liquidated_damages", "audit_rights"])
def test_contracts_with_gold_equal_the_csv_yes_answers(task, csv_rows, risk):
    cuad_name = task.playbook.category(risk).cuad
    yes = sum(1 for row in csv_rows if row[f"{cuad_name}-Answer"] == "Yes")
    located = sum(task.location_report(split).categories[risk].contracts_with_gold for split in ("train", "test"))
    assert located == yes
    # and the windows carry gold for exactly those contracts
    docs = {w.doc for split in ("train", "test") for w in task.windows(split) if any(r == risk for _, r in w.gold)}
    assert len(docs) == yes


def test_every_gold_clause_is_located_and_reported(task):
    """Nothing dropped silently: the report accounts for every clause of the selected categories."""
    categories, contracts = cuad.read_master_clauses(task.root)
    names = task.playbook.cuad_names()
    expected = Counter({risk: sum(len(c.clauses[name]) for c in contracts) for name, risk in names.items()})
    reported = Counter()
    for split in ("train", "test"):
        report = task.location_report(split)
        for risk, counts in report.categories.items():
            reported[risk] += counts.clauses
            assert counts.located + counts.partly + counts.unlocated == counts.clauses
        # the location rate measured on the real files; the unlocated ones would be listed as examples
        assert report.location_rate() >= 0.99, report.summary()
        assert len(report.examples) == min(report.total().unlocated, 20)
    assert reported == expected


def test_a_located_clause_lies_in_its_gold_sentences(task, data_root):
    """Checked by reading it: ACCURAY's distributor agreement has one anti-assignment clause, section 12.6, cut by
    a page break (CUAD marks the page number with <omitted>). Its two parts are the two units marked
    anti_assignment; the sentences around them are not."""
    contract = next(c for split in ("train", "test") for c in task.contracts(split) if c.name.startswith("ACCURAYINC"))
    _, labels = cuad.read_master_clauses(data_root, only={"Anti-Assignment"})
    row = next(r for r in labels if cuad.file_key(r.filename) == contract.key)
    (clause,) = row.clauses["Anti-Assignment"]
    first, second = (" ".join(part.split()) for part in clause.split("<omitted>"))
    units = sorted(i for i, risks in contract.gold.items() if "anti_assignment" in risks)
    assert len(units) == 2 and units[1] == units[0] + 1
    assert contract.units[units[0]].startswith("12.6. Assignment. Neither this Agreement")
    assert first[:200] in contract.units[units[0]] and second[:200] in contract.units[units[1]]
    assert contract.units[units[0] - 1].startswith("12.5. Titles.")
    assert contract.units[units[1] + 1].startswith("Subject to the foregoing")


# -- split, segmentation, windows ----------------------------------------------------------------------------


def test_split_is_by_contract_seeded_and_about_the_fraction(task):
    train = {c.key for c in task.contracts("train")}
    test = {c.key for c in task.contracts("test")}
    assert not train & test and len(train | test) == STATED_CONTRACTS
    assert 0.15 < len(test) / STATED_CONTRACTS < 0.25
    assert all(split_of(key, 0, 0.2) == "test" for key in test)
    assert {key for key in train | test if split_of(key, 1, 0.2) == "test"} != test  # another seed, another split


def test_max_contracts_takes_a_seeded_subset(data_root):
    small = build({"max_contracts": 3}, data_root=data_root)
    names = [c.filename for c in small.contract_names("test")]
    assert len(names) == 3 and names == [c.filename for c in small.contract_names("test")]
    assert set(names) <= {c.filename for c in build({}, data_root=data_root).contract_names("test")}


def test_segmentation_keeps_abbreviations_and_section_numbers():
    text = ("1.5. \"Product\" means the goods sold by Acme Inc. to the Distributor in the U.S. market.    "
            "2. TERM   2.1. This Agreement starts on the Effective Date. It ends after five (5) years unless "
            "terminated earlier under Section 9.")
    units = segment(text, SegmentParams(min_chars=40, max_chars=1200))
    assert units == (
        '1.5. "Product" means the goods sold by Acme Inc. to the Distributor in the U.S. market.',
        "2. TERM 2.1. This Agreement starts on the Effective Date.",
        "It ends after five (5) years unless terminated earlier under Section 9.",
    )
    # nothing is lost: the units hold every non-space character of the text
    assert "".join("".join(units).split()) == "".join(text.split())
    long = segment("word " * 400, SegmentParams(min_chars=40, max_chars=300))
    assert all(len(u) <= 300 for u in long) and "".join("".join(long).split()) == "word" * 400


def test_windows_cover_every_unit_once_within_bounds(task):
    contract = task.contracts("test")[0]
    cut = windows(contract, size=8, max_chars=2000)
    assert [s for w in cut for s in w.sentences] == list(contract.units)
    assert all(len(w.sentences) <= 8 for w in cut)
    assert all(len(w.sentences) == 1 or len(w.text) <= 2000 for w in cut)
    gold_pairs = sorted((w.start + s, r) for w in cut for s, r in w.gold)
    assert gold_pairs == sorted((i, r) for i, risks in contract.gold.items() for r in risks)
    tiny = Contract("t", "t", ("a" * 50, "b" * 50, "c" * 50), {1: frozenset({"non_compete"})})
    assert [(w.start, len(w.sentences), w.gold) for w in windows(tiny, 8, 120)] == \
        [(0, 2, ((1, "non_compete"),)), (2, 1, ())]


def test_dataset_rows_and_reference(task, test_rows):
    ds = task.load("test")
    assert len(ds) == len(test_rows) and ds.column_names[:3] == ["id", "doc", "start"]
    item = next(r for r in ds.to_list() if r["gold"])
    assert task.reference(item) == item["reference"] == {"sentences": item["sentences"], "gold": item["gold"],
                                                          "fair": []}
    assert {g["level"] for r in test_rows for g in r["gold"]} == {2, 3}
    assert len({r["id"] for r in test_rows}) == len(test_rows)
    picked = task.select(ds, 5, seed=1)["id"]
    assert len(picked) == 5 and picked == task.select(ds, 5, seed=1)["id"] != task.select(ds, 5, seed=2)["id"]
    assert 0 < sum(1 for r in test_rows if r["gold"]) < len(test_rows)  # clean windows cost false positives


def test_baseline_training_set_keeps_every_risky_unit(data_root):
    full = build({"max_contracts": 4}, data_root=data_root)
    texts, labels = full.sentence_training_set()
    assert len(texts) == sum(len(c) for c in full.contracts("train"))
    risky = Counter(label for label in labels if label != "none")
    assert risky and all(label.split(":")[1] == full.playbook.severity(label.split(":")[0]) for label in risky)
    capped = build({"max_contracts": 4, "baseline_negatives": 50}, data_root=data_root)
    texts_capped, labels_capped = capped.sentence_training_set()
    assert Counter(labels_capped)["none"] == 50
    assert Counter(label for label in labels_capped if label != "none") == risky
    assert set(texts_capped) <= set(texts) and capped.sentence_training_set() == (texts_capped, labels_capped)


# -- playbook, schema, prompt --------------------------------------------------------------------------------


def test_playbook_categories_are_cuad_yes_no_columns(csv_rows):
    playbook = load_playbook()
    for category in playbook.categories:
        assert {r[f"{category.cuad}-Answer"] for r in csv_rows} <= {"Yes", "No"}, category.cuad
        for rule in category.actions.values():
            assert rule.default in rule.allowed and set(rule.allowed) <= set(playbook.actions)
    assert set(DEFAULT_CATEGORIES) <= set(playbook.category_ids)
    assert {a.level for a in playbook.assessments.values()} == {2, 3}


def test_descriptions_come_from_the_data_not_the_package(task, data_root):
    description = task.playbook.category("uncapped_liability").description
    assert description.startswith("Is a party")
    assert description not in PACKAGED_PLAYBOOK.read_text(encoding="utf-8")
    assert description in task.reference_text


def test_schema_enums_follow_the_selected_categories(task, data_root):
    fields = task.output_schema()["properties"]["comments"]["items"]["properties"]
    assert fields["risk"]["enum"] == list(DEFAULT_CATEGORIES)
    assert fields["assessment"]["enum"] == ["review_required", "high_risk"]
    other = build({"categories": ["non_compete", "exclusivity"]}, data_root=data_root)
    assert other.output_schema()["properties"]["comments"]["items"]["properties"]["risk"]["enum"] == \
        ["non_compete", "exclusivity"]
    assert other.prompt_template_hash() != task.prompt_template_hash()
    assert task.spec.categories == DEFAULT_CATEGORIES
    # the data fingerprint covers the files and the settings that shape the items
    assert task.data_fingerprint() == build({}, data_root=data_root).data_fingerprint()
    assert other.data_fingerprint() != task.data_fingerprint()


def test_prompt_delimits_the_document_and_shares_the_system_message(task, test_rows):
    item, other = test_rows[5], test_rows[6]
    messages = task.messages(item)
    assert [m["role"] for m in messages] == ["system", "user"]
    assert f"{prompt.DOC_BEGIN}\n{item['document']}\n{prompt.DOC_END}" in messages[1]["content"]
    assert messages[0] == task.messages(other)[0]
    assert "## uncapped_liability" in messages[0]["content"]


def test_few_shot_examples_come_from_train(task, test_rows):
    examples = task.few_shot_examples(2, seed=1)
    assert len(examples) == 2 and any(e["gold"] for e in examples) and any(not e["gold"] for e in examples)
    assert not {e["doc"] for e in examples} & {r["doc"] for r in test_rows}
    assert task.few_shot_examples(2, seed=1) == examples
    messages = task.messages(test_rows[0], examples)
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user", "assistant", "user"]


# -- metrics on hand-checked answers -----------------------------------------------------------------------------


def test_render_gold_is_valid_and_scores_perfectly_on_every_risky_window(task, test_rows):
    validator = jsonschema.Draft202012Validator(task.output_schema())
    scored = []
    for item in test_rows:
        if not item["gold"]:
            continue
        answer = task.render_gold(item)
        validator.validate(json.loads(answer))
        score = task.score(answer, task.reference(item))
        assert not score.errors, (item["id"], score.errors)
        scored.append(score.values)
    results = {e.name: e.value for e in estimate_all(task.aggregates(), scored, resamples=10, seed=0)}
    for metric in ("risk_f1", "risk_precision", "risk_recall", "assessment_accuracy", "action_compliance",
                   "grounding", "schema_valid", "window_flag_accuracy"):
        assert results[metric] == 1.0, metric


def _comment(excerpt: str, risk: str, assessment: str, action: str) -> dict[str, str]:
    return {"text_excerpt": excerpt, "risk": risk, "assessment": assessment, "action": action,
            "rationale": "The playbook lists this category."}


def test_one_miss_and_one_false_positive_by_hand(task):
    sentences = [
        "Distributor shall not sell any competing products in the Territory during the Term.",
        "The parties shall meet quarterly to review the marketing plan.",
        "Company may audit Distributor's books and records once per calendar year on 30 days notice.",
        "In no event shall either party's liability exceed the fees paid in the prior twelve months.",
    ]
    reference = {"sentences": sentences, "fair": [], "gold": [
        {"sentence": 0, "risk": "non_compete", "level": 3},
        {"sentence": 2, "risk": "audit_rights", "level": 2},
        {"sentence": 3, "risk": "cap_on_liability", "level": 2},
    ]}
    answer = json.dumps({"comments": [
        _comment(sentences[0], "non_compete", "high_risk", "escalate_to_counsel"),  # TP, right level
        _comment(sentences[3][:60], "cap_on_liability", "high_risk", "negotiate"),  # TP, wrong level
        _comment(sentences[1], "exclusivity", "high_risk", "negotiate"),  # FP; sentence 2 is the miss
    ]})
    score = task.score(answer, reference)
    assert not score.errors
    v = score.values
    # by hand: gold {(0,nc), (2,audit), (3,cap)}; predicted {(0,nc), (3,cap), (1,excl)}
    assert (v["risk_tp"], v["risk_fp"], v["risk_fn"]) == (2, 1, 1)
    results = {e.name: e.value for e in estimate_all(task.aggregates(), [v], resamples=10, seed=0)}
    assert results["risk_precision"] == pytest.approx(2 / 3)
    assert results["risk_recall"] == pytest.approx(2 / 3)
    assert results["risk_f1"] == pytest.approx(2 / 3)
    assert results["assessment_accuracy"] == pytest.approx(1 / 2)  # cap_on_liability is review_required
    assert results["action_compliance"] == 1.0  # every action is allowed for the assessment given
    assert results["risk_f1/audit_rights"] == 0.0 and results["risk_f1/non_compete"] == 1.0


def test_an_unknown_category_breaks_the_schema_and_costs_recall(task):
    reference = {"sentences": ["Either party may terminate this Agreement for convenience on 90 days notice."],
                 "fair": [], "gold": [{"sentence": 0, "risk": "termination_for_convenience", "level": 2}]}
    answer = json.dumps({"comments": [_comment("Either party may terminate this Agreement", "arbitration",
                                               "review_required", "accept")]})
    score = task.score(answer, reference)
    assert [e.kind for e in score.errors] == ["schema_error"]
    assert score.values["risk_fn"] == 1 and score.values["schema_valid"] == 0.0


# -- config errors ---------------------------------------------------------------------------------------------


def test_bad_config_keys_are_named(data_root):
    with pytest.raises(ValueError, match=r"unknown keys \['windw'\]"):
        build({"kind": "cuad_risks", "windw": {"size": 4}}, data_root=data_root)
    with pytest.raises(ValueError, match=r"window: unknown keys \['stride'\]"):
        build({"kind": "cuad_risks", "window": {"stride": 4}}, data_root=data_root)
    with pytest.raises(ValueError, match="window must be a mapping"):
        build({"window": 8}, data_root=data_root)
    with pytest.raises(ValueError, match="max_contracts must be an integer"):
        build({"max_contracts": 0}, data_root=data_root)
    with pytest.raises(ValueError, match="test_fraction"):
        build({"test_fraction": 1.5}, data_root=data_root)
    with pytest.raises(ValueError, match="split 'dev'"):
        build({"split": "dev"}, data_root=data_root)
    with pytest.raises(PlaybookError, match=r"\['arbitration'\] are not in playbook"):
        build({"categories": ["non_compete", "arbitration"]}, data_root=data_root)  # at build, not at first use


def test_bad_playbook_is_named(tmp_path):
    bad = json.loads(PACKAGED_PLAYBOOK.read_text(encoding="utf-8"))
    bad["categories"][0]["default_action"] = "accept"  # uncapped_liability is high_risk: accept is not allowed
    path = tmp_path / "playbook.json"
    path.write_text(json.dumps(bad), encoding="utf-8")
    with pytest.raises(PlaybookError, match="uncapped_liability"):
        load_playbook(path)


def test_registry_builds_the_task_from_the_packaged_config(data_root):
    from omegaconf import OmegaConf

    cfg = OmegaConf.to_container(OmegaConf.load(Path(__file__).parents[1] / "conf/task/cuad_risks.yaml"))
    task = build_task(cfg, data_root=data_root)
    assert isinstance(task, CuadRisksTask) and task.config.categories == DEFAULT_CATEGORIES
    assert task.config.window_size == 8 and task.config.window_max_chars == 2000


# -- the run, end to end (slow) -----------------------------------------------------------------------------------


@pytest.mark.slow
def test_run_cli_on_cuad_risks(tmp_path, data_root):
    env = {**os.environ, "RFT_DATA_DIR": str(data_root), "COLUMNS": "160"}
    env.pop("MLFLOW_TRACKING_URI", None)
    env.pop("RFT_CACHE_DIR", None)
    command = [sys.executable, "-m", "evals.cli", "run", "task=cuad_risks", "limit=3", "tracking=none",
               "candidates=local", "~candidates.smollm2_few_shot",
               # Kept short: a few contracts, two categories and small windows (a short prompt for SmolLM2, whose
               # prompt processing dominates on a busy CPU), a small baseline training set, and a 64-token budget
               # (answers cut there end as classified truncated/parse errors: still no record lost).
               "task.max_contracts=12", "task.categories=[non_compete,audit_rights]", "task.window.max_chars=800",
               "task.baseline_negatives=2000", "candidates.smollm2_zero_shot.max_tokens=64",
               f"cache.path={tmp_path}/cache.sqlite", f"hydra.run.dir={tmp_path}/run"]
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert set(summary["candidates"]) == {"smollm2_zero_shot", "tfidf_baseline"}
    for name, candidate in summary["candidates"].items():
        records = [json.loads(line) for line in (tmp_path / "run" / "records" / f"{name}.jsonl").read_text()
                   .splitlines()]
        assert len(records) == candidate["n"] == 3
        for record in records:  # nothing lost: scored, or a classified error
            assert record["values"] or record["errors"]
            assert all(e["kind"] for e in record["errors"])
        assert summary["meta"]["task"] == "cuad_risks"
    assert "risk_f1" in summary["candidates"]["tfidf_baseline"]["metrics"]
