"""The engine's retry policy is the one of the whole project: metrics/backoff.py (the reward judge in the
Lambda uses it too, and the Lambda ships only metrics/). Re-exported here for the engine's callers."""

from metrics.backoff import BackoffPolicy

__all__ = ["BackoffPolicy"]
