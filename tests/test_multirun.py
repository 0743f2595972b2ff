"""Hydra multirun through `rft-evals run -m`: the joblib launcher runs a seed sweep of the TF-IDF baseline in
parallel processes, one run folder per job; the shipped Ray launcher config composes for a cluster."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
BASELINE_ONLY = ["candidates=local", "~candidates.smollm2_zero_shot", "~candidates.smollm2_few_shot"]


@pytest.mark.slow
def test_joblib_multirun_writes_one_run_folder_per_job(tmp_path, data_root):
    pytest.importorskip("hydra_plugins.hydra_joblib_launcher", reason='pip install -e ".[scale]"')
    env = {**os.environ, "RFT_DATA_DIR": str(data_root)}
    env.pop("MLFLOW_TRACKING_URI", None)
    sweep = tmp_path / "sweep"
    command = [sys.executable, "-m", "evals.cli", "run", "-m", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2",
               *BASELINE_ONLY, "seed=0,1", "limit=2", "tracking=none",
               # one cache file per job: see docs/scaling.md (SQLite's WAL wants one host per file)
               f"cache.path={tmp_path}/cache/job-${{hydra:job.num}}.sqlite", f"hydra.sweep.dir={sweep}"]
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    launcher = yaml.safe_load((sweep / "multirun.yaml").read_text())["hydra"]["launcher"]
    assert launcher["_target_"].endswith("JoblibLauncher") and launcher["n_jobs"] == 2
    chosen = {}
    for job, seed in ((0, 0), (1, 1)):
        folder = sweep / str(job)
        assert f"seed={seed}" in yaml.safe_load((folder / ".hydra" / "overrides.yaml").read_text())
        records = [json.loads(line) for line in (folder / "records" / "tfidf_baseline.jsonl").read_text().splitlines()]
        assert len(records) == 2 and all(r["values"] for r in records), records
        summary = json.loads((folder / "summary.json").read_text())
        assert summary["candidates"]["tfidf_baseline"]["scored"] == 2
        chosen[seed] = {r["item_id"] for r in records}
        assert (tmp_path / "cache" / f"job-{job}.sqlite").exists()
    assert chosen[0] != chosen[1]  # the seed picks the sample: the two jobs really ran different configs


def test_ray_cluster_launcher_config_composes():
    """The shipped Ray config, as Hydra composes it (hydra-ray-launcher itself is not installed here)."""
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3", job_name="t"):
        cfg = compose(config_name="config", overrides=["hydra/launcher=ray_cluster"], return_hydra_config=True)
    launcher = cfg.hydra.launcher
    assert launcher._target_ == "hydra_plugins.hydra_ray_launcher.ray_launcher.RayLauncher"
    assert set(launcher) == {"_target_", "ray"}  # RayLauncher(ray=...) takes nothing else
    assert launcher.ray.init.object_store_memory is None  # ray.init refuses it for an existing cluster
    assert launcher.ray.init.address == os.environ.get("RAY_ADDRESS", "auto")
    assert launcher.ray.remote.max_calls == 1 and launcher.ray.remote.num_cpus >= 1


def test_run_passes_the_multirun_flag_to_hydra(monkeypatch):
    """`rft-evals run -m ...` hands argv to Hydra untouched, so -m/--multirun reaches it."""
    import evals.run.command
    from evals import cli

    seen: list[list[str]] = []
    monkeypatch.setattr(evals.run.command, "hydra_main", lambda: seen.append(list(sys.argv)))
    monkeypatch.setattr(sys, "argv", ["rft-evals"])
    assert cli.main(["run", "-m", "hydra/launcher=joblib", "seed=0,1"]) == 0
    assert seen and seen[0][1:] == ["-m", "hydra/launcher=joblib", "seed=0,1"]
