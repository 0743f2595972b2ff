"""`rft-evals reward audit task=<task> reward=<reward> [limit=N] [runs=<run dir|run id>,...] [out=DIR]
[metric=NAME] [seed=N] [spec=PATH] [tracking=none|<mlflow uri>] [data_root=DIR]`

Exit 0 when the reward passes its audit, 1 when the gate fails (the reasons name the policy that pays),
2 on bad input (unknown task or reward, bad option)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

USAGE = ("usage: rft-evals reward audit task=<task> reward=<reward> [limit=N] [runs=<run dir|run id>,...] "
         "[out=DIR] [metric=NAME] [seed=N] [spec=PATH] [tracking=none|<mlflow uri>] [data_root=DIR]")
KEYS = ("task", "reward", "limit", "runs", "out", "metric", "seed", "spec", "tracking", "data_root", "experiment")


class AuditInputError(ValueError):
    """Bad command-line input; the message names the argument and the fix."""


@dataclass
class AuditArgs:
    task: str
    reward: str
    limit: int | None = None
    runs: list[str] = field(default_factory=list)
    out: Path = Path("outputs/reward_audit")
    metric: str | None = None
    seed: int = 0
    spec: str | None = None
    tracking: str = "none"
    data_root: str | None = None
    experiment: str = "rft-evals-reward-audit"


def _int(key: str, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise AuditInputError(f"{key}={value!r}: must be an integer") from None


def parse(argv: Sequence[str]) -> AuditArgs:
    values: dict[str, str] = {}
    for arg in argv:
        key, sep, value = arg.lstrip("-").partition("=")
        if not sep or key not in KEYS:
            raise AuditInputError(f"argument {arg!r} is not key=value with a key of {list(KEYS)}\n{USAGE}")
        values[key] = value
    missing = [k for k in ("task", "reward") if not values.get(k)]
    if missing:
        raise AuditInputError(f"missing {', '.join(f'{k}=' for k in missing)}\n{USAGE}")
    limit = values.get("limit")
    return AuditArgs(
        task=values["task"], reward=values["reward"],
        limit=None if limit in (None, "", "null", "none") else _int("limit", limit),
        runs=[r for r in values.get("runs", "").split(",") if r],
        out=Path(values.get("out") or "outputs/reward_audit"), metric=values.get("metric") or None,
        seed=_int("seed", values.get("seed", "0")), spec=values.get("spec") or None,
        tracking=values.get("tracking") or "none", data_root=values.get("data_root") or None,
        experiment=values.get("experiment") or "rft-evals-reward-audit")


def task_config(args: AuditArgs) -> dict[str, Any]:
    import yaml

    from evals.conf import config_path as _conf_path

    path = _conf_path(args.task, "task")
    if not path.exists():
        names = sorted(p.stem for p in path.parent.glob("*.yaml"))
        raise AuditInputError(f"task={args.task}: no task config {path}; choose one of {names} or give a path")
    cfg = yaml.safe_load(path.read_text(encoding="utf-8"))
    if args.spec:
        cfg["spec"] = args.spec
    if cfg.get("kind") == "config" and not cfg.get("spec"):
        raise AuditInputError(f"task={args.task} is a config task: give its spec file with spec=PATH")
    return cfg


def recorded_answers(references: Sequence[str], tracking: str) -> dict[str, dict[str, str]]:
    """policy name ("run:<folder>:<candidate>") -> {item id -> recorded output}, from run folders or run ids."""
    import tempfile

    from evals.suite.previous_night import resolve_run
    from evals.run.outputs import RunDataError, load_run

    answers: dict[str, dict[str, str]] = {}
    scratch = Path(tempfile.mkdtemp(prefix="reward-audit-runs-"))
    for reference in references:
        try:
            _, folder = resolve_run(reference, None if tracking == "none" else tracking, scratch)
            tasks = load_run(folder)
        except RunDataError as exc:
            raise AuditInputError(f"runs={reference}: {exc}") from None
        for task_outputs in tasks.values():
            for candidate, records in task_outputs.records.items():
                texts = {r.item_id: r.output for r in records if r.output is not None}
                if texts:
                    answers[f"run:{folder.name}:{candidate}"] = texts
    return answers


def run(args: AuditArgs, stream: Any = None) -> int:
    from evals.reward_audit import report, runner
    from evals.reward_audit.judge_audit import judge_section, scripted_judge
    from evals.rft.bundle import load_reward_config

    out = stream or sys.stdout
    reward = load_reward_config(args.reward)
    from evals.judging.calibration import check_calibration

    calibrated = check_calibration(reward)  # a judge below its judge.calibration bar is refused (exit 2)
    if calibrated is not None:
        print(calibrated.summary(), file=sys.stderr)
    task, bundle, items = runner.build_audit(task_config(args), reward, limit=args.limit, seed=args.seed,
                                             data_root=args.data_root)
    runs = recorded_answers(args.runs, args.tracking) if args.runs else None
    print(f"reward audit: task {bundle.task}, reward {reward.name}, {len(items)} items", file=sys.stderr)
    # A reward with judge criteria is audited offline with a scripted judge: honest for the main table,
    # fooled by steering text for the judge-aimed policies (evals/reward_audit/judge_audit.py).
    judge = scripted_judge(bundle) if bundle.reward.criteria else None
    result = runner.audit(task, bundle, items, headline=args.metric, runs=runs, judge=judge, seed=args.seed)
    if result.headline not in {m for p in result.policies for m in p.metrics}:
        raise AuditInputError(f"metric={result.headline}: the task has no such production metric")
    if bundle.reward.criteria:
        margins = result.gate.margins
        result.judge = judge_section(task, bundle, items, seed=args.seed,
                                     weakest_honest=margins.weakest_honest_reward if margins else float("nan"))
        from evals.reward_audit.judge_kinds import behaviour_table

        result.judge["by_behaviour"] = behaviour_table(task, bundle, items)
    result.settings = {"limit": args.limit, "seed": args.seed, "runs": args.runs}
    json_path, md_path = report.write(result, args.out / f"{bundle.task}-{reward.name}")
    if args.tracking != "none":
        from evals.reward_audit.tracking import log_audit

        log_audit(result, args.tracking, args.experiment, (json_path, md_path))
    print(report.to_markdown(result), file=out)
    print(f"report: {md_path} and {json_path}", file=out)
    return 0 if result.passed else 1


def main(argv: Sequence[str]) -> int:
    from metrics.reward.config import RewardConfigError

    try:
        args = parse(argv)
        return run(args)
    except (AuditInputError, RewardConfigError, FileNotFoundError) as exc:
        print(f"rft-evals reward audit: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:  # a task config the task refuses (unknown keys, bad split, ...)
        print(f"rft-evals reward audit: {exc}", file=sys.stderr)
        return 2


