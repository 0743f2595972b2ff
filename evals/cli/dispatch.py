"""`rft-evals` command line: a registry of subcommands. Hydra-driven commands take `key=value` overrides;
the others take ordinary flags."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

USAGE = """usage: rft-evals COMMAND [ARGS]

commands:
  run      evaluate candidates on a task (Hydra overrides: task=... candidates=... limit=... seed=...)
           resume an interrupted run: rft-evals run resume=RUN_DIR (or its MLflow run id)
  sync     upload a run folder to MLflow after a tracking outage: rft-evals sync RUN_DIR [--tracking-uri URI]
  judge-eval  measure an LLM judge against labels (judge=... data=llmbar|contract_review compare=[...])
  data     fetch or check the data sets (rft-evals data fetch [--from DIR] | rft-evals data check)
  export-rft  write RFT training data (task=... split=train [format=nova|trl|verl] [out=PATH] [limit=N])
  reward   the reward Lambda: rft-evals reward bundle [--reward NAME] | rft-evals reward invoke --event FILE
           | rft-evals reward audit task=T reward=R (is the reward worth maximising? docs/reward_design.md)
  batch    Bedrock batch inference: rft-evals batch write|submit|status|collect|score (see docs/scaling.md)
  nightly  the nightly regression suite: rft-evals nightly suite=local|nightly [overrides]; exit 1 on a regression
  compare  paired comparison and gate of two runs: rft-evals compare RUN_A RUN_B (folders or MLflow run ids)
  train    train base -> SFT -> RFT and serve them as GGUFs (needs the train extra; docs/training.md)
  sweep    evaluate every saved RFT checkpoint on the same items; reward and metrics vs step (docs/training.md)

`rft-evals COMMAND --help` tells more.
"""


def _data(argv: list[str]) -> int:
    from evals.cli.data import add_data_commands

    parser = argparse.ArgumentParser(prog="rft-evals data", description="Fetch or check the data sets.")
    add_data_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


COMMANDS: dict[str, Callable[[list[str]], int]] = {
    "run": lambda argv: __import__("evals.cli.run", fromlist=["main"]).main(argv),
    "data": _data,
    "judge-eval": lambda argv: __import__("evals.suite.judge_eval", fromlist=["cli"]).cli(argv),
    "export-rft": lambda argv: __import__("evals.rft.export", fromlist=["main"]).main(argv),
    "sync": lambda argv: __import__("evals.run.sync", fromlist=["main"]).main(argv),
    "reward": lambda argv: __import__("evals.cli.reward", fromlist=["main"]).main(argv),
    "batch": lambda argv: __import__("evals.cli.batch", fromlist=["main"]).main(argv),
    "nightly": lambda argv: __import__("evals.suite.nightly", fromlist=["cli"]).cli(argv),
    "compare": lambda argv: __import__("evals.suite.compare", fromlist=["main"]).main(argv),
    "train": lambda argv: __import__("evals.training.command", fromlist=["cli"]).cli(argv),
    "sweep": lambda argv: __import__("evals.training.sweep", fromlist=["cli"]).cli(argv),
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(USAGE)
        return 0
    command = COMMANDS.get(argv[0])
    if command is None:
        print(f"rft-evals: unknown command {argv[0]!r}; choose one of {', '.join(COMMANDS)}\n", file=sys.stderr)
        print(USAGE, file=sys.stderr)
        return 2
    return command(argv[1:])


if __name__ == "__main__":
    sys.exit(main())
