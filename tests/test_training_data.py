"""Training rows come from the task's own code and only from its train split; stage settings are checked;
the training layout, the checkpoint link and the sweep's divergence flags. No torch needed."""

from __future__ import annotations

import json
import sys

import pytest

from evals.training.data import (
    RowSelection,
    check_disjoint,
    document_ids,
    gold_fits,
    pick_rows,
    rft_records,
    sft_records,
    train_rows,
)
from evals.training.layout import Layout
from evals.training.link import checkpoint_tags, write_sidecar
from evals.training.settings import RftSettings, SftSettings, TrainConfigError
from evals.training.sweep_analysis import Point, curves, divergences
from tasks.contract_review.task import build

TASK_CFG = {"name": "contract_review", "kind": "contract_review", "fold": 0, "split": "test",
            "window": {"size": 8, "stride": 8}, "max_comments": 8}


@pytest.fixture(scope="module")
def task(data_root):
    return build(TASK_CFG, data_root=data_root)


def test_training_rows_never_hold_a_test_document(task):
    rows = pick_rows(task.rows("train"), RowSelection(count=None))
    assert len(rows) == len(task.rows("train"))
    assert not document_ids(rows) & document_ids(task.rows("test"))
    check_disjoint(task, "test")  # raises on a shared document


def test_check_disjoint_names_a_leak(task, monkeypatch):
    leaked = task.rows("test")[:1]
    monkeypatch.setattr(task, "rows", lambda split: leaked)
    with pytest.raises(ValueError, match="both the train split and the test split"):
        check_disjoint(task, "test")


def test_records_use_the_evaluation_prompt_and_the_task_gold(task):
    rows = pick_rows(task.rows("train"), RowSelection(count=6, risky_share=0.5, seed=3))
    sft = sft_records(task, rows)
    rft = rft_records(task, rows)
    for row, s, r in zip(rows, sft, rft, strict=True):
        assert s["prompt"] == task.messages(row) == r["prompt"]  # the prompt `rft-evals run` sends
        assert s["completion"] == [{"role": "assistant", "content": task.render_gold(row)}]
        assert json.loads(r["reference_answer"]) == task.reference(row)
        assert task.score(task.render_gold(row), task.reference(row)).values["schema_valid"] == 1.0


def test_pick_rows_is_seeded_and_keeps_the_risky_share(task):
    rows = task.rows("train")
    first = pick_rows(rows, RowSelection(count=40, risky_share=0.75, seed=1))
    again = pick_rows(rows, RowSelection(count=40, risky_share=0.75, seed=1))
    other = pick_rows(rows, RowSelection(count=40, risky_share=0.75, seed=2))
    assert [r["id"] for r in first] == [r["id"] for r in again]
    assert [r["id"] for r in first] != [r["id"] for r in other]
    assert len(first) == 40 and sum(1 for r in first if r["gold"]) == 30
    natural = pick_rows(rows, RowSelection(count=200, seed=0))
    assert len(natural) == 200 and len({r["id"] for r in natural}) == 200


def test_stage_settings_are_checked():
    assert SftSettings.from_mapping({"examples": 8, "lora": {"r": 4}}).lora.r == 4
    with pytest.raises(TrainConfigError, match="sft: unknown keys"):
        SftSettings.from_mapping({"exampels": 8})
    with pytest.raises(TrainConfigError, match="num_generations"):
        RftSettings.from_mapping({"num_generations": 1})
    with pytest.raises(TrainConfigError, match="rft.steps"):
        RftSettings.from_mapping({"steps": 0})


def test_rft_gold_budget_is_checked():
    assert RftSettings.from_mapping({"max_gold_tokens": None}).max_gold_tokens is None
    with pytest.raises(TrainConfigError, match="rft.max_gold_tokens"):
        RftSettings.from_mapping({"max_gold_tokens": 0})
    with pytest.raises(TrainConfigError, match="custom.examples"):
        SftSettings.from_mapping({"examples": 0}, where="custom")


def test_rft_prompts_keep_only_golds_within_the_budget(task):
    words = lambda text: len(text.split())  # noqa: E731 - a stand-in tokenizer
    budget = 80  # about one comment
    keep = gold_fits(task, words, budget)
    rows = train_rows(task, RowSelection(count=40, risky_share=0.75, seed=1), keep)
    assert len(rows) == 40 and sum(1 for r in rows if r["gold"]) == 30
    assert all(words(task.render_gold(r)) <= budget for r in rows)
    too_long = [r for r in task.rows("train") if words(task.render_gold(r)) > budget]
    assert too_long and not keep(too_long[0])  # the filter had something to drop


def test_shipped_stage_configs_parse():
    from omegaconf import OmegaConf

    SftSettings.from_mapping(OmegaConf.to_container(OmegaConf.load("conf/train/sft.yaml")))
    RftSettings.from_mapping(OmegaConf.to_container(OmegaConf.load("conf/train/rft.yaml")))


def test_layout_lists_served_steps_in_order(tmp_path):
    layout = Layout(tmp_path)
    for step in (10, 5, 15):
        layout.step_gguf(step).parent.mkdir(parents=True, exist_ok=True)
        layout.step_gguf(step).write_bytes(b"GGUF")
    (layout.step_gguf(5).parent / "step-x.gguf").write_bytes(b"GGUF")
    assert [s for s, _ in layout.step_ggufs()] == [5, 10, 15]
    layout.update_manifest(a=1)
    assert layout.update_manifest(b=2) == {"a": 1, "b": 2}


def test_checkpoint_tags_link_an_evaluated_gguf_to_its_training_run(tmp_path):
    gguf = tmp_path / "model-f16.gguf"
    gguf.write_bytes(b"GGUF")
    assert checkpoint_tags({"gguf": str(gguf)}) == {}
    write_sidecar(gguf, {"training_run_id": "abc", "training_stage": "rft", "training_step": 5, "other": "x"})
    assert checkpoint_tags({"gguf": str(gguf)}) == {"training_run_id": "abc", "training_stage": "rft",
                                                    "training_step": "5"}
    assert checkpoint_tags({"gguf": None}) == {}


def _summary(reward, f1, f1_ci):
    return {"metrics": {"reward": {"value": reward, "ci_low": reward - 0.02, "ci_high": reward + 0.02, "n": 100},
                        "risk_f1": {"value": f1, "ci_low": f1_ci[0], "ci_high": f1_ci[1], "n": 100}}}


def test_divergence_flags_reward_up_while_a_metric_falls_beyond_its_ci():
    series = curves({0: _summary(0.50, 0.40, (0.35, 0.45)),
                     5: _summary(0.55, 0.38, (0.33, 0.43)),    # fell, but within its CI: not flagged
                     10: _summary(0.60, 0.20, (0.15, 0.25)),   # reward up, F1 far below: flagged
                     15: _summary(0.45, 0.10, (0.05, 0.15))})  # F1 down but the reward too: not flagged
    flags = divergences(series)
    assert [(f.step, f.metric) for f in flags] == [(10, "risk_f1")]
    assert flags[0].reward_gain == pytest.approx(0.10)
    assert "step 10" in flags[0].describe()
    assert series["reward"][0] == Point(0, 0.50, 0.48, 0.52, 100)


def test_package_imports_without_torch(monkeypatch):
    for name in ("torch", "transformers", "trl", "peft"):
        monkeypatch.setitem(sys.modules, name, None)  # any import of them would now fail
    import importlib

    import evals.training.command
    import evals.training.stages
    import evals.training.sweep

    for module in (evals.training.command, evals.training.stages, evals.training.sweep):
        importlib.reload(module)


def test_compact_prompt_names_every_category_and_action_rule(data_root):
    full = build(TASK_CFG, data_root=data_root)
    compact = build({**TASK_CFG, "prompt": "compact"}, data_root=data_root)
    row = compact.rows("train")[0]
    system = compact.messages(row)[0]["content"]
    assert len(system) * 4 < len(full.messages(row)[0]["content"])
    for category in compact.playbook.categories:
        allowed = " | ".join(f"{a}: {', '.join(rule.allowed)}" for a, rule in category.actions.items())
        assert f"- {category.id}: {category.description} [{allowed}]" in system
    assert compact.messages(row)[-1] == full.messages(row)[-1]  # the TargetDocument turn is the same
    assert compact.prompt_template_hash() != full.prompt_template_hash()  # caches keep the two apart
    with pytest.raises(ValueError, match="prompt 'short' is not known"):
        build({**TASK_CFG, "prompt": "short"}, data_root=data_root)


def test_stage_defaults_match_the_shipped_configs():
    from omegaconf import OmegaConf

    assert SftSettings.from_mapping(OmegaConf.to_container(OmegaConf.load("conf/train/sft.yaml"))) == SftSettings()
    assert RftSettings.from_mapping(OmegaConf.to_container(OmegaConf.load("conf/train/rft.yaml"))) == RftSettings()


def test_sft_warmup_is_a_tenth_of_the_steps():
    from evals.training.sft import warmup_steps

    assert warmup_steps(80, SftSettings()) == 2  # 20 optimizer steps of 4
    assert warmup_steps(12, SftSettings()) == 0  # 3 steps: none spent at a learning rate near 0
    assert warmup_steps(12, SftSettings(), max_steps=1) == 0
