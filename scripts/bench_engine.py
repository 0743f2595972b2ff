"""Benchmark the engine + Bedrock provider against the fake Bedrock runtime (not a test).

Three measurements, printed as one JSON line:
1. throughput: fixed server latency L and concurrency C; achieved calls/s as a fraction of the ideal C/L;
2. overhead: L = 0, one call at a time: what the harness (engine + boto3 + loopback HTTP) costs per call;
   plus the calls/s it can push at concurrency C;
3. throttling: L and C again, with a share of requests answered ThrottlingException (429): completion
   rate, retries, wall time, with the backoff of conf/model/nova_2_lite.yaml.

The fake server runs in its own process, as a remote endpoint would, so its CPU does not compete with the
client for one interpreter lock. The client is the real boto3 client, built by evals.providers.bedrock.

    python scripts/bench_engine.py --latency-ms 200 --concurrency 64
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Self

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # `evals` and `tests.fakes` without an install

from evals.engine import CallOutcome, Engine, EngineSettings  # noqa: E402
from evals.providers.base import GenerationRequest  # noqa: E402
from evals.providers.bedrock import build  # noqa: E402
from evals.providers.registry import ProviderContext  # noqa: E402

MODEL_CONFIG = REPO / "conf" / "model" / "nova_2_lite.yaml"


@contextmanager
def fake_server(latency_ms: float, throttle_rate: float = 0.0, seed: int = 0) -> Iterator[str]:
    """Start tests/fakes/bedrock_server.py in a child process; yield its URL; stop it on exit."""
    command = [sys.executable, "-m", "tests.fakes.bedrock_server", "--latency-ms", str(latency_ms),
               "--throttle-rate", str(throttle_rate), "--seed", str(seed)]
    child = subprocess.Popen(command, cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        url = child.stdout.readline().strip() if child.stdout else ""
        if not url.startswith("http://"):
            raise RuntimeError(f"the fake Bedrock server did not start (printed {url!r})")
        yield url
    finally:
        if child.stdin:
            child.stdin.close()  # the server stops when its stdin closes
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


class MachineLoad:
    """CPU used on the whole machine versus by this benchmark (itself and its server), over a block:
    on a shared machine, other jobs take cores from the client and distort the figures."""

    def __enter__(self) -> Self:
        self._stat, self._own, self._wall = self._proc_stat(), self._own_cpu(), time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        wall = time.perf_counter() - self._wall
        stat = self._proc_stat()
        deltas = [b - a for a, b in zip(self._stat, stat, strict=True)] if stat and self._stat else []
        total = sum(deltas)
        cpus = os.cpu_count() or 1
        # /proc/stat fields: user nice system idle iowait irq softirq steal ...
        busy = (total - deltas[3] - deltas[4]) / total * cpus if total else float("nan")
        own = (self._own_cpu() - self._own) / wall if wall else float("nan")
        self.figures = {"machine_busy_cores": round(busy, 2), "bench_busy_cores": round(own, 2),
                        "other_busy_cores": round(max(0.0, busy - own), 2)}

    @staticmethod
    def _proc_stat() -> list[int]:
        try:
            with open("/proc/stat") as handle:
                return [int(x) for x in handle.readline().split()[1:9]]
        except OSError:
            return []

    @staticmethod
    def _own_cpu() -> float:
        import resource

        me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def server_stats(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{url}/_fake/stats", timeout=10) as response:
        return json.load(response)


def model_config(url: str, concurrency: int) -> dict[str, Any]:
    from omegaconf import OmegaConf

    config = OmegaConf.to_container(OmegaConf.load(MODEL_CONFIG), resolve=True)
    assert isinstance(config, dict)
    config.update(endpoint_url=url, max_concurrency=concurrency, region="us-east-1", profile=None,
                  requests_per_minute=None, tokens_per_minute=None)
    return config


def requests(n: int) -> list[GenerationRequest]:
    return [GenerationRequest(item_id=f"bench-{i}", max_tokens=64,
                              messages=({"role": "user", "content": f"bench request {i}"},)) for i in range(n)]


def stats_delta(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    outcomes = {k: v - before["outcomes"].get(k, 0) for k, v in after["outcomes"].items()}
    return {"total": after["total"] - before["total"], "outcomes": outcomes,
            "peak_in_flight": after["peak_in_flight"]}


def run_engine(url: str, calls: int, concurrency: int) -> tuple[list[CallOutcome], float, dict[str, Any]]:
    """Outcomes, wall time and what the server saw, for `calls` calls after a warm-up wave."""
    config = model_config(url, concurrency)
    provider = build(config, ProviderContext(task=None))
    engine = Engine(provider, EngineSettings.from_config(config))
    # One wave of warm-up calls outside the clock: imports, the first signature and opening the C
    # pooled connections are paid once per process, not per call of a long run.
    engine.run(requests(concurrency), progress=None)
    before = server_stats(url)
    batch = requests(calls)
    started, cpu = time.perf_counter(), time.process_time()
    outcomes = engine.run(batch, progress=None)
    wall = time.perf_counter() - started
    stats = stats_delta(before, server_stats(url))
    stats["client_cpu_s"] = time.process_time() - cpu  # this process only: engine + boto3
    return outcomes, wall, stats


def bench_throughput(latency_ms: float, concurrency: int, calls: int) -> dict[str, Any]:
    with MachineLoad() as load, fake_server(latency_ms) as url:
        outcomes, wall, stats = run_engine(url, calls, concurrency)
    ideal = concurrency / (latency_ms / 1000.0)
    achieved = calls / wall
    return {"calls": calls, "ok": sum(o.ok for o in outcomes), "wall_s": round(wall, 3),
            "throughput_per_s": round(achieved, 1), "ideal_per_s": round(ideal, 1),
            "fraction_of_ideal": round(achieved / ideal, 4), "server_peak_in_flight": stats["peak_in_flight"],
            "client_cpu_ms_per_call": round(stats["client_cpu_s"] / calls * 1000.0, 3), **load.figures}


def bench_overhead(concurrency: int, calls: int) -> dict[str, Any]:
    with fake_server(0.0) as url:
        _, serial_wall, serial = run_engine(url, calls, 1)
        _, parallel_wall, parallel = run_engine(url, calls * 4, concurrency)
    return {"calls": calls, "overhead_ms_per_call": round(serial_wall / calls * 1000.0, 3),
            "client_cpu_ms_per_call": round(serial["client_cpu_s"] / calls * 1000.0, 3),
            "max_throughput_per_s_at_c": round(calls * 4 / parallel_wall, 1),
            "client_cpu_ms_per_call_at_c": round(parallel["client_cpu_s"] / (calls * 4) * 1000.0, 3)}


def bench_throttling(latency_ms: float, concurrency: int, calls: int, rate: float, seed: int) -> dict[str, Any]:
    with fake_server(latency_ms, throttle_rate=rate, seed=seed) as url:
        outcomes, wall, stats = run_engine(url, calls, concurrency)
    attempts = sum(o.attempts for o in outcomes)
    errors: dict[str, int] = {}
    for outcome in outcomes:
        if outcome.error is not None:
            errors[str(outcome.error.kind)] = errors.get(str(outcome.error.kind), 0) + 1
    return {"calls": calls, "throttle_rate": rate, "outcomes": len(outcomes),
            "completion_rate": round(sum(o.ok for o in outcomes) / calls, 4), "errors": errors,
            "retries": attempts - calls, "server_throttled": stats["outcomes"].get("ThrottlingException", 0),
            "server_requests": stats["total"],
            "max_attempts_seen": max(o.attempts for o in outcomes), "wall_s": round(wall, 3),
            "ideal_wall_s_without_throttling": round(calls / concurrency * latency_ms / 1000.0, 3)}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--latency-ms", type=float, default=200.0, help="server latency L per call")
    parser.add_argument("--concurrency", type=int, default=64, help="calls in flight C")
    parser.add_argument("--calls", type=int, default=1280, help="calls in the throughput and throttling runs")
    parser.add_argument("--overhead-calls", type=int, default=300, help="serial calls at L = 0")
    parser.add_argument("--throttle-rate", type=float, default=0.2, help="share of requests throttled")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def use_dummy_credentials() -> None:
    """Sign with throwaway keys: the fake server never checks them, and real ones must not leave here."""
    for var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_BEDROCK_RUNTIME"):
        os.environ.pop(var, None)
    os.environ.update(AWS_ACCESS_KEY_ID="AKIDBENCHFAKE", AWS_SECRET_ACCESS_KEY="bench-not-a-secret",
                      AWS_EC2_METADATA_DISABLED="true")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    use_dummy_credentials()
    if args.latency_ms <= 0:
        raise SystemExit("--latency-ms must be > 0 (the overhead run uses L = 0 on its own)")
    figures = {
        "latency_ms": args.latency_ms, "concurrency": args.concurrency, "load_avg_1m": os.getloadavg()[0],
        "cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "throughput": bench_throughput(args.latency_ms, args.concurrency, args.calls),
        "overhead": bench_overhead(args.concurrency, args.overhead_calls),
        "throttling": bench_throttling(args.latency_ms, args.concurrency, args.calls, args.throttle_rate,
                                       args.seed),
    }
    print(json.dumps(figures), flush=True)
    return figures


if __name__ == "__main__":
    main()
