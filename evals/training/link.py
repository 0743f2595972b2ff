"""The link from an evaluated checkpoint back to the training run that produced it. Each served GGUF has a
sidecar `<file>.json` ({"training_run_id", "training_stage", "training_step", ...}); an evaluation run of a
model config whose `gguf` has a sidecar tags its MLflow run with those values, so the training curves are one
search away (tags.training_run_id = '<id>'). Standard library only."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

TAG_KEYS = ("training_run_id", "training_stage_run_id", "training_stage", "training_step", "training_task")


def sidecar(gguf: Path | str) -> Path:
    path = Path(gguf)
    return path.with_name(path.name + ".json")


def write_sidecar(gguf: Path, values: Mapping[str, Any]) -> Path:
    path = sidecar(gguf)
    path.write_text(json.dumps({k: v for k, v in values.items() if v is not None}, indent=1, sort_keys=True),
                    encoding="utf-8")
    return path


def read_sidecar(gguf: Path | str) -> dict[str, Any]:
    """The sidecar's values; empty when there is none or it is not a JSON object."""
    try:
        data = json.loads(sidecar(gguf).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return dict(data) if isinstance(data, Mapping) else {}


def checkpoint_tags(model_config: Mapping[str, Any]) -> dict[str, str]:
    """MLflow tags linking a candidate to its training run; empty for a model that was not trained here."""
    gguf = model_config.get("gguf")
    if not gguf:
        return {}
    data = read_sidecar(str(gguf))
    return {key: str(data[key]) for key in TAG_KEYS if data.get(key) is not None}
