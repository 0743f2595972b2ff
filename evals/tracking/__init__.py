"""Experiment tracking (MLflow): the tracker, its outage-tolerant wrapper and secret redaction."""
