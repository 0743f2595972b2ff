"""Where a training run keeps its files, under one checkpoints folder (train.checkpoints_dir):

    reward_bundle.json              the reward the RFT stage trains on (the Lambda's bundle)
    training.json                   the manifest: MLflow run ids, per-stage wall time and peak memory
    base/hf/                        SmolLM2 dequantized from the shipped GGUF (float32)
    base/model-<type>.gguf          the base role, converted from base/hf
    sft/adapter/ sft/merged/        the SFT LoRA and base + LoRA
    sft/model-<type>.gguf           the SFT role
    rft/checkpoints/checkpoint-<N>/ RFT LoRA checkpoints (on top of sft/merged)
    rft/adapter/ rft/merged/        the final RFT LoRA and SFT + LoRA
    rft/model-<type>.gguf           the RFT role
    rft/steps/step-<N>.gguf         each checkpoint served, for the checkpoint sweep

Every GGUF has a sidecar `<file>.json` naming the training run it came from (evals/training/link.py).
Standard library only: the evaluation side reads this layout without torch."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_DIR = ".rft-evals/checkpoints"
STEP_FILE = re.compile(r"^step-(\d+)\.gguf$")


def default_checkpoints_dir() -> Path:
    return Path(os.environ.get("RFT_CHECKPOINTS_DIR") or DEFAULT_DIR)


@dataclass(frozen=True)
class Layout:
    root: Path
    out_type: str = "f16"

    @property
    def manifest(self) -> Path:
        return self.root / "training.json"

    @property
    def reward_bundle(self) -> Path:
        return self.root / "reward_bundle.json"

    @property
    def base_hf(self) -> Path:
        return self.root / "base" / "hf"

    def stage_dir(self, stage: str) -> Path:
        return self.root / stage

    def merged(self, stage: str) -> Path:
        return self.base_hf if stage == "base" else self.root / stage / "merged"

    def gguf(self, stage: str) -> Path:
        return self.root / stage / f"model-{self.out_type}.gguf"

    def step_gguf(self, step: int) -> Path:
        return self.root / "rft" / "steps" / f"step-{step}.gguf"

    def step_ggufs(self) -> list[tuple[int, Path]]:
        """(step, file) of every served RFT checkpoint, by step."""
        folder = self.root / "rft" / "steps"
        found = [(int(m.group(1)), p) for p in (folder.iterdir() if folder.is_dir() else ())
                 if (m := STEP_FILE.match(p.name))]
        return sorted(found)

    def read_manifest(self) -> dict[str, Any]:
        if not self.manifest.is_file():
            return {}
        return json.loads(self.manifest.read_text(encoding="utf-8"))

    def update_manifest(self, **values: Any) -> dict[str, Any]:
        data = {**self.read_manifest(), **values}
        self.root.mkdir(parents=True, exist_ok=True)
        partial = self.manifest.with_suffix(".json.partial")
        partial.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
        partial.replace(self.manifest)
        return data
