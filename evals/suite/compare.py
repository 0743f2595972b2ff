"""`rft-evals compare RUN_A RUN_B`: RUN_A against RUN_B (the baseline), each candidate against itself, item by
item: a paired comparison of every metric, then the gate with a suite's thresholds. Each run is a run folder
(plain or nightly) or an MLflow run id. Exit 1 when the gate finds a regression, 2 on bad input, 3 on an
internal error."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf
from rich.console import Console
from rich.table import Table
from rich.text import Text

from evals.suite.previous_night import resolve_run
from evals.json_safe import json_safe
from evals.run.outputs import RunDataError, TaskOutputs, load_run
from evals.suite.config import SuiteConfig, SuiteConfigError
from evals.conf import conf_dir

CONF_DIR = conf_dir()


def load_suite(name: str) -> SuiteConfig:
    path = CONF_DIR / "suite" / f"{name}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in path.parent.glob("*.yaml"))
        raise SuiteConfigError(f"conf/suite/{name}.yaml does not exist; use one of {known}")
    raw = OmegaConf.to_container(OmegaConf.load(path), resolve=True)
    return SuiteConfig.from_mapping(raw, source=f"conf/suite/{name}.yaml")  # type: ignore[arg-type]


def _suite_name(folder: Path, given: str | None) -> str:
    if given:
        return given
    for candidate in (folder / "nightly.json", folder.parent / "nightly.json"):
        if candidate.is_file():
            return str(json.loads(candidate.read_text(encoding="utf-8")).get("suite") or "local")
    return "local"


def matched(a: TaskOutputs, b: TaskOutputs) -> dict[str, str]:
    """candidate in A -> the same candidate in B: same names; two single-candidate runs pair up whatever
    their names."""
    common = {name: name for name in a.records if name in b.records}
    if not common and len(a.records) == 1 and len(b.records) == 1:
        return {next(iter(a.records)): next(iter(b.records))}
    return common


def compare_runs(a: Mapping[str, TaskOutputs], b: Mapping[str, TaskOutputs], suite: SuiteConfig, *,
                 data_root: Path | None = None) -> dict[str, Any]:
    """{"tasks": {task: {candidate: [comparison rows A vs B]}}, "gate": gate section, "notes": [...]}."""
    from evals.suite._analysis import agreement, gate_section, task_context
    from evals.stats.paired import compare_candidates

    resamples, seed = suite.bootstrap_resamples, suite.seed
    notes: list[str] = []
    contexts, baseline, tables, agree_a, agree_b = {}, {}, {}, {}, {}
    for name, outputs in a.items():
        if name not in b:
            notes.append(f"task {name}: only in RUN_A")
            continue
        pairs = matched(outputs, b[name])
        if not pairs:
            notes.append(f"task {name}: no candidate in both runs (A: {sorted(outputs.records)}, "
                         f"B: {sorted(b[name].records)})")
            continue
        ctx = task_context(outputs, data_root)
        base = TaskOutputs(name, b[name].directory, b[name].summary, b[name].config,
                           {a_name: b[name].records[b_name] for a_name, b_name in pairs.items()})
        contexts[name], baseline[name] = ctx, base
        tables[name] = {}
        for candidate in pairs:
            rows = compare_candidates({"A": ctx.outputs.records[candidate], "B": base.records[candidate]},
                                      ctx.aggregates, [("A", "B")], resamples=resamples, seed=seed)
            tables[name][candidate] = rows
        if suite.gate.agreement:
            agree_a[name] = {"agreement": agreement(ctx, suite, resamples, seed)}
            agree_b[name] = agreement(task_context(base, data_root), suite, resamples, seed)
    gate = gate_section(contexts, baseline, agree_a, agree_b, suite, baseline_run_id=None,
                        resamples=resamples, seed=seed, strict=False)
    return {"tasks": tables, "gate": gate, "notes": notes + list(gate.get("notes") or [])}


def _fmt(value: Any, signed: bool = False) -> str:
    if not isinstance(value, int | float) or value != value:
        return "n/a"
    return f"{value:+.3f}" if signed else f"{value:.3f}"


def print_tables(result: Mapping[str, Any], console: Console) -> None:
    for task, per_candidate in result["tasks"].items():
        for candidate, rows in per_candidate.items():
            table = Table(title=f"{task} / {candidate}: A - B (B = baseline)", title_justify="left")
            for column in ("metric", "B", "A", "A - B", "95% CI", "test", "p", "p (Holm)", "W/T/L"):
                table.add_column(column, justify="left" if column in ("metric", "test") else "right")
            for r in rows:
                cells = [str(r["metric"]), _fmt(r["b_value"]), _fmt(r["a_value"]), _fmt(r["diff"], True),
                         f"[{_fmt(r['ci_low'], True)}, {_fmt(r['ci_high'], True)}]", str(r["test"]),
                         _fmt(r["p_value"]), _fmt(r["p_holm"]), f"{r['wins']}/{r['ties']}/{r['losses']}"]
                table.add_row(*(Text(c) for c in cells))  # Text: "[n/a, n/a]" is data, not rich markup
            console.print(table)
    for note in result.get("notes") or []:
        console.print(f"note: {note}", markup=False, highlight=False)


def main(argv: list[str]) -> int:
    from evals.suite.nightly import regression_lines

    parser = argparse.ArgumentParser(prog="rft-evals compare", description=__doc__)
    parser.add_argument("run_a", help="the run under test: a run folder or an MLflow run id")
    parser.add_argument("run_b", help="the baseline: a run folder or an MLflow run id")
    parser.add_argument("--suite", default=None, help="conf/suite/<name>.yaml whose gate thresholds apply "
                        "(default: RUN_A's suite when it is a nightly run, else local)")
    parser.add_argument("--tracking-uri", default=None, help="MLflow tracking URI for run ids "
                        "(default: $MLFLOW_TRACKING_URI, else sqlite:///mlflow.db)")
    parser.add_argument("--data-root", default=None, help="data root (default: $RFT_DATA_DIR)")
    parser.add_argument("--out", default=None, help="also write the comparison and gate as JSON to this file")
    args = parser.parse_args(argv)
    console = Console(width=None if sys.stdout.isatty() else 150)
    from evals.tracking.tracker import default_uri

    uri = args.tracking_uri or default_uri()
    try:
        with tempfile.TemporaryDirectory(prefix="rft-compare-") as scratch:
            _, folder_a = resolve_run(args.run_a, uri, Path(scratch))
            _, folder_b = resolve_run(args.run_b, uri, Path(scratch))
            suite = load_suite(_suite_name(folder_a, args.suite))
            result = compare_runs(load_run(folder_a), load_run(folder_b), suite,
                                  data_root=Path(args.data_root) if args.data_root else None)
    except (RunDataError, SuiteConfigError, ValueError) as exc:
        print(f"rft-evals compare: error: {exc}", file=sys.stderr)
        return 2
    except Exception:  # noqa: BLE001 - exit 1 means "regression" to a scheduler; a crash must not look like one
        traceback.print_exc()
        return 3
    print_tables(result, console)
    gate = result["gate"]
    if args.out:
        Path(args.out).write_text(json.dumps(json_safe(result), indent=2, allow_nan=False), encoding="utf-8")
    lines = regression_lines(gate)
    for line in lines:
        console.print(line, style="bold red", markup=False, highlight=False)
    checked = len(gate.get("checks") or [])
    verdict = "FAILED" if lines else "PASSED"
    console.print(f"gate ({suite.source}, alpha {suite.gate.alpha}): {verdict}, {checked} checks, "
                  f"{len(lines)} regression(s)", markup=False, highlight=False)
    return 1 if lines else 0
