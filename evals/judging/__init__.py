"""LLM judges: judging candidate outputs, pairwise comparisons, calibration checks.

Public: the names in __all__ (imported on first use). `_`-prefixed modules serve this package only."""

from evals._exports import lazy_exports

_EXPORTS = {
    "check_calibration": "calibration",
    "JudgeRun": "judge",
    "judge_candidate_records": "judge",
    "run_judge": "judge",
    "task_sample": "judge",
    "judge_pairs": "pairwise",
}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
