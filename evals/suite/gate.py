"""The regression gate: did tonight's run get worse than the baseline run?

A metric regresses when BOTH hold:
1. its drop (baseline - current, or current - baseline when lower is better) is larger than the allowed
   drop: `absolute: x` allows x in the metric's units, `relative: x` allows x * |baseline|;
2. the difference is statistically significant at `alpha`.

Significance for per-sample metrics (gate_checks): one test for every metric kind, the permutation test of
evals/stats/permutation.py. When the two runs scored the same items (nightly runs reuse seed and items) it is
paired on the shared items (answers swapped item by item); when they share too few items, unpaired (the
items of both runs pooled and re-split). The interval of current - baseline comes from the same null
distribution, so it excludes 0 exactly when p < 1 - confidence. The row says which (`paired`, `test`) and
the minimum detectable effect at its sample size (`mde`, 80% power): a passed gate then says what drop it
could have seen.

Significance for precomputed scalars with their own interval (gate_scalar; e.g. the reward-production
Spearman of tonight vs the baseline night): the current run's interval lies entirely beyond the allowed
drop, i.e. ci_high < baseline - allowed (ci_low > baseline + allowed when lower is better). The baseline
is taken at its point value; no p-value exists, so p_value is NaN and `test` is "ci".

Scorer errors (ErrorKind.INTERNAL: our scoring code raised on a sample) fail the gate outright: gate_checks adds a
row `errors/scorer_error` (test "count", regressed when the current run has any), whatever the thresholds,
because a metric computed around a crashing scorer is not a measurement."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from evals.stats.paired import align, paired_metric
from evals.stats.permutation import unpaired_permutation
from evals.samples.records import SampleRecord
from evals.stats.estimate import _column, _statistic
from metrics.aggregates import Aggregate
from metrics.errors import ErrorKind

THRESHOLD_KINDS = ("absolute", "relative")
SCORER_ERROR_METRIC = f"errors/{ErrorKind.INTERNAL}"


class GateConfigError(ValueError):
    """A bad gate threshold in a suite config; the message names the key."""


@dataclass(frozen=True)
class GateThreshold:
    metric: str
    kind: str  # absolute | relative
    amount: float  # >= 0

    def allowed_drop(self, baseline: float) -> float:
        return self.amount if self.kind == "absolute" else self.amount * abs(baseline)

    @classmethod
    def parse(cls, metric: str, spec: Any, where: str = "gate") -> GateThreshold:
        key = f"{where}.{metric}"
        if not isinstance(spec, Mapping) or len(spec) != 1 or next(iter(spec)) not in THRESHOLD_KINDS:
            raise GateConfigError(f"`{key}` must be {{absolute: x}} (a drop of x in the metric's units) or "
                                  f"{{relative: x}} (a drop of x times the baseline value); got {spec!r}")
        kind, value = next(iter(spec.items()))
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
            raise GateConfigError(f"`{key}.{kind}` must be a number >= 0 (the largest drop allowed); got {value!r}")
        return cls(str(metric), str(kind), float(value))


def parse_thresholds(config: Mapping[str, Any], where: str = "gate.metrics") -> list[GateThreshold]:
    """`{risk_f1: {absolute: 0.05}, schema_valid: {relative: 0.1}, ...}` -> thresholds, in config order."""
    if not isinstance(config, Mapping):
        raise GateConfigError(f"`{where}` maps a metric to {{absolute: x}} or {{relative: x}}; got {config!r}")
    return [GateThreshold.parse(str(metric), spec, where) for metric, spec in config.items()]


def check_threshold_names(thresholds: Iterable[GateThreshold], known: Iterable[str],
                          where: str = "gate.metrics") -> None:
    """A threshold on a metric no run reports would silently never fire: refuse it, naming the key."""
    known = set(known)
    unknown = [t.metric for t in thresholds if t.metric not in known]
    if unknown:
        raise GateConfigError(f"`{where}` names metric(s) {unknown} that the run does not report; known metrics: "
                              f"{sorted(known)}")


def _drop(delta: float, higher_is_better: bool) -> float:
    return -delta if higher_is_better else delta


def _row(task: str, candidate: str, threshold: GateThreshold, baseline: float, current: float, ci: tuple[float, float],
         p_value: float, regressed: bool, paired: bool, test: str, n: int, mde: float = math.nan) -> dict[str, object]:
    return {"mde": mde, "task": task, "candidate": candidate, "metric": threshold.metric, "baseline": baseline,
            "current": current, "delta": current - baseline, "ci_low": ci[0], "ci_high": ci[1], "p_value": p_value,
            "threshold": threshold.amount, "threshold_kind": threshold.kind,
            "allowed_drop": threshold.allowed_drop(baseline) if not math.isnan(baseline) else math.nan,
            "regressed": bool(regressed), "paired": paired, "test": test, "n": n}


def _unpaired(aggregate: Aggregate, current: Sequence[Mapping[str, float]], baseline: Sequence[Mapping[str, float]],
              resamples: int, seed: int, confidence: float) -> tuple[float, float, tuple[float, float], float, int, str,
                                                                     float]:
    """Two runs on different items: current, baseline, interval of current - baseline, p, n current, test, mde."""
    sides = []
    for records in (current, baseline):
        columns = [_column(records, key) for key in aggregate.inputs]
        keep = ~np.isnan(columns[0])
        sides.append(np.column_stack([c[keep] for c in columns]) if keep.any() else np.empty((0, len(columns))))
    if not all(len(side) for side in sides):
        return math.nan, math.nan, (math.nan, math.nan), math.nan, 0, "permutation-mc", math.nan
    cur, base = (float(_statistic(aggregate.kind, [s[:, j] for j in range(s.shape[1])], np.arange(len(s))[None, :])[0])
                 for s in sides)
    test = unpaired_permutation(aggregate.kind, sides[0], sides[1], resamples=resamples, seed=seed,
                                alpha=1 - confidence)
    return cur, base, (test.ci_low, test.ci_high), test.p_value, len(sides[0]), "unpaired-" + test.method, test.mde


def gate_checks(
    current_records: Sequence[SampleRecord],
    baseline_records: Sequence[SampleRecord],
    aggregates: Sequence[Aggregate],
    thresholds: Sequence[GateThreshold],
    *,
    task: str = "",
    candidate: str | None = None,
    resamples: int = 1000,
    seed: int = 0,
    alpha: float = 0.05,
    confidence: float = 0.95,
    min_overlap: float = 0.5,
) -> list[dict[str, object]]:
    """The `gate.checks` rows for one candidate of one task: one per threshold whose metric is one of
    `aggregates` (thresholds on other names, e.g. agreement statistics, are gate_scalar's; use
    check_threshold_names to refuse typos). Paired when the shared item ids are at least `min_overlap` of the
    larger run (and at least 2)."""
    by_name = {a.name: a for a in aggregates}
    if candidate is None:
        candidate = current_records[0].candidate if current_records else ""
    current_ids = {r.item_id for r in current_records}
    baseline_ids = {r.item_id for r in baseline_records}
    shared = len(current_ids & baseline_ids)
    paired = shared >= max(2, min_overlap * max(len(current_ids), len(baseline_ids)))
    aligned = align({"current": current_records, "baseline": baseline_records}) if paired else None
    rows = []
    for threshold in thresholds:
        aggregate = by_name.get(threshold.metric)
        if aggregate is None:
            continue
        if aligned is not None:
            result = paired_metric(aggregate, aligned.values["current"], aligned.values["baseline"],
                                   resamples=resamples, seed=seed, confidence=confidence)
            current, baseline, ci = result.a_value, result.b_value, (result.ci_low, result.ci_high)
            p_value, test, n, mde = result.p_value, result.test, result.n_pairs, result.mde
            identical = result.permutations == 1
        else:
            current, baseline, ci, p_value, n, test, mde = _unpaired(
                aggregate, [r.values for r in current_records], [r.values for r in baseline_records],
                resamples, seed, confidence)
            identical = False
        drop = _drop(current - baseline, aggregate.higher_is_better)
        beyond = not math.isnan(drop) and drop > threshold.allowed_drop(baseline)
        significant = not math.isnan(p_value) and p_value < alpha
        row = _row(task, candidate, threshold, baseline, current, ci, p_value, beyond and significant,
                   aligned is not None, test, n, mde)
        row["identical"] = identical  # no item changed: the MDE cannot be sized from tonight's data
        rows.append(row)
    scorer_errors = scorer_error_count(current_records)
    if scorer_errors:
        rows.append(_row(task, candidate, GateThreshold(SCORER_ERROR_METRIC, "absolute", 0.0),
                         float(scorer_error_count(baseline_records)), float(scorer_errors), (math.nan, math.nan),
                         math.nan, True, False, "count", len(current_records)))
    return rows


def scorer_error_count(records: Iterable[SampleRecord]) -> int:
    """Samples whose scoring raised (ErrorKind.INTERNAL)."""
    return sum(1 for r in records if any(e.get("kind") == ErrorKind.INTERNAL for e in r.errors))


def _field(estimate: Any, name: str) -> float:
    value = estimate.get(name) if isinstance(estimate, Mapping) else getattr(estimate, name, None)
    return math.nan if value is None else float(value)


def gate_scalar(
    name: str,
    current: Any,
    baseline: Any,
    threshold: GateThreshold,
    *,
    task: str = "",
    candidate: str = "",
    higher_is_better: bool = True,
) -> dict[str, object]:
    """A `gate.checks` row for a precomputed statistic with a CI (an Estimate, or a mapping with value,
    ci_low, ci_high such as an agreement entry). `name` is the row's metric (e.g. agreement/spearman/risk_f1);
    the interval in the row is the current interval minus the baseline value."""
    base = _field(baseline, "value")
    value, low, high = (_field(current, k) for k in ("value", "ci_low", "ci_high"))
    allowed = threshold.allowed_drop(base) if not math.isnan(base) else math.nan
    if higher_is_better:
        regressed = high < base - allowed
    else:
        regressed = low > base + allowed
    n = _field(current, "n")
    named = GateThreshold(name, threshold.kind, threshold.amount)
    return _row(task, candidate, named, base, value, (low - base, high - base), math.nan, bool(regressed), False,
                "ci", 0 if math.isnan(n) else int(n))


def gate_summary(checks: Sequence[Mapping[str, object]], baseline_run_id: str | None) -> dict[str, object]:
    """The `gate` section of nightly.json: passed unless some check regressed."""
    return {"passed": not any(bool(c.get("regressed")) for c in checks), "baseline_run_id": baseline_run_id,
            "checks": list(checks)}
