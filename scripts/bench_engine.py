"""Benchmark the engine + Bedrock provider against the fake Bedrock runtime (not a test).

Three measurements, printed as one JSON line:
1. throughput: fixed server latency L and concurrency C; achieved calls/s as a fraction of the ideal C/L,
   over the whole run (ramp and drain included) and in its steady middle 60%; the client's and the
   server's CPU per call; the CPU other jobs took from the machine meanwhile;
2. overhead: L = 0, one call at a time: what the harness (engine + boto3 + loopback HTTP) costs per call;
   plus the calls/s it can push at concurrency C;
3. throttling: L and C again, with a share of requests answered ThrottlingException (429): completion
   rate, retries, wall time, with the backoff of conf/model/nova_2_lite.yaml.

The fake server runs in its own process, as a remote endpoint would, so its CPU does not compete with the
client for one interpreter lock. The client is the real boto3 client, built by evals.providers.bedrock.build.

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
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # `evals` and `tests.fakes` without an install

from evals.inference.engine import CallOutcome, Engine, EngineSettings  # noqa: E402
from evals.providers.base import GenerationRequest  # noqa: E402
from evals.providers.bedrock import build  # noqa: E402
from evals.providers.registry import ProviderContext  # noqa: E402
from evals.inference.usage import percentile  # noqa: E402

MODEL_CONFIG = REPO / "conf" / "model" / "nova_2_lite.yaml"
PARTS = ("throughput", "overhead", "throttling")


@dataclass(frozen=True)
class ServerProcess:
    url: str
    pid: int

    def cpu_s(self) -> float:
        return process_cpu_s(self.pid)


def process_cpu_s(pid: int) -> float:
    """CPU time (user + system) a process has used so far, from /proc; NaN elsewhere."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def fake_server(latency_ms: float, throttle_rate: float = 0.0, seed: int = 0) -> Iterator[ServerProcess]:
    """Start tests/fakes/bedrock_server.py in a child process; yield its URL and pid; stop it on exit."""
    command = [sys.executable, "-m", "tests.fakes.bedrock_server", "--latency-ms", str(latency_ms),
               "--throttle-rate", str(throttle_rate), "--seed", str(seed)]
    child = subprocess.Popen(command, cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        url = child.stdout.readline().strip() if child.stdout else ""
        if not url.startswith("http://"):
            raise RuntimeError(f"the fake Bedrock server did not start (printed {url!r})")
        yield ServerProcess(url, child.pid)
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


def model_config(url: str, concurrency: int, client_processes: int | None = None) -> dict[str, Any]:
    from omegaconf import OmegaConf

    config = OmegaConf.to_container(OmegaConf.load(MODEL_CONFIG), resolve=True)
    assert isinstance(config, dict)
    config.update(endpoint_url=url, max_concurrency=concurrency, region="us-east-1", profile=None,
                  requests_per_minute=None, tokens_per_minute=None)
    if client_processes is not None:
        config["client_processes"] = client_processes
    return config


def requests(n: int) -> list[GenerationRequest]:
    return [GenerationRequest(item_id=f"bench-{i}", max_tokens=64,
                              messages=({"role": "user", "content": f"bench request {i}"},)) for i in range(n)]


def stats_delta(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    outcomes = {k: v - before["outcomes"].get(k, 0) for k, v in after["outcomes"].items()}
    return {"total": after["total"] - before["total"], "outcomes": outcomes,
            "peak_in_flight": after["peak_in_flight"]}


def run_engine(server: ServerProcess, calls: int, concurrency: int,
               client_processes: int | None = None) -> tuple[list[CallOutcome], float, dict[str, Any]]:
    """Outcomes, wall time and what the server saw, for `calls` calls after a warm-up wave."""
    config = model_config(server.url, concurrency, client_processes)
    provider = build(config, ProviderContext(task=None))
    workers = provider.worker_pids
    engine = Engine(provider, EngineSettings.from_config(config))
    # One wave of warm-up calls outside the clock: imports, the first signature and opening the C
    # pooled connections are paid once per process, not per call of a long run.
    engine.run(requests(concurrency), progress=None)
    before = server_stats(server.url)
    batch = requests(calls)
    server_cpu = server.cpu_s()
    finished_at: list[float] = []  # seconds from the start at which each outcome came back
    outcomes: list[CallOutcome] = []
    worker_cpu = sum(process_cpu_s(pid) for pid in workers)
    started, cpu = time.perf_counter(), time.process_time()
    for outcome in engine.run_iter(batch, progress=None):
        finished_at.append(time.perf_counter() - started)
        outcomes.append(outcome)
    wall = time.perf_counter() - started
    outcomes.sort(key=lambda o: o.index)
    stats = stats_delta(before, server_stats(server.url))
    stats["finished_at"] = finished_at
    # this process (engine + boto3) and, with client_processes > 1, its boto3 worker processes
    stats["client_cpu_s"] = time.process_time() - cpu + sum(process_cpu_s(pid) for pid in workers) - worker_cpu
    provider.close()
    stats["server_cpu_s"] = server.cpu_s() - server_cpu  # the stand-in for the remote service
    return outcomes, wall, stats


def steady_state_rate(finished_at: list[float], wall: float, edge: float = 0.2) -> float:
    """Completions per second in the middle of the run, leaving out the first and last `edge` of the wall
    time: the ramp (the first C requests are prepared one after another under one interpreter lock) and
    the drain (fewer than C calls left in flight) that the whole-run figure includes."""
    low, high = wall * edge, wall * (1.0 - edge)
    return sum(low <= t < high for t in finished_at) / (high - low) if high > low else float("nan")


def _ms_per_call(seconds: float, calls: int) -> float:
    return round(seconds / calls * 1000.0, 3)


def bench_throughput(latency_ms: float, concurrency: int, calls: int,
                     client_processes: int | None = None) -> dict[str, Any]:
    with MachineLoad() as load, fake_server(latency_ms) as server:
        outcomes, wall, stats = run_engine(server, calls, concurrency, client_processes)
    ideal = concurrency / (latency_ms / 1000.0)
    achieved = calls / wall
    latencies = [o.latency_ms for o in outcomes if o.ok]
    steady = steady_state_rate(stats["finished_at"], wall)
    return {"calls": calls, "client_processes": client_processes or 1, "ok": sum(o.ok for o in outcomes),
            "wall_s": round(wall, 3), "throughput_per_s": round(achieved, 1), "ideal_per_s": round(ideal, 1),
            "fraction_of_ideal": round(achieved / ideal, 4),
            "steady_state_per_s": round(steady, 1), "steady_state_fraction_of_ideal": round(steady / ideal, 4),
            "server_peak_in_flight": stats["peak_in_flight"],
            "call_latency_ms_p50": round(percentile(latencies, 50), 1),
            "call_latency_ms_p99": round(percentile(latencies, 99), 1),
            "client_cpu_ms_per_call": _ms_per_call(stats["client_cpu_s"], calls),
            "server_cpu_ms_per_call": _ms_per_call(stats["server_cpu_s"], calls), **load.figures}


def bench_overhead(concurrency: int, calls: int) -> dict[str, Any]:
    with fake_server(0.0) as server:
        _, serial_wall, serial = run_engine(server, calls, 1)
        _, parallel_wall, parallel = run_engine(server, calls * 4, concurrency)
    return {"calls": calls, "overhead_ms_per_call": _ms_per_call(serial_wall, calls),
            "client_cpu_ms_per_call": _ms_per_call(serial["client_cpu_s"], calls),
            "server_cpu_ms_per_call": _ms_per_call(serial["server_cpu_s"], calls),
            "max_throughput_per_s_at_c": round(calls * 4 / parallel_wall, 1),
            "client_cpu_ms_per_call_at_c": _ms_per_call(parallel["client_cpu_s"], calls * 4)}


def bench_throttling(latency_ms: float, concurrency: int, calls: int, rate: float, seed: int) -> dict[str, Any]:
    with fake_server(latency_ms, throttle_rate=rate, seed=seed) as server:
        outcomes, wall, stats = run_engine(server, calls, concurrency)
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
    parser.add_argument("--client-processes", type=int, default=None,
                        help="the throughput part's client_processes (default: the model config's, 1)")
    parser.add_argument("--only", action="append", choices=PARTS,
                        help="run only this part (repeatable); default: all three")
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
    parts = {
        "throughput": lambda: bench_throughput(args.latency_ms, args.concurrency, args.calls,
                                               args.client_processes),
        "overhead": lambda: bench_overhead(args.concurrency, args.overhead_calls),
        "throttling": lambda: bench_throttling(args.latency_ms, args.concurrency, args.calls, args.throttle_rate,
                                               args.seed),
    }
    figures: dict[str, Any] = {
        "latency_ms": args.latency_ms, "concurrency": args.concurrency, "load_avg_1m": os.getloadavg()[0],
        "cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
    }
    for name in args.only or PARTS:
        figures[name] = parts[name]()
    print(json.dumps(figures), flush=True)
    return figures


if __name__ == "__main__":
    main()
