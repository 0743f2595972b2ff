"""MLflow is a convenience, the run folder is the record: when the tracking server is down (at start or
half way through) the run goes on, says so once, and leaves the upload to `rft-evals sync RUN_DIR`.

`ResilientTracker` forwards every call to an `evals.tracking.tracker.Tracker`; the first failure switches it to
offline mode, after which calls return None without trying again (a dead server would otherwise cost every
call its full HTTP timeout)."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from typing import Any

from evals.tracking.redact import redact_text
from evals.tracking.tracker import Tracker, TrackingSettings

log = logging.getLogger(__name__)

# MLflow's HTTP client retries for minutes by default; a nightly job should notice an outage in seconds.
# Users can still raise these through the environment.
HTTP_DEFAULTS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1", "MLFLOW_HTTP_REQUEST_TIMEOUT": "30",
                 "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1"}

HOST_TAG, PID_TAG, RUN_DIR_TAG = "rft.host", "rft.pid", "rft.run_dir"


def process_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


class ResilientTracker:
    def __init__(self, settings: TrackingSettings, on_offline: Callable[[str], None] | None = None):
        for key, value in HTTP_DEFAULTS.items():
            os.environ.setdefault(key, value)
        self.settings = settings
        self.offline_reason: str | None = None
        self._on_offline = on_offline
        self._inner: Tracker | None = None
        try:
            self._inner = Tracker(settings)
        except Exception as exc:  # noqa: BLE001 - any failure to reach the store means "offline"
            self._go_offline("connect", exc)

    @property
    def online(self) -> bool:
        return self.offline_reason is None

    def _go_offline(self, what: str, exc: BaseException) -> None:
        if self.offline_reason is None:
            self.offline_reason = redact_text(f"{what} failed: {type(exc).__name__}: {exc}")[:500]
            log.warning("MLflow tracking at %s is unavailable (%s); the run goes on and keeps its results "
                        "in the run folder", redact_text(self.settings.uri), self.offline_reason)
            if self._on_offline is not None:
                self._on_offline(self.offline_reason)

    def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        if self._inner is None or self.offline_reason is not None:
            return None
        try:
            return getattr(self._inner, name)(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - see module docstring
            self._go_offline(name, exc)
            return None

    def __getattr__(self, name: str) -> Callable[..., Any]:
        # Only Tracker's public methods are forwarded; anything else is a programming error.
        if name.startswith("_") or not callable(getattr(Tracker, name, None)):
            raise AttributeError(name)
        return lambda *args, **kwargs: self._call(name, *args, **kwargs)

    # ------------------------------------------------------------------ run lifecycle helpers
    def resume_parent(self, run_id: str, tags: dict[str, str]) -> str | None:
        """Reopen the parent run of an interrupted run, so its candidates land where the others are; the
        tags name the process now running it (the stale-run check reads them)."""
        def reopen(tracker: Tracker) -> str:
            mlflow = tracker._mlflow  # noqa: SLF001 - Tracker owns the mlflow module
            mlflow.start_run(run_id=run_id)
            mlflow.set_tags({k: redact_text(str(v)) for k, v in tags.items()})
            return run_id

        return self._with_inner("resume_parent", reopen)

    def parent_exists(self, run_id: str) -> bool:
        def exists(tracker: Tracker) -> bool:
            from mlflow.exceptions import MlflowException

            try:
                tracker._mlflow.get_run(run_id)  # noqa: SLF001
            except MlflowException:
                return False
            return True

        return bool(self._with_inner("parent_exists", exists))

    def fail_stale_runs(self) -> list[str]:
        """Runs of this host still marked RUNNING whose process is gone (killed, machine rebooted) are
        marked FAILED, so nothing stays "running" forever. Returns their ids."""
        def reap(tracker: Tracker) -> list[str]:
            client = tracker._mlflow.tracking.MlflowClient()  # noqa: SLF001
            host = socket.gethostname()
            stale = []
            runs = client.search_runs([tracker.experiment_id], filter_string=f"tags.`{HOST_TAG}` = '{host}' "
                                      "and attributes.status = 'RUNNING'", max_results=500)
            for run in runs:
                pid = int(run.data.tags.get(PID_TAG, "0") or 0)
                if pid == os.getpid() or process_alive(pid):
                    continue
                client.set_terminated(run.info.run_id, status="FAILED")
                stale.append(run.info.run_id)
            if stale:
                log.warning("marked %d interrupted MLflow run(s) FAILED: %s", len(stale), ", ".join(stale))
            return stale

        return self._with_inner("fail_stale_runs", reap) or []

    def _with_inner(self, what: str, action: Callable[[Tracker], Any]) -> Any:
        if self._inner is None or self.offline_reason is not None:
            return None
        try:
            return action(self._inner)
        except Exception as exc:  # noqa: BLE001
            self._go_offline(what, exc)
            return None


def process_tags(run_dir: str) -> dict[str, str]:
    """Tags that let a later process tell whether a RUNNING run is still alive, and find its folder."""
    return {HOST_TAG: socket.gethostname(), PID_TAG: str(os.getpid()), RUN_DIR_TAG: run_dir}
