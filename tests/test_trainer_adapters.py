"""The TRL and verl adapters (metrics/reward/trl.py, verl.py) over the reward bundle: TRL's and verl's calling
conventions, None where the reward does not apply, components reported, the bundle found, no heavy import.
Identity of the floats with the Lambda and evaluation is tests/test_parity_matrix.py's job."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

from _task_matrix import ROOT, build
from evals.rft.bundle import build_bundle, load_reward_config
from metrics.reward import verl
from metrics.reward.bundle import RewardBundle
from metrics.reward.reference import MissingReferenceError, reference_from
from metrics.reward.trl import make_trl_reward


@pytest.fixture(scope="module")
def task(data_root):
    return build("unfair_tos", data_root)


@pytest.fixture(scope="module")
def bundle_path(task, tmp_path_factory):
    bundle = build_bundle(task, load_reward_config("unfair_tos_deterministic"))
    return bundle.write(tmp_path_factory.mktemp("bundle") / "reward_bundle.json")


@pytest.fixture(scope="module")
def rows(task):
    rows = task.rows("test")
    return [next(r for r in rows if r["gold"] == "Other"), next(r for r in rows if r["gold"] != "Other")]


def test_trl_reward_takes_plain_and_conversational_completions(task, bundle_path, rows):
    reward = make_trl_reward(bundle_path)
    assert reward.__name__ == "unfair_tos_deterministic"
    references = [json.dumps(task.reference(r)) for r in rows]  # as export-rft format=trl writes the column
    golds = [task.render_gold(r) for r in rows]
    plain = reward(prompts=["p", "p"], completions=golds, reference_answer=references)
    chat = reward(prompts=[[{"role": "user", "content": "p"}]] * 2,
                  completions=[[{"role": "assistant", "content": g}] for g in golds],
                  reference_answer=[task.reference(r) for r in rows])  # objects work as well as JSON text
    wrong = reward(prompts=["p", "p"], completions=[golds[1], golds[0]], reference_answer=references)
    assert plain == chat and all(isinstance(s, float) for s in plain)
    assert all(g > w for g, w in zip(plain, wrong, strict=True))


def test_trl_reward_is_none_where_it_does_not_apply(task, bundle_path, rows):
    reward = make_trl_reward(bundle_path)
    gold = task.render_gold(rows[0])
    ref = json.dumps(task.reference(rows[0]))
    scores = reward(prompts=["p"] * 3, completions=[gold] * 3, reference_answer=[ref, None, ref],
                    task=["unfair_tos", "unfair_tos", "nda_policy"])
    assert scores[0] is not None and scores[1:] == [None, None]


def test_trl_reward_reports_components_through_trls_hooks(task, bundle_path, rows):
    metrics, extra = {}, {}
    reward = make_trl_reward(bundle_path, reference_column="ref")
    golds = [task.render_gold(r) for r in rows]
    reward(prompts=["p"] * 3, completions=[*golds, "not json"], ref=[task.reference(r) for r in [*rows, rows[0]]],
           log_metric=metrics.__setitem__, log_extra=extra.__setitem__, trainer_state=object())
    names = [c.name for c in load_reward_config("unfair_tos_deterministic").components]
    assert {f"unfair_tos_deterministic/{n}" for n in names} <= set(metrics)
    assert metrics["unfair_tos_deterministic/neutral"] == 0.0
    assert extra["unfair_tos_deterministic/format"] == [1.0, 1.0, 0.0]


def test_trl_reward_without_its_column_says_how_to_fix_it(bundle_path):
    with pytest.raises(ValueError, match="export-rft format=trl"):
        make_trl_reward(bundle_path)(prompts=["p"], completions=["x"], other=[1])


def test_verl_compute_score_finds_the_bundle_and_returns_every_component(task, bundle_path, rows, monkeypatch):
    truth = json.dumps(task.reference(rows[1]))
    gold = task.render_gold(rows[1])
    by_kwargs = verl.compute_score("unfair_tos", gold, truth, {}, reward_bundle=str(bundle_path))
    monkeypatch.setenv("REWARD_BUNDLE", str(bundle_path))
    by_env = verl.compute_score("unfair_tos", gold, truth)
    monkeypatch.delenv("REWARD_BUNDLE")
    by_info = verl.compute_score("unfair_tos", gold, truth, {"reward_bundle": str(bundle_path)})
    verl.set_default_bundle(RewardBundle.from_json(bundle_path))
    try:
        by_default = verl.compute_score("unfair_tos", gold, task.reference(rows[1]))
        gated = verl.compute_score("unfair_tos", "not json", truth)
    finally:
        verl.set_default_bundle(None)
    assert by_kwargs == by_env == by_info == by_default
    names = [c.name for c in load_reward_config("unfair_tos_deterministic").components]
    assert list(by_kwargs) == ["score", *names, "neutral"] and list(gated) == list(by_kwargs)
    assert by_kwargs["score"] > gated["score"] and by_kwargs["neutral"] == 0.0
    with pytest.raises(ValueError, match="reward_kwargs"):
        verl.compute_score("unfair_tos", gold, truth)


def test_verl_marks_components_it_did_not_compute_as_nan(task, bundle_path, rows):
    result = verl.compute_score("unfair_tos", "x", "not json at all", reward_bundle=str(bundle_path))
    assert result["neutral"] == 1.0 and all(math.isnan(v) for k, v in result.items() if k not in ("score", "neutral"))


def test_reference_placement_is_resolved_in_one_place():
    ref = {"label": "Other"}
    for sample in ({"reference_answer": ref}, {"metadata": {"reference_answer": ref}},
                   {"reward_model": {"ground_truth": json.dumps(ref)}}, {"ground_truth": ref},
                   {"reference_answer": json.dumps(ref), "reward_model": {"ground_truth": "ignored"}}):
        assert reference_from(sample) == ref
    for bad, words in (({}, "no reference_answer"), ({"reference_answer": None}, "null"),
                       ({"reference_answer": "{oops"}, "not JSON")):
        with pytest.raises(MissingReferenceError, match=words):
            reference_from(bad)


def test_adapters_import_no_torch_trl_verl_or_numpy():
    code = ("import sys, json\nimport metrics.reward.trl, metrics.reward.verl, metrics.reward.runtimes\n"
            "print(json.dumps(sorted(m for m in ('torch', 'trl', 'verl', 'numpy', 'datasets', 'yaml', 'evals',"
            " 'tasks') if m in sys.modules)))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert json.loads(out.stdout) == []


def test_export_trl_and_verl_hold_what_the_adapters_read(task, tmp_path, capsys):
    import datasets
    import pyarrow.parquet as pq

    from evals.rft.export import export
    from metrics.reward.runtimes import Answer, RUNTIMES

    items = [dict(r) for r in task.select(task.load("test"), 12, 0)]
    assert export(task, "test", tmp_path / "trl", limit=12, fmt="trl") == 12
    assert export(task, "test", tmp_path / "v.parquet", limit=12, fmt="verl") == 12
    trl = datasets.load_from_disk(str(tmp_path / "trl"))
    verl_rows = pq.read_table(tmp_path / "v.parquet").to_pylist()
    assert set(trl.column_names) == {"id", "task", "prompt", "reference_answer"}
    assert set(verl_rows[0]) == {"data_source", "prompt", "ability", "reward_model", "extra_info"}
    for item, row, vrow in zip(items, trl, verl_rows, strict=True):
        assert row["prompt"] == task.messages(item) == vrow["prompt"]
        assert reference_from(row) == task.reference(item) == reference_from(vrow)
        assert vrow["data_source"] == "unfair_tos" and vrow["extra_info"]["id"] == row["id"] == str(item["id"])
    bundle = build_bundle(task, load_reward_config("unfair_tos_deterministic"))
    answers = [Answer(r["id"], task.render_gold(i), r["reference_answer"]) for i, r in zip(items, trl, strict=True)]
    assert RUNTIMES["trl"](bundle, answers) == RUNTIMES["lambda"](bundle, answers)


def test_export_rejects_an_unknown_format(tmp_path, capsys):
    from evals.cli import main

    assert main(["export-rft", "task=unfair_tos", "format=csv", f"out={tmp_path / 'x'}"]) == 2
    assert "format='csv' is not known" in capsys.readouterr().err


def test_trls_own_reward_step_calls_the_adapter(task, bundle_path, rows):
    """Where TRL is installed (the train extra): GRPOTrainer._calculate_rewards, TRL's own code that calls
    reward_funcs with the dataset columns and its log hooks, on rows as export-rft format=trl writes them.
    The trainer object is a stand-in holding only what that method reads (no model is loaded)."""
    trl = pytest.importorskip("trl")
    import types
    from collections import defaultdict

    import trl.trainer.grpo_trainer as grpo
    from trl.trainer.utils import get_callable_name

    from evals.rft.export import rft_record, trl_row

    reward = make_trl_reward(bundle_path)
    inputs = [trl_row(task, rft_record(task, r)) for r in rows]
    extra, metrics = defaultdict(list), defaultdict(list)
    trainer = types.SimpleNamespace(
        accelerator=types.SimpleNamespace(device="cpu", is_main_process=True), reward_funcs=[reward],
        reward_processing_classes=[None], reward_func_names=[get_callable_name(reward)],
        state=types.SimpleNamespace(global_step=0), args=types.SimpleNamespace(report_to=[]), environments=None,
        _log_completion_extra=lambda column, values: extra[column].extend(values),
        _log_metric=lambda name, value: metrics[name].append(value))
    step = getattr(trl.GRPOTrainer._calculate_rewards, "__wrapped__", trl.GRPOTrainer._calculate_rewards)
    completions = [[{"role": "assistant", "content": task.render_gold(rows[0])}],
                   [{"role": "assistant", "content": task.render_gold(rows[0])}]]  # right, then wrong
    original_gather = grpo.gather
    grpo.gather = lambda tensor: tensor  # one process: nothing to gather
    try:
        got = step(trainer, inputs, [i["prompt"] for i in inputs], completions, [[1], [1]])
    finally:
        grpo.gather = original_gather
    expected = reward(prompts=[i["prompt"] for i in inputs], completions=completions,
                      reference_answer=[i["reference_answer"] for i in inputs])
    assert got[:, 0].tolist() == pytest.approx(expected) and expected[0] > expected[1]
    assert trainer.reward_func_names == ["unfair_tos_deterministic"]
    assert "unfair_tos_deterministic/label" in metrics and extra["unfair_tos_deterministic/label"] == [1.0, 0.0]
