"""`rft-evals export-rft task=contract_review split=train [format=nova|trl|verl] [out=PATH] [limit=N]
[task.fold=1 ...]`: RFT training data from the same task code evaluation uses, so training and evaluation read
the same references (every reward runtime scores them with the same scorer; docs/trainers.md).

- nova (default): JSONL, each line {"id", "messages": [system, user], "reference_answer": task.reference(item)};
  validated for Nova RFT: at least 100 records, single turn, text only.
- trl: a `datasets` dataset saved with save_to_disk (a folder): `prompt` (conversational: the messages), the
  reference column `reference_answer` (JSON text), `id`, `task`: what metrics/reward/trl.py reads.
- verl: parquet with verl's columns: `data_source` (the task), `prompt` (chat messages), `ability`,
  `reward_model` {style: rule, ground_truth: JSON text}, `extra_info` {index, id, split, task}.

References are written as JSON text for trl and verl: Arrow would merge differently shaped reference objects
into one struct type (adding nulls); metrics/reward/reference.py decodes them back, for every runtime."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any
from evals.conf import compose

MIN_RECORDS = 100
ROLES = ("system", "user")
_OWN_KEYS = {"split", "out", "limit", "seed", "format"}  # read here; every other key=value goes to Hydra
FORMATS = ("nova", "trl", "verl")


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


def reference_text(record: Mapping[str, Any]) -> str:
    return json.dumps(record["reference_answer"], ensure_ascii=False, sort_keys=True)


def trl_row(task: Any, record: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": record["id"], "task": task.name, "prompt": record["messages"],
            "reference_answer": reference_text(record)}


def verl_row(task: Any, record: Mapping[str, Any], index: int, split: str) -> dict[str, Any]:
    return {"data_source": task.name, "prompt": record["messages"], "ability": "judgment",
            "reward_model": {"style": "rule", "ground_truth": reference_text(record)},
            "extra_info": {"index": index, "id": record["id"], "split": split, "task": task.name}}


def write_trl(task: Any, records: Sequence[Mapping[str, Any]], out: Path) -> int:
    import datasets

    rows = [trl_row(task, r) for r in records]
    if out.exists() and any(out.iterdir()):
        raise ExportError(f"{out} exists and is not empty; give another out= folder or remove it")
    datasets.Dataset.from_list(rows).save_to_disk(str(out))
    return len(rows)


def write_verl(task: Any, records: Sequence[Mapping[str, Any]], out: Path, split: str) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pylist([verl_row(task, r, i, split) for i, r in enumerate(records)])
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(out.suffix + ".tmp")
    pq.write_table(table, tmp)
    tmp.replace(out)
    return table.num_rows


def default_out(task_name: str, split: str, fmt: str) -> Path:
    return Path("rft_data") / {"nova": f"{task_name}_{split}.jsonl", "trl": f"{task_name}_{split}_trl",
                               "verl": f"{task_name}_{split}.parquet"}[fmt]


def export(task: Any, split: str, out: Path, limit: int | None = None, seed: int = 0,
           min_records: int = MIN_RECORDS, fmt: str = "nova") -> int:
    if fmt not in FORMATS:
        raise ExportError(f"format={fmt!r} is not known; use one of {list(FORMATS)}")
    dataset = task.load(split)
    items = [dict(row) for row in task.select(dataset, limit, seed)]
    records = [rft_record(task, item) for item in items]
    problems = validate_records(records, min_records if fmt == "nova" else 1)  # the 100-record floor is Nova's
    if problems:
        raise ExportError(f"the {split} split of task {task.name} does not make valid {fmt} RFT data:\n  "
                          + "\n  ".join(problems))
    if fmt == "trl":
        return write_trl(task, records, out)
    if fmt == "verl":
        return write_verl(task, records, out, split)
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
        from omegaconf import OmegaConf

        from tasks.registry import build_task

        cfg = OmegaConf.to_container(compose("config", overrides), resolve=True)
        task = build_task(cfg["task"], data_root=cfg.get("data_root"))
        split = own.get("split", "train")
        fmt = own.get("format", "nova")
        if fmt not in FORMATS:
            raise ExportError(f"format={fmt!r} is not known; use one of {list(FORMATS)}")
        out = Path(own.get("out") or default_out(task.name, split, fmt))
        limit = int(own["limit"]) if own.get("limit") not in (None, "", "null") else None
        n = export(task, split, out, limit, int(own.get("seed", 0)), fmt=fmt)
    except (ExportError, ValueError, FileNotFoundError) as exc:
        print(f"rft-evals export-rft: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {n} {fmt} RFT records ({task.name}, {split} split) to {out}")
    return 0
