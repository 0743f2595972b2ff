"""Every task gets its own training reward by default (conf/reward/<task>_deterministic.yaml), built from the
values its scorer produces: the gold answer earns the top of the range, an unparsable answer the bottom, and a
partly right answer something in between."""

from __future__ import annotations

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from metrics.reward.config import RewardConfig
from metrics.reward.sample import reward_from_record
from tasks.registry import build_task
from tests.conftest import REPO_ROOT

TASKS_WITH_GOLD = ["contract_review", "unfair_tos", "nda_policy", "cuad_risks"]


def _config(task: str, *overrides: str) -> dict:
    with initialize_config_dir(config_dir=str(REPO_ROOT / "conf"), version_base="1.3"):
        return OmegaConf.to_container(compose("config", overrides=[f"task={task}", *overrides]), resolve=True)


@pytest.mark.parametrize("task_name", TASKS_WITH_GOLD)
def test_default_reward_is_the_tasks_own_and_ranks_gold_above_garbage(task_name, data_root):
    config = _config(task_name)
    assert config["reward"]["name"] == f"{task_name}_deterministic"
    reward = RewardConfig.from_mapping(config["reward"], f"conf/reward/{task_name}_deterministic.yaml")
    task = build_task(config["task"], data_root=data_root)
    items = [dict(row) for row in task.select(task.load("test"), 4, 0)]
    for item in items:
        reference = task.reference(item)

        def score(text: str, reference=reference) -> float:
            sample = task.score(text, reference)
            return reward_from_record(sample.values, sample.errors, reward, None, text, reference).score

        assert score(task.render_gold(item)) == pytest.approx(reward.high)
        assert score("not an answer") == pytest.approx(reward.low)


def test_a_user_task_without_a_reward_file_runs_without_reward(tmp_path):
    (tmp_path / "task").mkdir()
    (tmp_path / "task" / "my_task.yaml").write_text("name: my_task\nkind: config\nspec: my_task.spec.yaml\n")
    config = _config("my_task", f"hydra.searchpath=[file://{tmp_path}]")
    assert config["task"]["name"] == "my_task" and "reward" not in config
    assert _config("config")["reward"]["name"] == "config_deterministic"
    assert "reward" not in _config("contract_review", "~reward")
