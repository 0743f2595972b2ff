"""Offline reference figures for the nda_policy task, without any model: the majority-class baseline (every
rule gets its most frequent training label, no evidence) and, as a sanity check, the gold answer rendered
by the task (which must score 1 on labels and evidence). Scored through task.score and aggregated with the
run's bootstrap CIs (evals.stats.estimate.estimate_all), exactly as `rft-evals run` would.

    python scripts/baseline_nda_policy.py [--split test] [--answer majority|gold] [--set key=value ...]

Prints one JSON line: the answer kind, split, item count, the task's truncation budget and every metric
(value, 95% CI, n); per-rule metrics are included with --per-rule."""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

ANSWERS = {"majority": "majority_answer", "gold": "render_gold"}


def task_config(overrides: Sequence[str] = ()) -> dict[str, Any]:
    import yaml

    config = yaml.safe_load((REPO_ROOT / "conf" / "task" / "nda_policy.yaml").read_text(encoding="utf-8"))
    for override in overrides:
        key, sep, value = override.partition("=")
        if not sep:
            raise SystemExit(f"--set {override!r}: use key=value")
        config[key] = yaml.safe_load(value)
    return config


def baseline_figures(task: Any, split: str = "test", answer: str = "majority", seed: int = 0,
                     resamples: int = 1000) -> dict[str, Any]:
    """Score `answer` (majority | gold) on every item of `split`; the figures other scripts can reuse."""
    from evals.stats.estimate import estimate_all

    render = getattr(task, ANSWERS[answer])
    items = task.rows(split)
    values, errors = [], 0
    for item in items:
        score = task.score(render(item), task.reference(item))
        errors += len(score.errors)
        values.append(score.values)
    estimates = estimate_all(task.aggregates(), values, resamples=resamples, seed=seed)
    return {"answer": answer, "split": split, "items": len(items), "errors": errors, "budget": task.budget(),
            "majority_labels": task.majority if answer == "majority" else None,
            "metrics": {e.name: {"value": _finite(e.value), "ci_low": _finite(e.ci_low),
                                 "ci_high": _finite(e.ci_high), "n": e.n} for e in estimates}}


def _finite(value: float) -> float | None:
    return None if math.isnan(value) else round(value, 4)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="test", choices=("test", "dev", "train"))
    parser.add_argument("--answer", default="majority", choices=sorted(ANSWERS))
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="task config override")
    parser.add_argument("--per-rule", action="store_true", help="also print metrics named <metric>/<rule or label>")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    from tasks.registry import build_task

    task = build_task(task_config(args.set))
    figures = baseline_figures(task, args.split, args.answer, args.seed)
    if not args.per_rule:
        figures["metrics"] = {k: v for k, v in figures["metrics"].items() if "/" not in k}
    print(json.dumps(figures, default=_json_default))
    return 0


def _json_default(value: Any) -> Any:
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"not JSON-able: {type(value).__name__}")


if __name__ == "__main__":
    raise SystemExit(main())
