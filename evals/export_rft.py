"""`rft-evals export-rft task=contract_review split=train [out=FILE] [limit=N] [task.fold=1 ...]`: the
Nova RFT training data, from the same task code evaluation uses, so training and evaluation read the same
references (the reward Lambda scores `reference_answer` with the same scorer).

Each line: {"id", "messages": [system, user], "reference_answer": task.reference(item)}. The file is
validated before it is written: at least 100 records, single turn, text only."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any
from evals.conf_dir import conf_dir

CONF_DIR = conf_dir()
MIN_RECORDS = 100
ROLES = ("system", "user")
_OWN_KEYS = {"split", "out", "limit", "seed"}  # read here; every other key=value goes to Hydra


class ExportError(ValueError):
    pass


def rft_record(task: Any, item: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": str(item["id"]), "messages": task.messages(item), "reference_answer": task.reference(item)}


def validate_records(records: Sequence[Mapping[str, Any]], min_records: int = MIN_RECORDS) -> list[str]:
    """Problems that would make Nova RFT reject or misuse the data; empty when the data is fine."""
    problems: list[str] = []
    if len(records) < min_records:
        problems.append(f"{len(records)} records; Nova RFT needs at least {min_records}")
    for i, record in enumerate(records):
        where = f"record {i} ({record.get('id', '?')})"
        messages = record.get("messages")
        if not isinstance(messages, list) or not messages:
            problems.append(f"{where}: messages must be a non-empty list")
            continue
        roles = [m.get("role") if isinstance(m, Mapping) else None for m in messages]
        if roles not in (["user"], ["system", "user"]):
            problems.append(f"{where}: single turn means [system?, user]; got roles {roles}")
        if not all(isinstance(m, Mapping) and isinstance(m.get("content"), str) and m["content"] for m in messages):
            problems.append(f"{where}: every message content must be non-empty text")
        if "reference_answer" not in record:
            problems.append(f"{where}: no reference_answer")
        if len(problems) > 20:
            problems.append("... (stopped after 20 problems)")
            break
    return problems


def write_jsonl(records: Iterable[Mapping[str, Any]], path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    n = 0
    with tmp.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            n += 1
    tmp.replace(path)  # a half-written file never takes the final name
    return n


def export(task: Any, split: str, out: Path, limit: int | None = None, seed: int = 0,
           min_records: int = MIN_RECORDS) -> int:
    dataset = task.load(split)
    items = [dict(row) for row in task.select(dataset, limit, seed)]
    records = [rft_record(task, item) for item in items]
    problems = validate_records(records, min_records)
    if problems:
        raise ExportError(f"the {split} split of task {task.name} does not make valid Nova RFT data:\n  "
                          + "\n  ".join(problems))
    return write_jsonl(records, out)


def _split_args(argv: Sequence[str]) -> tuple[dict[str, str], list[str]]:
    own: dict[str, str] = {}
    overrides: list[str] = []
    for arg in argv:
        key, sep, value = arg.partition("=")
        if not sep:
            raise ExportError(f"argument {arg!r} is not key=value; e.g. task=contract_review split=train")
        (own.__setitem__(key, value) if key in _OWN_KEYS else overrides.append(arg))
    return own, overrides


def main(argv: list[str]) -> int:
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    try:
        own, overrides = _split_args(argv)
        from hydra import compose, initialize_config_dir
        from omegaconf import OmegaConf

        from tasks.registry import build_task

        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            cfg = OmegaConf.to_container(compose("config", overrides=overrides), resolve=True)
        task = build_task(cfg["task"], data_root=cfg.get("data_root"))
        split = own.get("split", "train")
        out = Path(own.get("out") or f"rft_data/{task.name}_{split}.jsonl")
        limit = int(own["limit"]) if own.get("limit") not in (None, "", "null") else None
        n = export(task, split, out, limit, int(own.get("seed", 0)))
    except (ExportError, ValueError, FileNotFoundError) as exc:
        print(f"rft-evals export-rft: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {n} Nova RFT records ({task.name}, {split} split) to {out}")
    return 0
