"""The calibration bar a reward config may set on its judge (`judge.calibration:`): the minimum agreement with
known answers that the judge's judge-eval run must show before `rft-evals reward bundle` / `reward audit`
accept the reward. Parsed and validated here at load time; checked against a judge-eval report by
evals/judging/calibration.py (the Lambda never reads it). Standard library only.

    calibration:
      min_accuracy: 0.8               # judge-eval figure `accuracy`
      min_kappa: 0.6                  # figure `kappa` (Cohen's)
      min_position_consistency: 0.8   # figure `position_consistency` (preference judges)
      report: latest                  # or a judge-eval run folder / report.json path
      judge: contract_review_scale    # the judge's name in the report; default: judge.name"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# threshold key -> the judge-eval figure it bounds from below
FIGURES = {"min_accuracy": "accuracy", "min_kappa": "kappa", "min_position_consistency": "position_consistency"}
KEYS = {*FIGURES, "report", "judge"}


@dataclass(frozen=True)
class CalibrationBar:
    minimums: Mapping[str, float]  # figure name -> minimum
    report: str = "latest"
    judge: str | None = None

    @classmethod
    def from_mapping(cls, data: Any, source: str = "<reward config>") -> CalibrationBar:
        where = f"{source}: key judge.calibration"
        if not isinstance(data, Mapping):
            raise ValueError(f"{where}: must be a mapping of {sorted(KEYS)}")
        unknown = sorted(str(k) for k in set(data) - KEYS)
        if unknown:
            raise ValueError(f"{where}: unknown keys {unknown}; use {sorted(KEYS)}")
        minimums = {}
        for key, figure in FIGURES.items():
            if data.get(key) is None:
                continue
            value = data[key]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                    or not -1.0 <= value <= 1.0:
                raise ValueError(f"{where}.{key}: must be a number in [-1, 1] (kappa) or [0, 1], got {value!r}")
            minimums[figure] = float(value)
        if not minimums:
            raise ValueError(f"{where}: set at least one of {sorted(FIGURES)}")
        report = data.get("report", "latest")
        judge = data.get("judge")
        if not isinstance(report, str) or not report:
            raise ValueError(f"{where}.report: `latest` or the path of a judge-eval run folder or report.json")
        if judge is not None and (not isinstance(judge, str) or not judge):
            raise ValueError(f"{where}.judge: the judge's name in the judge-eval report")
        return cls(minimums, report, judge)


def calibration_bar(judge: Mapping[str, Any], source: str = "<reward config>") -> CalibrationBar | None:
    """The bar of a reward config's `judge:` section, or None when it sets none."""
    data = judge.get("calibration")
    return None if data is None else CalibrationBar.from_mapping(data, source)
