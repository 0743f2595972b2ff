"""Which aggregates a run reports, from its config and task: what the run command logs, sync re-logs and the
nightly's analysis reads back."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from metrics.aggregates import Aggregate, mean


def aggregates_for(config: Mapping[str, Any], task: Any) -> list[Aggregate]:
    """The run's aggregates, as evals/run/runner.py builds them: the task's, the reward, the judge's."""
    aggregates = list(task.aggregates())
    if config.get("reward"):
        aggregates.append(mean("reward"))
    if config.get("judge"):
        from metrics.judges.config import judge_from_config

        aggregates.extend(judge_from_config(config["judge"]).aggregates())
    return aggregates
