"""`rft-evals reward bundle|invoke`: build the reward Lambda's bundle from the task and reward configs, and
run the handler locally on an event file (as `sam local invoke` would, without Docker).

    rft-evals reward bundle --task nda_policy --out build/reward_bundle.json   # reward: nda_policy_deterministic
    rft-evals reward bundle --task my_tasks/clause_type.yaml                 # a config task's spec file
    rft-evals reward invoke --event event.json [--bundle build/reward_bundle.json | --task T --reward NAME]

Without --reward, a task's reward is conf/reward/<task kind>_deterministic.yaml (contract_review:
contract_review_deterministic)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from evals.rft.bundle import LAMBDA_TIMEOUT_S, bundle_from_configs, invoke
from metrics.reward.bundle import RewardBundle
from metrics.reward.config import RewardConfigError


def _cmd_bundle(args: argparse.Namespace) -> int:
    from evals.judging.calibration import check_calibration

    bundle = bundle_from_configs(args.task, args.reward, args.data_root)
    calibrated = check_calibration(bundle.reward)  # a judge below its judge.calibration bar is refused here
    if calibrated is not None:
        print(calibrated.summary())
    path = bundle.write(args.out)
    print(f"reward bundle for task {bundle.task}, reward {bundle.reward.name} -> {path}")
    return 0


def _cmd_invoke(args: argparse.Namespace) -> int:
    try:
        event = json.loads(Path(args.event).read_text(encoding="utf-8"))
    except FileNotFoundError:
        print(f"rft-evals reward invoke: event file {args.event} does not exist", file=sys.stderr)
        return 2
    except json.JSONDecodeError as exc:
        print(f"rft-evals reward invoke: event file {args.event} is not JSON: {exc}", file=sys.stderr)
        return 2
    bundle = (RewardBundle.from_json(args.bundle) if args.bundle
              else bundle_from_configs(args.task, args.reward, args.data_root))
    from metrics.reward.batch import MalformedEventError

    try:
        results = invoke(event, bundle, args.timeout_s)
    except MalformedEventError as exc:
        print(f"rft-evals reward invoke: {args.event}: {exc}", file=sys.stderr)
        return 2
    text = json.dumps(results, indent=1)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
    else:
        print(text)
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["audit"]:  # key=value arguments, like `rft-evals run` (evals/reward_audit/cli.py)
        from evals.reward_audit.cli import main as audit_main

        return audit_main(argv[1:])
    parser = argparse.ArgumentParser(prog="rft-evals reward", description="The reward Lambda: bundle and run it.")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, help_text, func in (("bundle", "write the Lambda's reward bundle JSON", _cmd_bundle),
                                  ("invoke", "run the handler locally on an event file", _cmd_invoke)):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("--task", default="contract_review",
                       help="conf/task/<name>.yaml, a path, or a config task's spec file")
        p.add_argument("--reward", default=None,
                       help="conf/reward/<name>.yaml or a path; default: <task kind>_deterministic")
        p.add_argument("--data-root", default=None, help="default: $RFT_DATA_DIR")
        p.set_defaults(func=func)
    sub.choices["bundle"].add_argument("--out", default="build/reward_bundle.json")
    invoke_parser = sub.choices["invoke"]
    invoke_parser.add_argument("--event", required=True, help="a JSON file holding the event (a list of samples)")
    invoke_parser.add_argument("--bundle", default=None, help="a built bundle; default: built from --task/--reward")
    invoke_parser.add_argument("--timeout-s", type=float, default=LAMBDA_TIMEOUT_S)
    invoke_parser.add_argument("--out", default=None, help="write the results here instead of stdout")
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except (RewardConfigError, FileNotFoundError, ValueError) as exc:
        print(f"rft-evals reward {args.command}: {exc}", file=sys.stderr)
        return 2
