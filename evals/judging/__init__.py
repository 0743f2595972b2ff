"""LLM judges: judging candidate outputs, pairwise comparisons, calibration checks."""
