"""One scored sample: the record a run writes per (item, candidate) and the per-sample scores read from it.

Public: the names in __all__ (imported on first use). `_`-prefixed modules serve this package only."""

from evals._exports import lazy_exports

_EXPORTS = {
    "RecordWriter": "records",
    "SampleRecord": "records",
    "compact_values": "records",
    "completed_records": "records",
    "error_counts": "records",
    "read_records": "records",
    "sample_score": "scores",
    "sample_scores": "scores",
}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
