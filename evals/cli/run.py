"""`rft-evals run`: resolve `resume=...` first (a clear error before Hydra starts), then hand the overrides to
Hydra. A module of its own so `rft-evals batch score` can start a run without importing the dispatcher."""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    from evals.run.resume import ResumeError, resume_argv

    try:
        argv = resume_argv(argv)
    except ResumeError as exc:
        print(f"rft-evals: error: {exc}", file=sys.stderr)
        return 2
    from evals.run.command import hydra_main

    # Hydra reads sys.argv itself; present the overrides as if `rft-evals run` were the program.
    sys.argv = [f"{sys.argv[0]} run", *argv]
    hydra_main()
    return 0
