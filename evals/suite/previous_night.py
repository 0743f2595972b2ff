"""Find the run tonight is compared against, and bring its results to disk.

- `latest`: the most recent FINISHED MLflow run tagged `suite=<name>`, `kind=nightly` whose gate did not fail
  (the last good night: a regressed night never becomes the bar the next night is held to);
- a pinned MLflow run id;
- a folder on disk (a nightly folder or a plain run folder);
- none.

MLflow runs are fetched into a local folder with the layout `evals/run/outputs.py` reads: a nightly run's
`tasks/` artifact, or, for a plain `rft-evals run` parent, its summary.json and config plus the records
logged by its candidate runs."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evals.run.outputs import RunDataError, TaskOutputs, load_run
from evals.suite.config import RUN_ID, BaselineKind, BaselinePolicy

log = logging.getLogger(__name__)

SUITE_TAG, KIND_TAG, GATE_TAG = "suite", "kind", "gate"
NIGHTLY_KIND = "nightly"
TASKS_ARTIFACT = "tasks"  # where a nightly run logs each task folder


@dataclass
class Baseline:
    source: str  # mlflow-latest | pinned | path | none
    run_id: str | None = None
    run_dir: Path | None = None
    tasks: dict[str, TaskOutputs] = field(default_factory=dict)
    note: str = ""  # why there is no baseline, when there is none

    def to_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "run_dir": str(self.run_dir) if self.run_dir else None,
                "source": self.source, "note": self.note}


def _client(tracking_uri: str) -> Any:
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=tracking_uri)


def latest_nightly_run(tracking_uri: str, experiment: str, suite: str, exclude: str | None = None) -> str | None:
    """The id of the last good nightly run of `suite`, or None."""
    client = _client(tracking_uri)
    found = client.get_experiment_by_name(experiment)
    if found is None:
        return None
    query = (f"tags.{SUITE_TAG} = '{suite}' and tags.{KIND_TAG} = '{NIGHTLY_KIND}' "
             f"and attributes.status = 'FINISHED' and tags.{GATE_TAG} != 'failed'")
    runs = client.search_runs([found.experiment_id], filter_string=query,
                              order_by=["attributes.start_time DESC"], max_results=10)
    return next((r.info.run_id for r in runs if r.info.run_id != exclude), None)


def download_run(tracking_uri: str, run_id: str, destination: Path) -> Path:
    """Fetch a run's results into `destination`; returns the folder to hand to `load_run`."""
    from mlflow.artifacts import download_artifacts

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # a bar per file clutters CI logs
    client = _client(tracking_uri)
    run = client.get_run(run_id)  # raises with MLflow's message when the id is unknown
    destination.mkdir(parents=True, exist_ok=True)
    names = {a.path for a in client.list_artifacts(run_id)}
    if TASKS_ARTIFACT in names:  # a nightly run
        download_artifacts(run_id=run_id, artifact_path=TASKS_ARTIFACT, dst_path=str(destination),
                           tracking_uri=tracking_uri)
        return destination / TASKS_ARTIFACT
    if "summary.json" not in names:
        raise RunDataError(f"MLflow run {run_id} has neither a `{TASKS_ARTIFACT}/` nor a summary.json artifact; "
                           "give the parent run of `rft-evals run` or `rft-evals nightly`")
    for name in ("summary.json", "resolved_config.yaml"):
        if name in names:
            download_artifacts(run_id=run_id, artifact_path=name, dst_path=str(destination),
                               tracking_uri=tracking_uri)
    # A plain run logs each candidate's records in its nested run.
    children = client.search_runs([run.info.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{run_id}'",
                                  max_results=200)
    records = destination / "records"
    records.mkdir(exist_ok=True)
    for child in children:
        for artifact in client.list_artifacts(child.info.run_id):
            if artifact.path.endswith(".jsonl"):
                download_artifacts(run_id=child.info.run_id, artifact_path=artifact.path, dst_path=str(records),
                                   tracking_uri=tracking_uri)
    return destination


def resolve_run(reference: str, tracking_uri: str | None, scratch: Path) -> tuple[str | None, Path]:
    """A run folder or an MLflow run id -> (run id or None, local folder)."""
    path = Path(reference)
    if path.exists():
        return None, path
    if RUN_ID.match(reference):
        if not tracking_uri:
            raise RunDataError(f"{reference} looks like an MLflow run id but no tracking URI is set; pass "
                               "--tracking-uri or set MLFLOW_TRACKING_URI")
        return reference, download_run(tracking_uri, reference, scratch / reference)
    raise RunDataError(f"{reference!r} is neither an existing folder nor an MLflow run id (32 hex digits)")


def check_baseline(policy: BaselinePolicy, tracking: Mapping[str, Any] | None, where: str) -> None:
    """Refuse a baseline that cannot be found before the night spends anything on model calls."""
    if policy.kind is BaselineKind.PATH:
        try:
            load_run(Path(str(policy.value)))
        except RunDataError as exc:
            raise RunDataError(f"{where}: baseline {policy.value!r}: {exc}") from exc
    elif policy.kind is BaselineKind.PINNED and tracking and tracking.get("enabled", True):
        try:
            _client(str(tracking["uri"])).get_run(str(policy.value))
        except Exception as exc:  # noqa: BLE001 - MLflow's error says whether the id or the server is wrong
            raise RunDataError(f"{where}: baseline run {policy.value} cannot be read from MLflow at "
                               f"{tracking['uri']}: {exc}") from exc


def find_baseline(policy: BaselinePolicy, suite: str, *, tracking: Mapping[str, Any] | None,
                  exclude_run_id: str | None, scratch: Path) -> Baseline:
    """The baseline the suite's policy names, loaded; a Baseline with source `none` and a note when there is
    none (first night, tracking off, nothing finished yet)."""
    uri = str(tracking["uri"]) if tracking and tracking.get("enabled", True) else None
    if policy.kind is BaselineKind.NONE:
        return Baseline("none", note="the suite sets baseline: none")
    if policy.kind is BaselineKind.PATH:
        path = Path(str(policy.value))
        return Baseline("path", run_dir=path, tasks=load_run(path))
    if uri is None:
        return Baseline("none", note="MLflow tracking is off, so no earlier nightly run can be found; "
                        "set suite.baseline to a run folder to compare against one")
    if policy.kind is BaselineKind.PINNED:
        run_id = str(policy.value)
        folder = download_run(uri, run_id, scratch / run_id)
        return Baseline("pinned", run_id=run_id, run_dir=folder, tasks=load_run(folder))
    try:
        run_id = latest_nightly_run(uri, str(tracking.get("experiment") or "rft-evals"), suite, exclude_run_id)
    except Exception as exc:  # noqa: BLE001 - an unreachable store means no baseline tonight, said loudly
        log.warning("could not search MLflow for the baseline: %s", exc)
        return Baseline("none", note=f"searching MLflow for the last good `{suite}` night failed: {exc}")
    if run_id is None:
        return Baseline("none", note=f"no earlier finished nightly run of suite `{suite}` whose gate passed "
                        "(first night?)")
    folder = download_run(uri, run_id, scratch / run_id)
    return Baseline("mlflow-latest", run_id=run_id, run_dir=folder, tasks=load_run(folder))
