"""One evaluation run: the `rft-evals run` command, the runner, its resources, its outputs on disk, resume
and sync.

Public: the names in __all__ (imported on first use). `_`-prefixed modules serve this package only."""

from evals._exports import lazy_exports

_EXPORTS = {
    "aggregates_for": "aggregates",
    "execute": "command",
    "hydra_main": "command",
    "DatasetItems": "items",
    "RunDataError": "outputs",
    "TaskOutputs": "outputs",
    "load_run": "outputs",
    "load_task": "outputs",
    "summary_candidate": "outputs",
    "git_commit": "provenance",
    "ray_node": "provenance",
    "open_run": "resources",
    "ResumeError": "resume",
    "resume_argv": "resume",
    "RunState": "state",
    "SyncError": "sync",
    "sync_run": "sync",
    "USER_ERRORS": "user_errors",
    "exit_on_user_error": "user_errors",
}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
