"""Reinforcement fine-tuning: GRPO (TRL's GRPOTrainer) from the SFT weights, with a fresh LoRA, rewarded by
the task's audited reward through the TRL adapter of metrics/reward/trl.py: the same bundle, scorer and
reward code the Lambda runs. A LoRA checkpoint is saved every `save_steps` steps for the checkpoint sweep."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from evals.training.clock import step_clock
from evals.training.settings import RftSettings
from evals.training.sft import lora_config, save_trained

CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")


def reward_function(bundle_path: Path) -> Callable[..., list[float | None]]:
    """The training reward: metrics.reward.trl's adapter over the reward bundle the Lambda ships."""
    from metrics.reward.trl import make_trl_reward

    return make_trl_reward(bundle_path, reference_column="reference_answer")


def train_rft(sft_dir: Path, out_dir: Path, records: Sequence[dict[str, Any]], settings: RftSettings,
              reward: Callable[..., list[float | None]], *, seed: int, report_to: Sequence[str] = (),
              max_steps: int | None = None) -> Path:
    """Train, saving LoRA checkpoints under `out_dir/checkpoints/checkpoint-<step>`; the final adapter goes to
    `out_dir/adapter` and the merged model (SFT + RFT LoRA, float32) to `out_dir/merged`."""
    import datasets
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig, GRPOTrainer

    torch.manual_seed(seed)
    tokenizer = AutoTokenizer.from_pretrained(sft_dir)
    model = AutoModelForCausalLM.from_pretrained(sft_dir, dtype=getattr(torch, settings.dtype))
    steps = max_steps or settings.steps
    args = GRPOConfig(
        output_dir=str(out_dir / "checkpoints"), seed=seed, data_seed=seed, use_cpu=True,
        # One completion per forward/backward, accumulated over the group: the whole group in one batch kept the
        # activations of num_generations x ~1,000 tokens for the backward (17.2 GB peak RSS with 4 x 160 tokens).
        # Still one optimizer step per generated batch (TRL: steps_per_generation = gradient_accumulation_steps),
        # so the policy stays on-policy; sampling is still batched over the whole group.
        max_steps=steps, per_device_train_batch_size=1, num_generations=settings.num_generations,
        gradient_accumulation_steps=settings.num_generations * settings.prompts_per_step,
        max_completion_length=settings.max_completion_length, temperature=settings.temperature,
        learning_rate=settings.learning_rate, beta=settings.beta, lr_scheduler_type="constant",
        logging_steps=settings.logging_steps, save_strategy="steps", save_steps=settings.save_steps,
        save_only_model=True, report_to=list(report_to), bf16=settings.dtype == "bfloat16",
        log_completions=False, dataloader_num_workers=0,
        gradient_checkpointing=False,  # 135M fits; recomputing activations costs ~1/3 more time
    )
    trainer = GRPOTrainer(model=model, reward_funcs=[reward], args=args,
                          train_dataset=datasets.Dataset.from_list(list(records)), processing_class=tokenizer,
                          peft_config=lora_config(settings.lora))
    trainer.add_callback(step_clock(out_dir / "steps.jsonl"))
    trainer.train()
    return save_trained(trainer, tokenizer, out_dir)


def saved_checkpoints(out_dir: Path) -> list[tuple[int, Path]]:
    """(step, folder) of every LoRA checkpoint the RFT stage saved, by step."""
    folder = out_dir / "checkpoints"
    found = []
    for path in folder.iterdir() if folder.is_dir() else ():
        match = CHECKPOINT.match(path.name)
        if match and (path / "adapter_config.json").is_file():
            found.append((int(match.group(1)), path))
    return sorted(found)
