"""Every task the reward serves, built on the real data: the four task kinds with their conf/task configs, and
one config task declared in YAML over UNFAIR-ToS sentences (a label and a quote, scored by the config
metrics). Shared by the scorer-registry, export and parity tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
TASK_KINDS = ("contract_review", "cuad_risks", "nda_policy", "unfair_tos")
CONFIG_TASK = "config"
EVERY_TASK = (*TASK_KINDS, CONFIG_TASK)
CONFIG_ROWS = 160  # enough for export-rft's 100-record floor, and 50+ parity answers

CONFIG_CLASSES = ["unfair", "fair"]
CONFIG_SPEC: dict[str, Any] = {
    "name": "tos_fairness",
    "description": "is this Terms of Service sentence potentially unfair? quote the words that decide it",
    "data_root": ".",
    "data": {"test": "items.jsonl", "train": "examples.jsonl"},
    "prompt": {"system": "You review Terms of Service sentences. Answer with JSON only, matching: {schema}",
               "user": "Sentence: {document}"},
    "output_schema": {"type": "object", "additionalProperties": False, "required": ["label"],
                      "properties": {"label": {"type": "string", "enum": CONFIG_CLASSES},
                                     "quote": {"type": "string", "maxLength": 200}}},
    "metrics": ["schema_valid", "classification", {"name": "grounding", "field": "quote"},
                {"name": "length", "max_chars": 300}],
}


# A reward of the config task's own (as docs/config_tasks.md asks users to write): the parity matrix scores it,
# so it compares more than config_deterministic's format check.
CONFIG_REWARD: dict[str, Any] = {
    "name": "tos_fairness_reward", "range": [0.0, 1.0], "neutral": 0.5,
    "components": {"format": {"metric": "schema_valid", "weight": 0.0, "report": "Metric"},
                   "label": {"metric": "label_accuracy", "weight": 0.7},
                   "grounding": {"metric": "grounding", "weight": 0.2},
                   "length": {"metric": "length_ok", "weight": 0.1}},
    "gates": [{"component": "format", "min": 1.0, "score": "min"}],
}


def config_reward_path(config_spec: Path) -> Path:
    return config_spec.parent / "tos_fairness_reward.yaml"


def write_config_task(data_root: Path, folder: Path) -> Path:
    """The config task's spec file, its JSONL data (real UNFAIR-ToS sentences, unfair vs fair) and a reward
    of its own (config_reward_path)."""
    from tasks.unfair_tos.data import read_split

    folder.mkdir(parents=True, exist_ok=True)
    sentences = read_split("test", data_root)
    unfair = [s for s in sentences if s.label != "Other"]
    fair = [s for s in sentences if s.label == "Other"]
    chosen = sorted(unfair[:CONFIG_ROWS // 2] + fair[:CONFIG_ROWS // 2], key=lambda s: s.index)
    rows = [{"id": f"tf-{s.index:05d}", "document": s.text, "gold": "fair" if s.label == "Other" else "unfair"}
            for s in chosen]
    examples = [{"id": "ex-1", "document": "We may terminate your account at any time without notice.",
                 "gold": "unfair"},
                {"id": "ex-2", "document": "You can contact our support team by email.", "gold": "fair"}]
    for name, data in (("items.jsonl", rows), ("examples.jsonl", examples)):
        (folder / name).write_text("".join(json.dumps(r) + "\n" for r in data), encoding="utf-8")
    path = folder / "tos_fairness.yaml"
    path.write_text(yaml.safe_dump(CONFIG_SPEC, sort_keys=False), encoding="utf-8")
    config_reward_path(path).write_text(yaml.safe_dump(CONFIG_REWARD, sort_keys=False), encoding="utf-8")
    return path


def task_config(name: str, config_spec: Path | None = None) -> dict[str, Any]:
    if name == CONFIG_TASK:
        assert config_spec is not None, "the config task needs its spec file (write_config_task)"
        return {"name": CONFIG_TASK, "kind": "config", "spec": str(config_spec)}
    return yaml.safe_load((ROOT / "conf/task" / f"{name}.yaml").read_text(encoding="utf-8"))


def build(name: str, data_root: Path, config_spec: Path | None = None):
    from tasks.registry import build_task

    return build_task(task_config(name, config_spec), data_root=data_root)


def reward_name(name: str) -> str:
    return "config_deterministic" if name == CONFIG_TASK else f"{name}_deterministic"
