"""Experiment tracking (MLflow): the tracker, its outage-tolerant wrapper and secret redaction.

Public: the names in __all__ (imported on first use). `_`-prefixed modules serve this package only."""

from evals._exports import lazy_exports

_EXPORTS = {
    "REDACTED": "redact",
    "redact": "redact",
    "redact_override_list": "redact",
    "redact_text": "redact",
    "RUN_DIR_TAG": "resilient",
    "ResilientTracker": "resilient",
    "process_tags": "resilient",
    "Tracker": "tracker",
    "TrackingSettings": "tracker",
    "default_uri": "tracker",
}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
