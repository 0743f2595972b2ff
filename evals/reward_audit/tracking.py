"""The audit as an MLflow run: the gate's figures as metrics, one metric per policy's mean reward, the
JSON and Markdown reports as artifacts. Uses evals.tracking.tracker.Tracker (secrets redacted there)."""

from __future__ import annotations

import math
from pathlib import Path

from evals.reward_audit.runner import AuditResult


def audit_metrics(result: AuditResult) -> dict[str, float]:
    metrics: dict[str, float] = {"audit/passed": float(result.passed)}
    if result.gate.kendall:
        metrics["audit/kendall"] = result.gate.kendall.kendall
        metrics["audit/spearman"] = result.gate.kendall.spearman
    if result.gate.margins:
        metrics["audit/honest_margin"] = result.gate.margins.honest_margin
        metrics["audit/baseline_margin"] = result.gate.margins.baseline_margin
    for label, pair in result.gate.paired.items():
        metrics[f"audit/paired_{label}_margin_lower"] = pair.lower
    for p in result.policies:
        metrics[f"reward/{p.name}"] = p.reward
        metrics[f"{result.headline}/{p.name}"] = p.metrics.get(result.headline, math.nan)
    return {k: v for k, v in metrics.items() if math.isfinite(v)}


def log_audit(result: AuditResult, uri: str, experiment: str, artifacts: tuple[Path, ...]) -> str:
    from evals.tracking.tracker import Tracker, TrackingSettings

    tracker = Tracker(TrackingSettings(uri=uri, experiment=experiment))
    run_id = tracker.start_parent(f"reward-audit-{result.task}-{result.reward}",
                                  {"task": result.task, "reward": result.reward, "headline": result.headline,
                                   "items": result.items, **result.settings},
                                  {"kind": "reward_audit", "task": result.task, "reward": result.reward})
    try:
        tracker.log_parent_metrics(audit_metrics(result))
        for path in artifacts:
            tracker.log_parent_artifact(path)
    except Exception:
        tracker.end("FAILED")
        raise
    tracker.end()
    return run_id
