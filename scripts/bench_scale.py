"""Benchmark the runner at scale with an instant in-process model (not a test).

For each size N (1,000, 10,000 and 100,000 items by default), a fresh Python process runs the real runner
(`evals.run.runner.evaluate_candidate`) on the contract_review task: N items made by cycling the fold's test
windows (each copy gets a unique id and a unique document line, so every request has its own cache key), the
`instant` provider answering each with the item's gold answer, the task's real scoring, records streamed to
JSONL, and the SQLite generation cache in a temporary folder. Two passes over the same items:

1. first pass: every call misses the cache, is answered and written to the cache;
2. cached pass: a new run folder, the same cache: every call is a cache hit, none reaches the model.

Per size it prints one JSON line (items/s of each pass, the time one cache hit takes, peak RSS of the process,
records and cache file sizes), then one JSON line with all sizes, then a table on stderr. Each size runs in
its own process so its peak RSS (VmHWM) is its own.

    python scripts/bench_scale.py --sizes 1000 10000 100000
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # `evals` and `tasks` without an install

from evals.inference.cache import GenerationCache  # noqa: E402
from evals.run.items import DatasetItems  # noqa: E402
from evals.providers.base import Generation  # noqa: E402

DEFAULT_SIZES = (1_000, 10_000, 100_000)
MODEL = {"name": "instant", "provider": "instant", "answer": "gold", "role": "candidate", "few_shot": 0,
         "max_tokens": 512, "temperature": 0.0, "max_concurrency": 1}


class CycledItems(DatasetItems):
    """N items over a task's windows, cycled: a `select()` of the base dataset (an index mapping, no copy of
    the rows) whose rows get their copy number in the id and in the document when read, so no N Python dicts
    or N Arrow rows are ever held."""

    def __init__(self, base: Any, n: int, batch_size: int = 1024):
        super().__init__(base.select([i % len(base) for i in range(n)]), batch_size)
        self._base_len = len(base)

    def _copy(self, row: dict[str, Any], position: int) -> dict[str, Any]:
        copy = position // self._base_len
        if copy:  # copy 0 is the real window; the others differ in one line, so each has its own cache key
            row["id"] = f"{row['id']}~{copy}"
            row["document"] = f"{row['document']}\n(copy {copy})"
        return row

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice):
            positions = range(*index.indices(len(self)))
            rows = super().__getitem__(index)
            return [self._copy(row, p) for row, p in zip(rows, positions, strict=True)]
        return self._copy(dict(self._dataset[index]), index)

    def ids(self) -> list[str]:
        base = self._base_len
        return [f"{x}~{p // base}" if p >= base else x for p, x in enumerate(super().ids())]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for position, row in enumerate(super().__iter__()):
            yield self._copy(row, position)


class TimedCache(GenerationCache):
    """The real cache, with the time spent in get() added up (the cache-hit cost per item)."""

    def __init__(self, path: Path):
        super().__init__(path)
        self.get_s = 0.0
        self.gets = 0

    def get(self, key: str) -> Generation | None:
        start = time.perf_counter()
        try:
            return super().get(key)
        finally:
            self.get_s += time.perf_counter() - start
            self.gets += 1


def _status_mb(field: str) -> float | None:
    """A size field of /proc/self/status (e.g. VmRSS) in MB; None where /proc or the field is missing."""
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith(f"{field}:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _vm_hwm_mb() -> float:
    """Peak resident set of this process (VmHWM), from /proc; ru_maxrss where /proc is missing."""
    peak = _status_mb("VmHWM")
    return peak if peak is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _rss_mb() -> float:
    rss = _status_mb("VmRSS")
    return rss if rss is not None else float("nan")


def _proc_stat() -> list[int]:
    try:
        with open("/proc/stat") as handle:
            return [int(x) for x in handle.readline().split()[1:9]]
    except OSError:
        return []


def _busy_cores(before: list[int], after: list[int]) -> float | None:
    """Cores the whole machine kept busy between two /proc/stat reads (user nice system idle iowait ...):
    on a shared machine, other jobs take CPU from the benchmark and its items/s drop with it."""
    deltas = [b - a for a, b in zip(before, after, strict=True)] if before and after else []
    total = sum(deltas)
    return round((total - deltas[3] - deltas[4]) / total * (os.cpu_count() or 1), 2) if total else None


def _size_mb(*paths: Path) -> float:
    return sum(p.stat().st_size for p in paths if p.exists()) / 1e6


def _pass(task: Any, items: CycledItems, cache: TimedCache, run_dir: Path, args: argparse.Namespace,
          data_root: Path) -> dict[str, Any]:
    from evals.providers.registry import ProviderContext
    from evals.run.runner import RunSettings, evaluate_candidate

    settings = RunSettings(seed=0, bootstrap_resamples=args.resamples, run_dir=run_dir, chunk_size=args.chunk_size,
                           keep_full_records=args.keep_full_records)
    context = ProviderContext(task=task, data_root=data_root, seed=0)
    gets_before, get_s_before = cache.gets, cache.get_s
    cpu, stat = time.process_time(), _proc_stat()
    start = time.perf_counter()
    result = evaluate_candidate(task, items, "instant", MODEL, context=context, cache=cache, settings=settings)
    wall = time.perf_counter() - start
    cpu = time.process_time() - cpu
    machine = _busy_cores(stat, _proc_stat())
    n = len(items)
    scored = sum(1 for r in result.records if r.scored)
    if len(result.records) != n or scored != n:
        raise RuntimeError(f"{n} items gave {len(result.records)} records, {scored} scored; errors "
                           f"{result.errors}")
    gets = cache.gets - gets_before
    records_path = result.records_path or run_dir / "records" / "instant.jsonl"
    f1 = next((e.value for e in result.estimates if e.name == "risk_f1"), None)
    return {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "items_per_s": round(n / wall, 1),
            "items_per_cpu_s": round(n / cpu, 1) if cpu else None,
            "ms_per_item": round(wall / n * 1000, 3), "model_calls": result.model_calls,
            "cached": sum(1 for r in result.records if r.cached),
            "cache_get_ms": round((cache.get_s - get_s_before) / max(gets, 1) * 1000, 4),
            "records_mb": round(_size_mb(records_path), 1), "risk_f1": f1,
            "rss_after_mb": round(_rss_mb(), 1), "own_cores": round(cpu / wall, 2), "machine_busy_cores": machine}


def child(n: int, args: argparse.Namespace) -> dict[str, Any]:
    """One size, in this process: set up, first pass, cached pass, sizes."""
    from tasks.registry import build_task

    from tasks.data_root import data_root as configured_root

    data_root = configured_root()
    task = build_task({"kind": "contract_review", "name": "contract_review", "split": "test"}, data_root=data_root)
    base = task.load("test")
    items = CycledItems(base, n)
    task.aggregates()  # metrics modules imported before the clock starts
    with tempfile.TemporaryDirectory(prefix="bench-scale-", dir=args.tmp) as tmp:
        root = Path(tmp)
        cache_path = root / "cache.sqlite"
        rss_setup = _rss_mb()
        cache = TimedCache(cache_path)
        try:
            first = _pass(task, items, cache, root / "run1", args, data_root)
            second = _pass(task, items, cache, root / "run2", args, data_root)
            entries = len(cache)
        finally:
            cache.close()
        cache_mb = _size_mb(cache_path, cache_path.with_name(cache_path.name + "-wal"))
    if first["model_calls"] != n or second["model_calls"] != 0 or second["cached"] != n:
        raise RuntimeError(f"expected {n} model calls then none; got {first['model_calls']} and "
                           f"{second['model_calls']} ({second['cached']} cached)")
    return {"n": n, "first": first, "cached": second, "cache_entries": entries, "cache_mb": round(cache_mb, 1),
            "rss_setup_mb": round(rss_setup, 1), "peak_rss_mb": round(_vm_hwm_mb(), 1),
            "chunk_size": args.chunk_size, "keep_full_records": args.keep_full_records,
            "bootstrap_resamples": args.resamples, "loadavg_1m": round(os.getloadavg()[0], 2)}


def run_size(n: int, args: argparse.Namespace) -> dict[str, Any]:
    command = [sys.executable, str(Path(__file__).resolve()), "--child", str(n), "--chunk-size", str(args.chunk_size),
               "--keep-full-records", str(args.keep_full_records), "--resamples", str(args.resamples)]
    if args.tmp:
        command += ["--tmp", args.tmp]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"size {n} failed (exit {done.returncode}):\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def table(rows: list[Mapping[str, Any]]) -> str:
    head = ("N", "items/s first (per CPU-s)", "items/s cached (per CPU-s)", "cache hit ms/item", "peak RSS MB",
            "records MB", "cache MB")
    lines = [" | ".join(head), " | ".join("---" for _ in head)]
    for r in rows:
        first, cached = r["first"], r["cached"]
        lines.append(" | ".join(str(x) for x in (
            f"{r['n']:,}", f"{first['items_per_s']} ({first['items_per_cpu_s']})",
            f"{cached['items_per_s']} ({cached['items_per_cpu_s']})", cached["cache_get_ms"],
            r["peak_rss_mb"], first["records_mb"], r["cache_mb"])))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES))
    parser.add_argument("--chunk-size", type=int, default=2048, help="RunSettings.chunk_size")
    parser.add_argument("--keep-full-records", type=int, default=20_000, help="RunSettings.keep_full_records")
    parser.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples per metric")
    parser.add_argument("--tmp", default=None, help="folder for the temporary run folders and cache")
    parser.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        print(json.dumps(child(args.child, args)), flush=True)
        return 0
    rows = []
    for n in args.sizes:
        row = run_size(n, args)
        rows.append(row)
        print(json.dumps(row), flush=True)
    print(json.dumps({"sizes": rows, "cpus": os.cpu_count(), "loadavg": [round(x, 2) for x in os.getloadavg()]}))
    print(table(rows), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
