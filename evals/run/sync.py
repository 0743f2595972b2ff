"""`rft-evals sync RUN_DIR`: upload a run folder to MLflow after the tracking server was unreachable.

The run folder holds everything MLflow would have got (summary.json, records, the resolved config), so the
upload logs the same params, tags, metrics, tables and artifacts as a live run. Candidates already logged
before the outage (run_state.json) are not logged twice; the parent run is reopened when it exists."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from evals.samples.records import read_records
from evals.tracking.resilient import ResilientTracker, process_tags
from evals.run.state import RunState
from evals.run.runner import candidate_metrics
from evals.run._sample_log import candidate_run_name, sample_table
from evals.tracking.tracker import TrackingSettings, default_uri


class SyncError(ValueError):
    pass


def _read_json(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise SyncError(f"{path} is missing: {path.parent} is not a finished run folder (a run that was killed "
                        f"is finished with `rft-evals run resume={path.parent}`, which also logs it)")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise SyncError(f"{path} is not valid JSON ({exc})") from exc


def _aggregates(config: Mapping[str, Any], entry: Mapping[str, Any]) -> list[Any]:
    """The candidate's aggregates (the task's, the reward's, the judge's), for the per-sample table; none when
    the task cannot be built here (the upload still logs everything else)."""
    from evals.run.aggregates import aggregates_for
    from tasks.registry import build_task

    try:
        task = build_task(config["task"], data_root=None)
    except Exception:  # noqa: BLE001 - a missing data root must not stop an upload
        return []
    return [a for a in aggregates_for(config, task) if a.name in (entry.get("metrics") or {})]


def sync_run(run_dir: Path, tracking_uri: str | None = None, experiment: str | None = None,
             parent_run_id: str | None = None) -> dict[str, Any]:
    """Log what MLflow lacks of `run_dir`; returns {"parent_run_id", "logged": [candidates]}. `parent_run_id`
    nests a new parent run under another run (a nightly suite's, when its tasks ran on a Ray cluster)."""
    summary = _read_json(run_dir / "summary.json")
    config = OmegaConf.to_container(OmegaConf.load(run_dir / "resolved_config.yaml"))
    assert isinstance(config, dict)
    state = RunState.load(run_dir) or RunState()
    tracking = dict(config.get("tracking") or {})
    uri = tracking_uri or state.tracking_uri or tracking.get("uri") or default_uri()
    settings = TrackingSettings(uri=uri, experiment=experiment or tracking.get("experiment") or "rft-evals",
                                artifact_location=tracking.get("artifact_location"))
    tracker = ResilientTracker(settings)
    if not tracker.online:
        raise SyncError(f"MLflow at {uri} is still unreachable ({tracker.offline_reason}); try again later")
    meta: Mapping[str, Any] = summary.get("meta") or {}
    tags = {**{k: str(v) for k, v in meta.items() if v is not None and k != "mlflow_parent_run_id"},
            **process_tags(str(run_dir.resolve())), "synced_from": str(run_dir.resolve())}
    if state.parent_run_id and tracker.parent_exists(state.parent_run_id):
        parent_id = tracker.resume_parent(state.parent_run_id, tags)
    else:
        state.candidate_run_ids.clear()
        parent_id = tracker.start_parent(config.get("run_name") or f"{meta.get('task', 'run')}-synced", config, tags,
                                         parent_run_id=parent_run_id)
    logged = []
    for name, entry in summary["candidates"].items():
        if name in state.candidate_run_ids:
            continue
        records_path = run_dir / "records" / f"{name}.jsonl"
        records = list(read_records(records_path)) if records_path.exists() else []
        candidate_tags = {**tags, "candidate": name, "role": entry.get("role", ""),
                          "provider": entry.get("provider", ""), "model_id": entry.get("model_id", "")}
        run_id = tracker.log_candidate(name, config=(config.get("candidates") or {}).get(name) or {},
                                       tags=candidate_tags, metrics=candidate_metrics(entry),
                                       table=sample_table(records, _aggregates(config, entry)),
                                       artifacts=[records_path] if records_path.exists() else [],
                                       run_name=candidate_run_name(name, entry.get("role")))
        if run_id:
            state.candidate_run_ids[name] = run_id
            logged.append(name)
    for artifact in ("summary.json", "resolved_config.yaml"):
        tracker.log_parent_artifact(run_dir / artifact)
    tracker.end("FINISHED" if state.status in ("finished", "running") else state.status.upper())
    if not tracker.online:
        raise SyncError(f"MLflow at {uri} failed during the upload ({tracker.offline_reason}); run sync again: "
                        "what was logged is remembered in run_state.json")
    state.parent_run_id, state.tracking_uri = parent_id, uri
    state.tracking_pending, state.tracking_error = False, None
    state.save(run_dir)
    return {"parent_run_id": parent_id, "logged": logged}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="rft-evals sync",
                                     description="Upload a run folder to MLflow (after a tracking outage).")
    parser.add_argument("run_dir", type=Path, help="the run folder, e.g. runs/2026-11-29/03-00-00-contract_review")
    parser.add_argument("--tracking-uri", default=None,
                        help="where to upload; default: the URI the run used, else $MLFLOW_TRACKING_URI")
    parser.add_argument("--experiment", default=None, help="MLflow experiment (default: the run's)")
    args = parser.parse_args(argv)
    # Uploading is all this command does: wait for a slow server rather than give up after the run's short timeout.
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "120")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "3")
    try:
        result = sync_run(args.run_dir, args.tracking_uri, args.experiment)
    except SyncError as exc:
        print(f"rft-evals sync: error: {exc}", file=sys.stderr)
        return 2
    logged = ", ".join(result["logged"]) or "nothing new (every candidate was already logged)"
    print(f"synced {args.run_dir} to MLflow run {result['parent_run_id']}: logged {logged}")
    return 0
