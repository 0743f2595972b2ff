"""Benchmark the reward Lambda handler against the fake Bedrock judge (tests/fakes/bedrock_server.py).

A 64-sample batch (real contract-review items, gold answers, so no gate cuts the judge out) with the 3 judge
criteria of conf/reward/contract_review.yaml (per_criterion mode: one RubricJudge call per criterion; the fake
judge answers in the verdict format RubricJudge reads, see tests/_reward_helpers.py), judge latency L per call:
  1. all calls answer: handler wall time;
  2. 20% of calls throttled: share of samples with real (non-neutral) rewards, and wall time;
  3. the judge down (every call 503): all samples neutral, returned before the deadline.

    RFT_DATA_DIR=... python scripts/bench_reward.py [--latency 1.0] [--samples 64] [--timeout 20]"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from _reward_helpers import bundle_for, load_task, sample, verdict_by_content  # noqa: E402
from fakes.bedrock_server import FakeBedrock, Script, fault  # noqa: E402
from metrics.reward.lambda_handler import build_judge, handle  # noqa: E402


class Context:
    def __init__(self, seconds: float):
        self.deadline = time.monotonic() + seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


def run(script: Script, task, event, timeout_s: float) -> dict:
    with FakeBedrock(script) as fake:
        bundle = bundle_for(task, "contract_review", endpoint_url=fake.url)
        log = io.StringIO()
        started = time.monotonic()
        results = handle(event, Context(timeout_s), bundle, build_judge(bundle), log_stream=log)
        wall = time.monotonic() - started
        requests = fake.requests()
    real = sum(1 for r in results if not any(m["name"] == "neutral" and m["value"] == 1.0 for m in r["metrics_list"]))
    return {"wall_s": round(wall, 3), "samples": len(results), "real_share": real / len(results),
            "judge_requests": requests, "log": json.loads(log.getvalue())}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latency", type=float, default=1.0)
    parser.add_argument("--samples", type=int, default=64)
    parser.add_argument("--timeout", type=float, default=20.0, help="the Lambda time left at invocation (s)")
    parser.add_argument("--margin-ms", type=float, default=2000.0)
    args = parser.parse_args()
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ["REWARD_DEADLINE_MARGIN_MS"] = str(args.margin_ms)
    task = load_task()
    rows = [r for r in task.rows("test") if r["gold"]]
    rows = (rows * (args.samples // max(1, len(rows)) + 1))[: args.samples]
    event = [sample(task, r, task.render_gold(r)) | {"id": f"{r['id']}#{i}"} for i, r in enumerate(rows)]

    def judge(seed: int = 0, fault_rate: float = 0.0) -> Script:
        return Script(respond=None, default=verdict_by_content("m", {}), fault_rate=fault_rate, seed=seed,
                      latency_s=args.latency)

    report = {
        "latency_s": args.latency, "samples": len(event), "criteria": 3, "timeout_s": args.timeout,
        "ok": run(judge(), task, event, args.timeout),
        "throttled_20pct": run(judge(seed=1, fault_rate=0.2), task, event, args.timeout),
        "judge_down": run(Script(default=fault("ServiceUnavailableException"), latency_s=args.latency), task, event,
                          args.timeout),
    }
    report["checks"] = {
        "ok_under_3s": report["ok"]["wall_s"] < 3.0,
        "throttled_real_share_ge_99pct": report["throttled_20pct"]["real_share"] >= 0.99,
        "judge_down_all_neutral_before_deadline": report["judge_down"]["real_share"] == 0.0
        and report["judge_down"]["wall_s"] < args.timeout,
    }
    for part in ("ok", "throttled_20pct", "judge_down"):
        report[part].pop("log")
    print(json.dumps(report, indent=1))
    return 0 if all(report["checks"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
