"""The scorer registry (metrics/scorers.py): every task names a scorer and gives a JSON-able spec; the reward
bundle carries both, and the bundle alone scores an answer exactly as the task does."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from _task_matrix import EVERY_TASK, ROOT, build, reward_name, write_config_task
from evals.rft.bundle import build_bundle, bundle_from_configs, load_reward_config
from metrics.reward.bundle import BundleError, RewardBundle
from metrics.scorers import SCORERS, ScorerSpecError, build_scorer


@pytest.fixture(scope="module")
def config_spec(data_root, tmp_path_factory):
    return write_config_task(data_root, tmp_path_factory.mktemp("config_task"))


@pytest.mark.parametrize("name", EVERY_TASK)
def test_bundle_scores_like_the_task(name, data_root, config_spec):
    task = build(name, data_root, config_spec)
    assert task.scorer_name in SCORERS
    bundle = build_bundle(task, load_reward_config(reward_name(name)))
    via_json = RewardBundle.from_dict(json.loads(json.dumps(bundle.to_dict())))  # as the Lambda reads it
    assert via_json.scorer == task.scorer_name
    items = [dict(r) for r in task.select(task.load(task_default_split(task)), 6, 0)]
    answers = [task.render_gold(items[-1]), "", "{}", "not json", '{"x": 1}']  # another item's gold, broken
    for item in items:
        reference = json.loads(json.dumps(task.reference(item)))
        for answer in [task.render_gold(item), *answers]:
            expected, got = task.score(answer, reference), via_json.score(answer, reference)
            assert got.values == expected.values
            assert [e.kind for e in got.errors] == [e.kind for e in expected.errors]
    assert via_json.score(task.render_gold(items[0]), task.reference(items[0])).values  # gold is scored


def task_default_split(task) -> str:
    return getattr(getattr(task, "config", None) or task.spec, "split", "test")


def test_unknown_scorer_and_malformed_spec_are_bundle_errors(data_root):
    task = build("unfair_tos", data_root)
    data = build_bundle(task, load_reward_config("unfair_tos_deterministic")).to_dict()
    with pytest.raises(BundleError, match="not known"):
        RewardBundle.from_dict({**data, "scorer": "nope"})
    with pytest.raises(BundleError, match="classes"):
        RewardBundle.from_dict({**data, "spec": {"classes": "Other"}})
    with pytest.raises(ScorerSpecError, match="known scorers"):
        build_scorer("nope", {})


def test_a_task_without_a_scorer_is_refused_with_the_fix(data_root):
    class Bare:
        name = "bare"

        def prompt_template_hash(self) -> str:
            return "x"

    with pytest.raises(ValueError, match="scorer_spec"):
        build_bundle(Bare(), load_reward_config("config_deterministic"))


def test_default_reward_follows_the_task_kind(data_root, config_spec):
    assert bundle_from_configs("nda_policy", None, str(data_root)).reward.name == "nda_policy_deterministic"
    bundle = bundle_from_configs(str(config_spec), None, str(data_root))  # a config task's own spec file
    assert (bundle.scorer, bundle.reward.name) == ("config", "config_deterministic")


def test_reward_bundle_cli_explains_a_config_task_without_spec(tmp_path):
    result = subprocess.run([sys.executable, "-m", "evals.cli", "reward", "bundle", "--task", "config",
                             "--out", str(tmp_path / "b.json")], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 2
    assert "spec file" in result.stderr and "Traceback" not in result.stderr


def test_scorer_modules_import_only_the_standard_library():
    code = ("import sys, json\nbefore = set(sys.modules)\n"
            "import metrics.scorers, metrics.comment_review, metrics.policy_review.scoring, metrics.label_scorer, "
            "metrics.config_metrics\n"
            "tops = {n.split('.')[0] for n in set(sys.modules) - before}\n"
            "print(json.dumps(sorted(tops - set(sys.stdlib_module_names))))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert json.loads(out.stdout) == ["metrics"]


def test_a_reward_that_reads_values_the_scorer_lacks_is_refused(data_root):
    with pytest.raises(ValueError, match="does not fit task nda_policy"):
        bundle_from_configs("nda_policy", "contract_review_deterministic", str(data_root))
