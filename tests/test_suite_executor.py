"""The nightly's executors without a cluster: the registry's errors, and the task folder the Ray executor joins
from per-candidate results (what tests/test_ray_cluster.py checks end to end on a live cluster)."""

from __future__ import annotations

import json

import pytest
from omegaconf import OmegaConf
from rich.console import Console

from evals.run.outputs import load_task
from evals.suite._executor import LocalExecutor, SuiteExecutorError, TaskRuns, join_task_folder, open_executor


def _runs(tmp_path):
    return TaskRuns({}, tmp_path, Console(file=None))


def test_unknown_executor_names_the_choices(tmp_path):
    with pytest.raises(SuiteExecutorError, match=r"executor=slurm is unknown; choose one of \['local', 'ray'\]"):
        open_executor({"name": "slurm"}, _runs(tmp_path))
    assert isinstance(open_executor(None, _runs(tmp_path)), LocalExecutor)


def _result(name, item_ids, pid):
    records = "".join(json.dumps({"candidate": name, "role": "base", "item_id": i, "output": "x",
                                  "values": {"v": 1.0}}) + "\n" for i in item_ids)
    summary = {"meta": {"task": "t", "data_fingerprint": "abc", "mlflow_parent_run_id": None},
               "candidates": {name: {"n": len(item_ids), "metrics": {}}}}
    return {"code": 0, "output": "", "worker": {"pid": str(pid), "host": "h", "ray_node_id": f"node{pid}"},
            "files": {"summary.json": json.dumps(summary), f"records/{name}.jsonl": records}}


def test_joined_folder_reads_like_a_local_task_folder(tmp_path):
    cfg = OmegaConf.create({"candidates": {"b": {}, "a": {}}, "tracking": {"enabled": False}, "api_key": "sk-x"})
    join_task_folder(tmp_path / "t", cfg, {"a": _result("a", ["2", "1"], 11), "b": _result("b", ["1", "2"], 12)})
    task = load_task(tmp_path / "t", "t")
    assert task.candidates == ["b", "a"]  # the config's order, as a local run writes it
    assert [r.item_id for r in task.records["a"]] == ["1", "2"]
    meta = task.summary["meta"]
    assert meta["executor"] == "ray" and meta["workers"]["a"]["ray_node_id"] == "node11"
    assert json.loads((tmp_path / "t" / "run_state.json").read_text())["status"] == "finished"
    assert "sk-x" not in (tmp_path / "t" / "resolved_config.yaml").read_text()  # redacted like open_run's copy
