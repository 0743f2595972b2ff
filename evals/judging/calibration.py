"""The calibration gate: a reward whose `judge.calibration` sets a bar (metrics/reward/calibration.py) is
accepted by `rft-evals reward bundle` and `rft-evals reward audit` only when the judge's judge-eval report
shows every figure at or above its minimum. One function, `check_calibration`, for both commands.

The report is a judge-eval run's report.json (`rft-evals judge-eval` writes it in its run folder and logs it
to MLflow): `report: latest` takes the newest one under the runs folder ($RFT_RUNS_DIR, default ./runs) that
measured the judge; a path names a run folder or a report.json. The judge is found by name
(`calibration.judge`, default the reward judge's `name`). Rubric and scale judges must have been measured on
data=contract_review, preference judges on data=llmbar."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from metrics.reward.calibration import calibration_bar
from metrics.reward.config import RewardConfig
from metrics.reward.judge_kinds import kind_name

RUNS_ENV = "RFT_RUNS_DIR"
MEASURED_ON = {"rubric": "contract_review", "scale": "contract_review", "preference": "llmbar"}


class CalibrationError(ValueError):
    """The judge is below its bar, or its judge-eval report cannot be found or read; the message says which
    figure, the threshold, the report, and what to do."""


@dataclass(frozen=True)
class CalibrationCheck:
    judge: str
    report: Path
    figures: Mapping[str, float] = field(default_factory=dict)  # the figures the bar reads, as measured
    minimums: Mapping[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        shown = ", ".join(f"{k} {self.figures[k]:.3f} >= {v:g}" for k, v in self.minimums.items())
        return f"judge {self.judge} calibrated ({shown}; {self.report})"


def runs_dir() -> Path:
    return Path(os.environ.get(RUNS_ENV) or "runs")


def _read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _entry(report: Mapping[str, Any], judge: str) -> Mapping[str, Any] | None:
    judges = report.get("judges")
    if not isinstance(judges, list):
        return None
    return next((j for j in judges if isinstance(j, Mapping) and j.get("name") == judge), None)


def _hint(judge: str, kind: str) -> str:
    return (f"run `rft-evals judge-eval judge=<the conf/judge config of this judge> data={MEASURED_ON[kind]}` "
            f"(its judge name must be {judge!r}) or set judge.calibration.report to its run folder")


def find_report(ref: str, judge: str, kind: str, base: Path | None = None) -> Path:
    """The report.json the bar is checked against."""
    if ref != "latest":
        path = Path(ref)
        path = path / "report.json" if path.is_dir() else path
        if not path.is_file():
            raise CalibrationError(f"judge.calibration.report: {ref} is neither a judge-eval run folder nor a "
                                   f"report.json; {_hint(judge, kind)}")
        return path
    base = base or runs_dir()
    found = []
    for path in base.rglob("report.json") if base.is_dir() else ():
        report = _read(path)
        if report and (report.get("meta") or {}).get("kind") == "judge_eval" and _entry(report, judge):
            found.append(path)
    if not found:
        raise CalibrationError(f"judge.calibration: no judge-eval report under {base}/ measured judge {judge!r}; "
                               f"{_hint(judge, kind)}")
    return max(found, key=lambda p: (p.stat().st_mtime, str(p)))


def check_calibration(reward: RewardConfig, base: Path | None = None) -> CalibrationCheck | None:
    """None when the reward sets no bar; the check when every figure clears it; else CalibrationError naming
    each failing figure and its threshold."""
    bar = calibration_bar(reward.judge, reward.source)
    if bar is None:
        return None
    kind = kind_name(reward.judge)
    judge = bar.judge or str(reward.judge.get("name") or "")
    path = find_report(bar.report, judge, kind, base)
    report = _read(path)
    entry = _entry(report or {}, judge)
    if entry is None:
        raise CalibrationError(f"judge.calibration: {path} holds no judge named {judge!r}; {_hint(judge, kind)}")
    data = entry.get("data") or (report or {}).get("meta", {}).get("data")
    if data != MEASURED_ON[kind]:
        raise CalibrationError(f"judge.calibration: {path} measured {judge!r} on data={data}; a {kind} judge "
                               f"is calibrated on data={MEASURED_ON[kind]}")
    figures = entry.get("figures") or {}
    measured: dict[str, float] = {}
    failures = []
    for figure, minimum in bar.minimums.items():
        value = figures.get(figure)
        if not isinstance(value, (int, float)) or isinstance(value, bool) or math.isnan(value):
            failures.append(f"{figure} was not measured (n/a), threshold {minimum:g}")
            continue
        measured[figure] = float(value)
        if value < minimum:
            failures.append(f"{figure} {value:.3f} is below min_{figure} {minimum:g}")
    if failures:
        raise CalibrationError(f"reward {reward.name}: judge {judge!r} fails its calibration bar "
                               f"(judge-eval report {path}): " + "; ".join(failures)
                               + ". Improve the judge (model or prompt) and rerun judge-eval, or change the bar "
                               "in judge.calibration")
    return CalibrationCheck(judge, path, measured, dict(bar.minimums))
