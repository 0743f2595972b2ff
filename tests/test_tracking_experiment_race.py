"""Parallel jobs of a sweep (joblib or Ray) on a new MLflow store race to create the experiment; the loser must
use the winner's experiment, not go offline (found by tests/test_ray_cluster.py against a fresh server)."""

from __future__ import annotations

import mlflow

from evals.tracking.tracker import Tracker, TrackingSettings


def test_losing_the_race_to_create_the_experiment_uses_the_winners(tmp_path, monkeypatch):
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    mlflow.set_tracking_uri(uri)
    winner = mlflow.create_experiment("rft-evals")  # another job got there first...
    real_lookup = mlflow.get_experiment_by_name
    lookups = []

    def lookup_before_the_winner_committed(name):  # ...just after this job looked and found nothing
        lookups.append(name)
        return None if len(lookups) == 1 else real_lookup(name)

    monkeypatch.setattr(mlflow, "get_experiment_by_name", lookup_before_the_winner_committed)
    tracker = Tracker(TrackingSettings(uri=uri))
    assert tracker.experiment_id == winner and len(lookups) == 2
