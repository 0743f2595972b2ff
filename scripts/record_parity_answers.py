"""Record SmolLM2-135M-Instruct answers for the parity matrix (tests/test_parity_matrix.py), so the test scores
real model output without loading the model. Runs the project's llama.cpp provider (conf/model/smollm2.yaml)
on `--items` items of each task's test split (task.select, seed 0), zero-shot, schema-constrained, greedy.
Recorded here on 2 busy cores: 10 answers in about 13 minutes.

    RFT_DATA_DIR=... python scripts/record_parity_answers.py [--items 2] [--max-tokens 200]
        [--out tests/fixtures/parity_smollm2.jsonl]

Each line: {"task", "item_id", "model", "max_tokens", "output", "stop_reason"}. The config task is the one the
test builds (tests/_task_matrix.py)."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=2)  # items <= 100: the test's export keeps the first 100
    parser.add_argument("--max-tokens", type=int, default=200)
    parser.add_argument("--out", default=str(ROOT / "tests/fixtures/parity_smollm2.jsonl"))
    args = parser.parse_args(argv)

    from _task_matrix import EVERY_TASK, build, write_config_task
    from evals.providers.base import GenerationRequest
    from evals.providers.registry import ProviderContext, build_provider
    from tasks.data_root import data_root

    root = data_root()
    model_cfg = yaml.safe_load((ROOT / "conf/model/smollm2.yaml").read_text(encoding="utf-8"))
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        spec = write_config_task(root, Path(tmp) / "config_task")
        for name in EVERY_TASK:
            task = build(name, root, spec)
            provider = build_provider(model_cfg, ProviderContext(task, root))
            items = [dict(r) for r in task.select(task.load("test"), args.items, 0)]
            for item in items:
                started = time.monotonic()
                request = GenerationRequest(item_id=str(item["id"]), messages=tuple(task.messages(item)),
                                            schema=task.output_schema(), max_tokens=args.max_tokens, seed=0)
                generation = provider.generate(request)
                lines.append({"task": name, "item_id": str(item["id"]), "model": model_cfg["name"],
                              "max_tokens": args.max_tokens, "output": generation.text,
                              "stop_reason": generation.stop_reason})
                print(f"{name} {item['id']}: {len(generation.text)} chars, {generation.stop_reason}, "
                      f"{time.monotonic() - started:.1f} s", flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8")
    print(f"wrote {len(lines)} answers to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
