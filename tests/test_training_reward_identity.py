"""The RFT stage trains on the TRL adapter of metrics/reward/trl.py itself (the object whose parity with the
Lambda and evaluation tests/test_parity_matrix.py proves), built over the reward bundle the Lambda ships."""

from __future__ import annotations

import json

import pytest

import metrics.reward.trl as trl_adapter
from evals.training import rft as rft_module
from evals.training import stages
from metrics.reward.bundle import RewardBundle


def test_rft_stage_trains_on_the_trl_adapter_object(tmp_path, data_root, monkeypatch):
    made = []
    real = trl_adapter.make_trl_reward

    def spy(bundle, **kwargs):
        made.append((bundle, kwargs, real(bundle, **kwargs)))
        return made[-1][2]

    monkeypatch.setattr(trl_adapter, "make_trl_reward", spy)
    captured = {}

    def fake_train(sft_dir, out_dir, records, settings, reward, **kwargs):
        captured.update(reward=reward, records=records, settings=settings)
        return out_dir / "merged"

    monkeypatch.setattr(rft_module, "train_rft", fake_train)
    from omegaconf import OmegaConf

    reward_cfg = OmegaConf.to_container(OmegaConf.load("conf/reward/contract_review_deterministic.yaml"))
    task_cfg = {**OmegaConf.to_container(OmegaConf.load("conf/task/contract_review.yaml")), "prompt": "compact"}
    config = {"task": task_cfg, "reward": reward_cfg, "seed": 0, "checkpoints_dir": str(tmp_path),
              "data_root": str(data_root), "max_steps": None,
              "rft": {"prompts": 4, "steps": 1, "max_gold_tokens": None}}  # no SFT tokenizer here to count with
    stages.run_rft(config)

    assert len(made) == 1
    bundle_path, kwargs, adapter = made[0]
    assert captured["reward"] is adapter  # the very object metrics.reward.trl made, not a copy or a wrapper
    assert adapter.__module__ == "metrics.reward.trl"
    assert kwargs == {"reference_column": "reference_answer"}
    bundle = RewardBundle.from_json(bundle_path)  # the Lambda's bundle, written for this training
    assert bundle.reward.name == "contract_review_deterministic"
    record = captured["records"][0]
    # the training rows carry what the adapter reads: it scores them as TRL would call it
    empty = json.dumps({"comments": []})
    rewards = adapter(prompts=[record["prompt"]] * 2, completions=[[{"role": "assistant", "content": empty}]] * 2,
                      reference_answer=[record["reference_answer"]] * 2)
    assert len(rewards) == 2 and all(isinstance(r, float) for r in rewards)


def test_rft_stage_refuses_to_train_without_a_reward(tmp_path, data_root):
    from omegaconf import OmegaConf

    task_cfg = OmegaConf.to_container(OmegaConf.load("conf/task/contract_review.yaml"))
    with pytest.raises(ValueError, match="no reward config"):
        stages.run_rft({"task": task_cfg, "reward": None, "seed": 0, "checkpoints_dir": str(tmp_path),
                        "data_root": str(data_root), "rft": {}})
