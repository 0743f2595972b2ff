"""One table of aggregation maths per kind (metrics/aggregates.py RULES): the run value the bootstrap reports
(evals/stats/estimate.py, vectorised) equals the table's on any records, empty denominators included, and the
per-sample rule keeps its own answer for a sample with nothing to find."""

from __future__ import annotations

import math
import random

import pytest

from evals.stats.estimate import estimate_all
from metrics import aggregates as agg
from metrics.aggregates import AggregateKind, run_value, sample_value

AGGREGATES = [agg.mean("m", "tp"), agg.ratio("r", "tp", "fp"), agg.f1("f", "tp", "fp", "fn"),
              agg.macro_f1("mf", ["x", "y"], "c")]


def random_records(rng: random.Random, n: int) -> list[dict[str, float]]:
    records = []
    for _ in range(n):
        counts = {k: float(rng.choice([0, 0, 0, 1, 2])) for k in ("tp", "fp", "fn")}
        classes = {f"c_{k}/{c}": float(rng.choice([0, 0, 1])) for k in ("tp", "fp", "fn") for c in ("x", "y")}
        if rng.random() < 0.1:
            del counts["tp"]  # a sample without the first input takes no part
        records.append({**counts, **classes})
    return records


def same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b)


@pytest.mark.parametrize("seed", range(30))
def test_the_bootstrap_point_value_is_the_tables_run_value(seed):
    rng = random.Random(seed)
    records = random_records(rng, rng.choice([0, 1, 2, 5, 40]))
    for estimate, aggregate in zip(estimate_all(AGGREGATES, records, resamples=5, seed=0), AGGREGATES, strict=True):
        assert same(estimate.value, run_value(aggregate, records)), (aggregate.kind, records)


def test_empty_denominators_follow_the_table():
    nothing = [{"tp": 0.0, "fp": 0.0, "fn": 0.0, **{f"c_{k}/{c}": 0.0 for k in ("tp", "fp", "fn") for c in "xy"}}]
    for aggregate in AGGREGATES[1:]:
        assert math.isnan(run_value(aggregate, nothing))  # a run with nothing to measure has no value
    assert math.isnan(run_value(agg.mean("m", "tp"), []))
    assert sample_value(agg.f1("f", "tp", "fp", "fn"), nothing[0]) == 1.0  # a clean sample left alone is perfect
    assert sample_value(agg.macro_f1("mf", ["x", "y"], "c"), nothing[0]) == 1.0
    assert math.isnan(sample_value(agg.ratio("r", "tp", "fp"), nothing[0]))
    assert set(agg.RULES) == set(AggregateKind)
