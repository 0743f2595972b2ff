"""Supervised fine-tuning: LoRA on every linear layer of the saved base, trained with TRL's SFTTrainer on
prompt-completion records (loss on the gold answer only), then merged into a full model folder."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from evals.training.clock import step_clock
from evals.training.settings import LoraSettings, SftSettings


def lora_config(settings: LoraSettings) -> Any:
    from peft import LoraConfig

    return LoraConfig(r=settings.r, lora_alpha=settings.alpha, lora_dropout=settings.dropout,
                      target_modules=settings.target_modules, task_type="CAUSAL_LM")


def save_trained(trainer: Any, tokenizer: Any, out_dir: Path) -> Path:
    """Save the LoRA adapter (out_dir/adapter) and the float32 merged model with its tokenizer (out_dir/merged,
    what the GGUF export converts); returns the merged folder. Shared by the SFT and RFT stages."""
    import torch

    trainer.model.save_pretrained(out_dir / "adapter")
    merged = trainer.model.merge_and_unload().to(torch.float32)
    merged_dir = out_dir / "merged"
    merged.save_pretrained(merged_dir)
    tokenizer.save_pretrained(merged_dir)
    return merged_dir


def train_sft(base_dir: Path, out_dir: Path, records: Sequence[dict[str, Any]], settings: SftSettings, *,
              seed: int, report_to: Sequence[str] = (), max_steps: int | None = None) -> Path:
    """Train, then write `out_dir/adapter` (the LoRA) and `out_dir/merged` (base + LoRA, float32)."""
    import datasets
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    torch.manual_seed(seed)
    tokenizer = AutoTokenizer.from_pretrained(base_dir)
    model = AutoModelForCausalLM.from_pretrained(base_dir, dtype=getattr(torch, settings.dtype))
    args = SFTConfig(
        output_dir=str(out_dir / "trainer"), seed=seed, data_seed=seed, use_cpu=True,
        num_train_epochs=settings.epochs, max_steps=max_steps or -1,
        per_device_train_batch_size=settings.batch_size, gradient_accumulation_steps=settings.grad_accum,
        learning_rate=settings.learning_rate, lr_scheduler_type="cosine",
        warmup_steps=warmup_steps(len(records), settings, max_steps),
        max_length=settings.max_length, completion_only_loss=True,
        logging_steps=settings.logging_steps, save_strategy="no", report_to=list(report_to),
        bf16=settings.dtype == "bfloat16", dataloader_num_workers=0,
        gradient_checkpointing=False,  # 135M fits; recomputing activations costs ~1/3 more time
    )
    trainer = SFTTrainer(model=model, args=args, train_dataset=datasets.Dataset.from_list(list(records)),
                         processing_class=tokenizer, peft_config=lora_config(settings.lora))
    _check_lengths(trainer, settings.max_length)
    trainer.add_callback(step_clock(out_dir / "steps.jsonl"))
    trainer.train()
    return save_trained(trainer, tokenizer, out_dir)


def warmup_steps(examples: int, settings: SftSettings, max_steps: int | None = None) -> int:
    """A tenth of the optimizer steps (none on a run of a few steps, which would otherwise spend them at a
    learning rate near 0)."""
    steps = max_steps or math.ceil(examples * settings.epochs / (settings.batch_size * settings.grad_accum))
    return int(steps // 10)


def _check_lengths(trainer: Any, max_length: int) -> None:
    """TRL truncates from the right: an example at the limit would have lost (part of) its gold answer."""
    lengths = [len(ids) for ids in trainer.train_dataset["input_ids"]]
    if lengths and max(lengths) >= max_length:
        raise ValueError(f"sft.max_length={max_length}: the longest example has {max(lengths)} tokens and "
                         "would lose its answer; raise sft.max_length")
