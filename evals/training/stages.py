"""The stages of `rft-evals train`, each a function of the resolved config (a plain dict) that the command runs
in its own process, so every stage's wall time and peak memory are measured on their own:

    base   dequantize the shipped SmolLM2 GGUF into a float32 folder (once)
    sft    LoRA SFT on the task's train split, merged
    rft    GRPO from the SFT weights on the audited reward, LoRA checkpoints on the way
    serve  every role (and every RFT checkpoint) converted to one GGUF type for llama.cpp"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from evals.training.data import RowSelection, check_disjoint, gold_fits, rft_records, sft_records, train_rows
from evals.training.layout import Layout
from evals.training.link import write_sidecar
from evals.training.settings import RftSettings, SftSettings

log = logging.getLogger(__name__)
STAGES = ("base", "sft", "rft", "serve")


def layout_of(config: Mapping[str, Any]) -> Layout:
    return Layout(Path(str(config["checkpoints_dir"])), str(config.get("serve_type") or "f16"))


def build_task(config: Mapping[str, Any]) -> Any:
    from tasks.registry import build_task as build

    task = build(config["task"], data_root=config.get("data_root"))
    check_disjoint(task, str(config["task"].get("split") or "test"))
    return task


def _report_to(config: Mapping[str, Any]) -> list[str]:
    return ["mlflow"] if config.get("_mlflow_run_id") else []


def run_base(config: Mapping[str, Any]) -> None:
    from evals.training.base_model import prepare_base

    prepare_base(layout_of(config).base_hf, Path(config["base_gguf"]) if config.get("base_gguf") else None)


def run_sft(config: Mapping[str, Any]) -> None:
    from evals.training.sft import train_sft

    settings = SftSettings.from_mapping(config.get("sft"))
    task = build_task(config)
    rows = train_rows(task, RowSelection(settings.examples, settings.risky_share, int(config["seed"])))
    layout = layout_of(config)
    log.info("SFT on %d train windows (%d with a risk)", len(rows), sum(1 for r in rows if r["gold"]))
    train_sft(layout.base_hf, layout.stage_dir("sft"), sft_records(task, rows), settings,
              seed=int(config["seed"]), report_to=_report_to(config), max_steps=config.get("max_steps"))


def run_rft(config: Mapping[str, Any]) -> None:
    from evals.rft.bundle import build_bundle
    from evals.training.rft import reward_function, train_rft
    from metrics.reward.config import RewardConfig

    settings = RftSettings.from_mapping(config.get("rft"))
    task = build_task(config)
    reward_cfg = config.get("reward")
    if not reward_cfg:
        raise ValueError("rft stage: no reward config; set reward=<name of conf/reward/*.yaml>")
    layout = layout_of(config)
    reward = RewardConfig.from_mapping(reward_cfg, f"conf/reward/{reward_cfg.get('name', '?')}.yaml")
    build_bundle(task, reward).write(layout.reward_bundle)
    # Shifted seed: the RFT prompts are a different sample from the SFT examples where the pool allows it.
    keep = None
    if settings.max_gold_tokens is not None:
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(layout.merged("sft"))
        keep = gold_fits(task, lambda text: len(tokenizer(text)["input_ids"]), settings.max_gold_tokens)
    rows = train_rows(task, RowSelection(settings.prompts, settings.risky_share, int(config["seed"]) + 1), keep)
    log.info("RFT on %d train prompts (%d with a risk; gold answers of at most %s tokens)", len(rows),
             sum(1 for r in rows if r["gold"]), settings.max_gold_tokens)
    train_rft(layout.merged("sft"), layout.stage_dir("rft"), rft_records(task, rows), settings,
              reward_function(layout.reward_bundle), seed=int(config["seed"]), report_to=_report_to(config),
              max_steps=config.get("max_steps"))


def merge_checkpoint(sft_dir: Path, adapter_dir: Path, out_dir: Path) -> Path:
    """SFT weights + one RFT LoRA checkpoint, merged into a float32 folder."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(sft_dir, dtype=torch.float32)
    merged = PeftModel.from_pretrained(model, adapter_dir).merge_and_unload()
    merged.save_pretrained(out_dir)
    AutoTokenizer.from_pretrained(sft_dir).save_pretrained(out_dir)
    return out_dir


def weights_digest(folder: Path) -> str:
    """A short content hash of a model folder's weights (the LoRA adapter when there is one: small and
    different per checkpoint)."""
    import hashlib

    digest = hashlib.sha256()
    files = sorted(folder.glob("adapter_model.safetensors")) or sorted(folder.glob("*.safetensors"))
    if not files:
        raise FileNotFoundError(f"no safetensors weights in {folder}")
    for path in files:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 22), b""):
                digest.update(block)
    return digest.hexdigest()[:12]


def _served(gguf: Path, source_digest: str) -> bool:
    """The GGUF exists and was converted from these very weights (a retrained stage is converted again)."""
    from evals.training.link import read_sidecar

    return gguf.is_file() and read_sidecar(gguf.resolve()).get("source_digest") == source_digest


def run_serve(config: Mapping[str, Any]) -> None:
    import os
    import shutil

    from evals.training.gguf_export import convert_to_gguf
    from evals.training.link import read_sidecar
    from evals.training.rft import saved_checkpoints

    layout = layout_of(config)
    manifest = layout.read_manifest()
    link = {"training_run_id": manifest.get("mlflow_run_id"), "training_task": config["task"]["name"]}
    stage_runs = manifest.get("stage_run_ids") or {}
    for stage in ("base", "sft", "rft"):
        weights = layout.base_hf if stage == "base" else layout.stage_dir(stage) / "adapter"
        if not layout.merged(stage).is_dir() or not weights.is_dir():
            log.warning("serve: no %s model at %s; skipped", stage, layout.merged(stage))
            continue
        digest = weights_digest(weights)
        gguf = layout.gguf(stage)
        if _served(gguf, digest):
            continue
        gguf.unlink(missing_ok=True)
        convert_to_gguf(layout.merged(stage), gguf, layout.out_type, model_name=f"smollm2-135m-{stage}-{digest}")
        write_sidecar(gguf, {**link, "training_stage": stage, "training_stage_run_id": stage_runs.get(stage),
                             "source_digest": digest})
        log.info("served %s: %s", stage, gguf)
    final_digest = read_sidecar(layout.gguf("rft")).get("source_digest")
    for step, adapter in saved_checkpoints(layout.stage_dir("rft")):
        target = layout.step_gguf(step)
        digest = weights_digest(adapter)
        if _served(target, digest):
            continue
        target.unlink(missing_ok=True)
        if digest == final_digest:  # the last checkpoint is the RFT model: the same file, evaluated once
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(os.path.relpath(layout.gguf("rft"), target.parent))
            continue
        scratch = layout.stage_dir("rft") / "steps" / f"merged-{step}"
        merge_checkpoint(layout.merged("sft"), adapter, scratch)
        convert_to_gguf(scratch, target, layout.out_type, model_name=f"smollm2-135m-rft-step{step}-{digest}")
        shutil.rmtree(scratch)
        write_sidecar(target, {**link, "training_stage": "rft", "training_step": step,
                               "training_stage_run_id": stage_runs.get("rft"), "source_digest": digest})
        log.info("served RFT step %d: %s", step, target)


RUNNERS: dict[str, Callable[[Mapping[str, Any]], None]] = {
    "base": run_base, "sft": run_sft, "rft": run_rft, "serve": run_serve,
}


def main(argv: list[str] | None = None) -> int:
    """Entry of one stage's process: python -m evals.training.stages STAGE CONFIG_JSON."""
    import json
    import sys

    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2 or args[0] not in RUNNERS:
        print(f"usage: python -m evals.training.stages {{{','.join(RUNNERS)}}} CONFIG_JSON", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    config = json.loads(Path(args[1]).read_text(encoding="utf-8"))
    if config.get("torch_threads") and args[0] != "serve":
        import torch

        torch.set_num_threads(int(config["torch_threads"]))
    RUNNERS[args[0]](config)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
