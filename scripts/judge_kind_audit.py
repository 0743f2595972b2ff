"""Print the reward audit's judge table for every judge kind (scripted judges, offline): each judge-aimed
policy's mean reward under an honest, a fooled, and (preference) a length- and a position-biased judge.

    python scripts/judge_kind_audit.py [--limit 40] [--seed 0] [--reward contract_review_scale ...]

The tables in docs/judges_in_rewards.md come from this script."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from evals.reward_audit.judge_audit import load_probes  # noqa: E402
from evals.reward_audit.judge_kinds import audit_policies, behaviour_table, to_markdown  # noqa: E402
from evals.reward_audit.runner import build_audit  # noqa: E402
from evals.rft.bundle import load_reward_config  # noqa: E402

REWARDS = ("contract_review", "contract_review_scale", "contract_review_preference")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=40, help="test windows (a seeded sample)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--task", default="conf/task/contract_review.yaml")
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--reward", action="append", help="a reward config (repeatable); default: all three")
    args = parser.parse_args(argv)
    cfg = yaml.safe_load(Path(args.task).read_text(encoding="utf-8"))
    probes = load_probes()
    policies = None
    for name in args.reward or REWARDS:
        started = time.monotonic()
        task, bundle, items = build_audit(cfg, load_reward_config(name), limit=args.limit, seed=args.seed,
                                          data_root=args.data_root)
        policies = policies or audit_policies(task, items, probes)  # the same answers for every kind
        table = behaviour_table(task, bundle, items, probes, policies)
        print(f"\n### reward {name}\n")
        print("\n".join(to_markdown(table)))
        print(f"\n({table['judge_calls']} scripted judge calls, {time.monotonic() - started:.0f} s)", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
