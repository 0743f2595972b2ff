"""MLflow logging: one parent run per invocation, one nested run per candidate. Everything logged passes
through evals/tracking/redact.py first."""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evals.tracking.redact import flatten, redact, redact_text

log = logging.getLogger(__name__)

MAX_PARAM_LENGTH = 6000  # MLflow rejects longer param values


@dataclass(frozen=True)
class TrackingSettings:
    uri: str
    experiment: str = "rft-evals"
    artifact_location: str | None = None

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> TrackingSettings:
        return cls(uri=str(cfg["uri"]), experiment=str(cfg.get("experiment") or "rft-evals"),
                   artifact_location=cfg.get("artifact_location"))


def _params(config: Mapping[str, Any]) -> dict[str, str]:
    flat = flatten(redact(config))
    return {k[:250]: str(v)[:MAX_PARAM_LENGTH] for k, v in flat.items()}


def tidy(value: float) -> float:
    """A metric as people read it: whole numbers as they are, others to 4 significant digits (2 decimals
    past 1000), so the UI shows 0.8333 and not 0.8333333333333334."""
    if value.is_integer():
        return value
    return round(value, 2) if abs(value) >= 1000 else float(f"{value:.4g}")


def _finite(metrics: Mapping[str, float]) -> dict[str, float]:
    """Defined values only (MLflow has no NaN to chart); zeros stay zeros."""
    return {k: tidy(float(v)) for k, v in metrics.items()
            if v is not None and not isinstance(v, bool | str) and math.isfinite(float(v))}


NOTE_TAG = "mlflow.note.content"  # what the MLflow UI shows as a run's description


class Tracker:
    def __init__(self, settings: TrackingSettings):
        import mlflow  # heavy: imported only when a run is tracked

        self._mlflow = mlflow
        self.trace_limit: int | None = 50  # traces per candidate (evals/run/_sample_log.py); None = every sample
        self.settings = settings
        # mlflow prints a migration banner on a new SQLite store; keep the run's own output readable.
        logging.getLogger("alembic").setLevel(logging.WARNING)
        mlflow.set_tracking_uri(settings.uri)
        self.experiment_id = self._experiment_id(settings)
        mlflow.set_experiment(experiment_id=self.experiment_id)  # traces go to the active experiment

    def _experiment_id(self, settings: TrackingSettings) -> str:
        mlflow = self._mlflow
        experiment = mlflow.get_experiment_by_name(settings.experiment)
        if experiment is not None:
            return experiment.experiment_id
        try:
            return mlflow.create_experiment(settings.experiment, artifact_location=settings.artifact_location)
        except mlflow.exceptions.MlflowException as exc:
            # Parallel jobs of a sweep on a new store race to create it: the loser uses the winner's.
            experiment = mlflow.get_experiment_by_name(settings.experiment)
            if experiment is None or exc.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
            return experiment.experiment_id

    def start_parent(self, run_name: str, config: Mapping[str, Any], tags: Mapping[str, str], *,
                     parent_run_id: str | None = None) -> str:
        # parent_run_id: nest this run under another (a nightly suite run holding one run per task).
        run = self._mlflow.start_run(experiment_id=self.experiment_id, run_name=redact_text(run_name),
                                     tags={k: redact_text(str(v)) for k, v in tags.items()},
                                     nested=parent_run_id is not None, parent_run_id=parent_run_id)
        self._mlflow.log_params(_params(config))
        return run.info.run_id

    def log_candidate(
        self,
        name: str,
        *,
        config: Mapping[str, Any],
        tags: Mapping[str, str],
        metrics: Mapping[str, float],
        table: Mapping[str, Sequence[Any]],
        artifacts: Sequence[Path] = (),
        run_name: str | None = None,
        description: str | None = None,
        traces: Callable[[Any, str], int] | None = None,
    ) -> str:
        """`traces(mlflow, run_id)` logs the per-sample traces inside the run and returns how many; the count
        is logged as the metric `traces_logged` (next to `samples`, so a sampled run says so)."""
        mlflow = self._mlflow
        run_tags = {k: redact_text(str(v)) for k, v in tags.items()}
        if description:
            run_tags[NOTE_TAG] = redact_text(description)
        with mlflow.start_run(experiment_id=self.experiment_id, run_name=redact_text(run_name or name), nested=True,
                              tags=run_tags) as run:
            mlflow.log_params(_params(config))
            mlflow.log_metrics(_finite(metrics))
            mlflow.log_table(data={k: list(v) for k, v in table.items()}, artifact_file="samples.json")
            for path in artifacts:
                if path.exists():
                    mlflow.log_artifact(str(path))
            if traces is not None:
                try:
                    mlflow.log_metric("traces_logged", traces(mlflow, run.info.run_id))
                except Exception as exc:  # noqa: BLE001 - traces are a view; the table and records hold it all
                    log.warning("per-sample traces of %s were not logged: %s", name, exc)
            return run.info.run_id

    def log_run_metrics(self, run_id: str, metrics: Mapping[str, float]) -> None:
        """Metrics on a run that is not the active one (a nightly task run, after the suite's analysis)."""
        from mlflow.entities import Metric
        from mlflow.tracking import MlflowClient

        now = int(time.time() * 1000)
        batch = [Metric(k[:250], v, now, 0) for k, v in _finite(metrics).items()]
        client = MlflowClient(tracking_uri=self.settings.uri)
        for start in range(0, len(batch), 1000):  # MLflow takes at most 1000 metrics per batch
            client.log_batch(run_id, metrics=batch[start:start + 1000])

    def set_description(self, run_id: str, text: str) -> None:
        from mlflow.tracking import MlflowClient

        MlflowClient(tracking_uri=self.settings.uri).set_tag(run_id, NOTE_TAG, redact_text(text))

    def log_parent_metrics(self, metrics: Mapping[str, float]) -> None:
        self._mlflow.log_metrics(_finite(metrics))

    def log_parent_artifact(self, path: Path, artifact_path: str | None = None) -> None:
        if path.is_dir():
            self._mlflow.log_artifacts(str(path), artifact_path=artifact_path)
        elif path.exists():
            self._mlflow.log_artifact(str(path), artifact_path=artifact_path)

    def end(self, status: str = "FINISHED") -> None:
        self._mlflow.end_run(status=status)


def default_uri() -> str:
    return os.environ.get("MLFLOW_TRACKING_URI", "sqlite:///mlflow.db")
