"""`rft-evals run resume=<run dir | MLflow run id>`: run the interrupted run again, in its own folder, with the
overrides it was started with (Hydra saved them in `<run dir>/.hydra/overrides.yaml`)."""

from __future__ import annotations

import os
from pathlib import Path

from omegaconf import OmegaConf

from evals.tracking.redact import REDACTED

# Overrides that describe where a run lives rather than what it computes; the resumed run sets its own.
_PLACEMENT = ("resume=", "hydra.run.dir=", "+resume=")


class ResumeError(ValueError):
    pass


def _tracking_uri(argv: list[str]) -> str:
    for arg in argv:
        if arg.startswith("tracking.uri="):
            return arg.split("=", 1)[1]
    return os.environ.get("MLFLOW_TRACKING_URI", "sqlite:///mlflow.db")


def run_dir_of(target: str, argv: list[str]) -> Path:
    """The run folder named by `target`: a path, or the MLflow run id whose `rft.run_dir` tag names it."""
    path = Path(target).expanduser()
    if path.is_dir():
        return path
    from evals.tracking.resilient import RUN_DIR_TAG

    try:
        import mlflow

        mlflow.set_tracking_uri(_tracking_uri(argv))
        run = mlflow.get_run(target)
    except Exception as exc:  # noqa: BLE001 - any lookup failure gets the same advice
        raise ResumeError(f"resume={target}: not a run folder, and not an MLflow run id that the tracking store "
                          f"{_tracking_uri(argv)} knows ({type(exc).__name__}); pass the run folder "
                          "(runs/<date>/<time>-<task>) or set tracking.uri=") from None
    folder = run.data.tags.get(RUN_DIR_TAG)
    if not folder or not Path(folder).is_dir():
        raise ResumeError(f"resume={target}: MLflow run found, but its run folder {folder!r} is not on this "
                          "machine; resume from the machine that ran it, or pass the folder")
    return Path(folder)


def resume_argv(argv: list[str]) -> list[str]:
    """The argv of a resumed run, or `argv` unchanged when it does not ask to resume."""
    targets = [a.split("=", 1)[1] for a in argv if a.startswith("resume=")]
    if not targets or targets[-1] in ("", "null", "None"):
        return argv
    run_dir = run_dir_of(targets[-1], argv).resolve()
    saved = run_dir / ".hydra" / "overrides.yaml"
    if not saved.exists():
        raise ResumeError(f"resume: {saved} is missing, so the run's overrides are unknown; it was not started "
                          "by `rft-evals run` or its .hydra folder was removed")
    original = [str(o) for o in (OmegaConf.load(saved) or [])
                if not str(o).startswith(_PLACEMENT)]
    hidden = [o for o in original if REDACTED in o]
    if hidden:
        raise ResumeError(f"resume: the overrides {hidden} held secrets, which are never written to disk; put them "
                          "in the environment (e.g. AWS_PROFILE, OPENAI_API_KEY via ${oc.env:...}) and start a "
                          "new run")
    extra = [a for a in argv if not a.startswith(_PLACEMENT)]
    if extra:
        # The resumed run must compute what the first one did; new overrides would mix two configs.
        raise ResumeError(f"resume: drop the other overrides {extra}; a resumed run uses the ones it started "
                          f"with ({original or 'none'})")
    return [*original, f"resume={run_dir}", f"hydra.run.dir={run_dir}"]
