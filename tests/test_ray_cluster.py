"""Scale-out on a live Ray cluster (docs/scaling.md): a head and one more node on 127.0.0.1 (tests/_ray_cluster.py)
and a real `mlflow server`.

1. `rft-evals run -m hydra/launcher=ray_cluster` over task.fold x seed: every job runs in a Ray worker (its node
   id is in summary.json, its pid is not the driver's), writes its run folder and its MLflow runs, with the
   figures the same sweep has under the joblib launcher; the worker node is killed while it runs a job, and
   Ray re-runs that job on the head (the launcher retries jobs whose node died), which resumes its folder.
2. The same with retries off (2 jobs): the lost job fails the sweep, loudly (exit code and the Ray error).
3. `rft-evals nightly executor=ray`: the night's (task, candidate) runs spread over the cluster give the same
   comparisons, per-category figures and agreement as a one-machine night, and the same MLflow layout.

The cluster is stopped in a finally block: the helper's shutdown, then its whole process group (only what the
test started)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import yaml
from test_tracking_outage import MlflowServer, _free_port

pytest.importorskip("hydra_plugins.hydra_ray_launcher", reason='pip install -e ".[ray]"')
pytest.importorskip("hydra_plugins.hydra_joblib_launcher", reason='pip install -e ".[scale]"')
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
BASELINE_ONLY = ["candidates=local", "~candidates.smollm2_zero_shot", "~candidates.smollm2_few_shot"]
SWEEP = ["task.fold=0,1", "seed=0,1", "limit=3"]  # 4 jobs
JOB_TIMEOUT_S = 600


class RayCluster:
    """tests/_ray_cluster.py in its own session; commands on its stdin, answers on its stdout."""

    def __init__(self, temp_dir: Path, env: dict[str, str]):
        self.temp_dir = temp_dir
        self.process = subprocess.Popen([sys.executable, str(ROOT / "tests" / "_ray_cluster.py"), str(temp_dir)],
                                        env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                        start_new_session=True)
        started = self._answer()
        self.address, self.head, self.worker = started["address"], started["head"], started["worker"]
        self.worker_raylet, self.worker_alive = started["worker_raylet"], True

    def _answer(self) -> dict:
        line = self.process.stdout.readline()  # blocks until the helper answers (or dies: empty line)
        if not line:
            raise AssertionError(f"the Ray cluster helper exited with {self.process.wait()} (see stderr above)")
        return json.loads(line)

    def _command(self, command: str) -> dict:
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return self._answer()

    def kill_worker(self) -> None:
        self._command("kill-worker")
        self.worker_alive = False

    def ensure_worker(self) -> None:
        if not self.worker_alive:
            answer = self._command("add-worker")
            self.worker, self.worker_raylet, self.worker_alive = answer["worker"], answer["worker_raylet"], True

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                self.process.stdin.close()  # end of input: the helper shuts the cluster down
                self.process.wait(timeout=60)
            except (OSError, subprocess.TimeoutExpired):
                pass
        try:  # whatever the helper left behind in its session (it is the group leader)
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=30)


@pytest.fixture(scope="module")
def ray_env(data_root):
    # A short temp dir: Ray puts Unix sockets under it (107-byte path limit). RAY_TMPDIR keeps Ray's own
    # files (the current-cluster address file) there too instead of /tmp/ray.
    temp = Path(tempfile.mkdtemp(prefix="rft-ray-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "RAY_"))}
    # Ray's client side swaps 127.0.0.1 for the machine's address before connecting (a cluster is meant to span
    # machines); this switch (meant for single-machine platforms) keeps drivers on the loopback address.
    env.update({"RAY_TMPDIR": str(temp), "RAY_USAGE_STATS_ENABLED": "0", "RFT_DATA_DIR": str(data_root),
                "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
                # a lost node is noticed in a few seconds, not ~30 (the GCS health check of each raylet)
                "RAY_health_check_period_ms": "1000", "RAY_health_check_timeout_ms": "1000",
                "RAY_health_check_failure_threshold": "3",
                "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))})
    return temp, env


@pytest.fixture(scope="module")
def cluster(ray_env):
    temp, env = ray_env
    started = time.monotonic()
    cluster = None
    try:
        cluster = RayCluster(temp, env)
        print(f"Ray cluster (head + 1 node) up in {time.monotonic() - started:.1f} s at {cluster.address}")
        yield cluster
    finally:
        if cluster is not None:
            cluster.stop()
        leftovers = _processes_mentioning(str(temp))
        assert not leftovers, f"Ray processes left running: {leftovers}"


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory):
    server = MlflowServer(tmp_path_factory.mktemp("mlflow"), _free_port())
    try:
        yield server.start()
    finally:
        server.stop()


def _processes_mentioning(text: str) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if text in (proc / "cmdline").read_bytes().decode(errors="replace"):
                    found.append(int(proc.name))
            except OSError:
                continue
    return found


def _driver_env(cluster: RayCluster, env: dict[str, str]) -> dict[str, str]:
    return {**env, "RAY_ADDRESS": cluster.address, "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2"}


def _sweep(tmp: Path, name: str, launcher: list[str], tracking: list[str], sweep: list[str] = SWEEP) -> list[str]:
    return [sys.executable, "-m", "evals.cli", "run", "-m", *launcher, *BASELINE_ONLY, *sweep, *tracking,
            f"cache.path={tmp}/cache-{name}/job-${{hydra:job.num}}.sqlite", f"hydra.sweep.dir={tmp}/{name}"]


def _ray_launcher(*extra: str) -> list[str]:
    return ["hydra/launcher=ray_cluster", "hydra.launcher.ray.remote.num_cpus=1", *extra]


def _job_on_worker(sweep: Path, cluster: RayCluster, driver: subprocess.Popen, timeout_s: float = 300) -> Path:
    """The folder of a job that is running right now on the worker node (its process is a child of the worker
    node's raylet), once one is."""
    end = time.monotonic() + timeout_s
    while time.monotonic() < end and driver.poll() is None:
        for state_path in sweep.glob("*/run_state.json"):
            try:
                state = json.loads(state_path.read_text())
                parent = int(Path(f"/proc/{state['pid']}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, KeyError):
                continue  # being written, or the process is gone
            if state["status"] == "running" and parent == cluster.worker_raylet:
                return state_path.parent
        time.sleep(0.2)
    out, err = driver.communicate(timeout=60) if driver.poll() is not None else ("", "")
    raise AssertionError(f"no job ran on the worker node within {timeout_s} s\n{out[-2000:]}\n{err[-3000:]}")


def _figures(job: Path) -> tuple[dict, list]:
    summary = json.loads((job / "summary.json").read_text())["candidates"]["tfidf_baseline"]
    records = [json.loads(line) for line in (job / "records" / "tfidf_baseline.jsonl").read_text().splitlines()]
    return summary["metrics"], sorted((r["item_id"], json.dumps(r["values"], sort_keys=True)) for r in records)


def _sweep_losing_the_worker(command, tmp_path, cluster, env):
    """Start the Ray sweep, kill the worker node while one of its jobs runs, and wait for the driver; returns
    (driver, the lost job, stdout, stderr). The driver is killed if it outlives the wait."""
    driver = subprocess.Popen(command, cwd=tmp_path, env=_driver_env(cluster, env), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        lost = _job_on_worker(tmp_path / "ray", cluster, driver)
        cluster.kill_worker()
        out, err = driver.communicate(timeout=JOB_TIMEOUT_S)
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait()
    return driver, lost, out, err


def test_ray_sweep_matches_joblib_and_reruns_the_job_of_a_lost_node(cluster, ray_env, mlflow_server, tmp_path):
    from mlflow.tracking import MlflowClient

    from evals.run.runner import candidate_metrics

    _, env = ray_env
    cluster.ensure_worker()
    tracking = ["tracking=server", f"tracking.uri={mlflow_server.url}"]
    started = time.monotonic()
    driver, lost, out, err = _sweep_losing_the_worker(_sweep(tmp_path, "ray", _ray_launcher(), tracking),
                                                      tmp_path, cluster, env)
    ray_s = time.monotonic() - started
    assert driver.returncode == 0, out[-3000:] + err[-5000:]

    started = time.monotonic()
    joblib = subprocess.run(_sweep(tmp_path, "joblib", ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"],
                                   ["tracking=none"]), cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=JOB_TIMEOUT_S)
    joblib_s = time.monotonic() - started
    assert joblib.returncode == 0, joblib.stdout[-3000:] + joblib.stderr[-3000:]
    print(f"4-job sweep: Ray cluster (worker node killed mid-sweep, its job re-run) {ray_s:.1f} s, "
          f"joblib n_jobs=2 {joblib_s:.1f} s")

    client = MlflowClient(tracking_uri=mlflow_server.url)
    nodes = set()
    for job in range(4):
        folder = tmp_path / "ray" / str(job)
        assert _figures(folder) == _figures(tmp_path / "joblib" / str(job)), f"job {job} differs from joblib"
        meta = json.loads((folder / "summary.json").read_text())["meta"]
        state = json.loads((folder / "run_state.json").read_text())
        assert state["status"] == "finished" and state["pid"] != driver.pid
        assert meta["ray_node_id"] in (cluster.head, cluster.worker), meta
        nodes.add(meta["ray_node_id"])
        parent = client.get_run(state["parent_run_id"])
        assert parent.info.status == "FINISHED" and parent.data.tags["ray_node_id"] == meta["ray_node_id"]
        child = client.get_run(state["candidate_run_ids"]["tfidf_baseline"])
        assert child.data.tags["mlflow.parentRunId"] == parent.info.run_id
        expected = candidate_metrics(json.loads((folder / "summary.json").read_text())["candidates"]["tfidf_baseline"])
        expected = {k: v for k, v in expected.items() if v is not None and v == v}  # None/NaN are not logged
        logged = {k: child.data.metrics.get(k) for k in expected}  # the tracker may log more (trace counts)
        assert expected and logged == pytest.approx(expected, rel=1e-3)  # logged to 4 significant digits
    # the lost job was started again by Ray (on the head, the only node left) and resumed its folder
    lost_state = json.loads((lost / "run_state.json").read_text())
    assert lost_state["resumed"] >= 1, lost_state
    assert json.loads((lost / "summary.json").read_text())["meta"]["ray_node_id"] == cluster.head
    assert cluster.head in nodes


def test_without_retries_a_lost_node_fails_the_sweep_loudly(cluster, ray_env, tmp_path):
    _, env = ray_env
    cluster.ensure_worker()
    command = _sweep(tmp_path, "ray", _ray_launcher("hydra.launcher.ray.remote.max_retries=0"), ["tracking=none"],
                     ["seed=0,1", "limit=3"])  # 2 jobs: one per node
    driver, lost, out, err = _sweep_losing_the_worker(command, tmp_path, cluster, env)
    assert driver.returncode != 0, out[-3000:]
    assert any(name in err for name in ("NodeDiedError", "WorkerCrashedError", "died")), err[-3000:]
    # the lost job's folder says it never finished: a rerun of the sweep resumes it
    assert json.loads((lost / "run_state.json").read_text())["status"] == "running"


# --- the nightly suite over the cluster ---------------------------------------------------------------------

SUITE = {
    "name": "raytest", "description": "two offline tasks, non-LLM candidates only", "candidates": "local",
    "only": None, "limit": 4, "seed": 0, "reward": "task", "judge": None, "pairwise_judge": None, "overrides": [],
    "tasks": {
        # two TF-IDF flaggers (the second one stricter), so the task has a comparison
        "contract_review": {"only": ["tfidf_baseline", "tfidf_strict"],
                            "overrides": ["+model@candidates.tfidf_strict=tfidf_baseline",
                                          "candidates.tfidf_strict.threshold=0.8"]},
        "unfair_tos": {"limit": 10, "candidates": "local_majority", "only": ["majority_baseline"],
                       "roles": {"rft": "majority_baseline"}, "agreement": {"production": {"accuracy": 1.0}}},
    },
    "roles": {"base": "tfidf_strict", "rft": "tfidf_baseline"}, "pairs": [["rft", "base"]],
    "agreement": {"reward_metric": "reward", "production": {"risk_f1": 0.5, "schema_valid": 1.0},
                  "reward_threshold": 0.5, "top_k": 3},
    "gate": {"alpha": 0.05, "candidates": None, "metrics": {"risk_f1": {"absolute": 0.05}}, "agreement": {}},
    "baseline": "none", "bootstrap_resamples": 200,
}
VOLATILE = {"mlflow_run_id", "usage", "created", "run_id", "run_dir", "git_commit"}


def _stable(value):
    """nightly.json without what differs between any two nights (run ids, times, folders, latencies)."""
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


def test_nightly_on_the_cluster_reports_what_one_machine_reports(cluster, ray_env, mlflow_server, tmp_path):
    from mlflow.tracking import MlflowClient

    _, env = ray_env
    cluster.ensure_worker()
    (tmp_path / "conf" / "suite").mkdir(parents=True)
    (tmp_path / "conf" / "suite" / "raytest.yaml").write_text(yaml.safe_dump(SUITE))
    common = [sys.executable, "-m", "evals.cli", "nightly", f"hydra.searchpath=[file://{tmp_path}/conf]",
              "suite=raytest", "tracking=server", f"tracking.uri={mlflow_server.url}", "cache.enabled=false",
              "report.enabled=false"]
    seconds = {}
    for night, extra in (("local", []), ("ray", ["executor=ray", f"executor.address={cluster.address}"])):
        started = time.monotonic()
        done = subprocess.run([*common, *extra, f"hydra.run.dir={tmp_path}/{night}"], cwd=tmp_path,
                              env=_driver_env(cluster, env), capture_output=True, text=True, timeout=JOB_TIMEOUT_S)
        seconds[night] = time.monotonic() - started
        assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    print(f"nightly (2 tasks, 3 task x candidate runs): one machine {seconds['local']:.1f} s, "
          f"Ray executor {seconds['ray']:.1f} s")

    local, ray = (json.loads((tmp_path / n / "nightly.json").read_text()) for n in ("local", "ray"))
    assert local["tasks"]["contract_review"]["comparisons"], "the suite compares two candidates"
    assert _stable(ray["tasks"]) == _stable(local["tasks"])
    assert _stable(ray["suite_summary"]) == _stable(local["suite_summary"])
    assert _stable(ray["gate"]) == _stable(local["gate"])

    client = MlflowClient(tracking_uri=mlflow_server.url)
    for night in (local, ray):  # the suite run holds one run per task, each holding one run per candidate
        experiment = client.get_experiment_by_name("rft-evals")
        tasks = client.search_runs([experiment.experiment_id], f"tags.mlflow.parentRunId = '{night['run_id']}'")
        assert sorted(r.data.tags["task"] for r in tasks) == ["contract_review", "unfair_tos"]
        for task_run in tasks:
            children = client.search_runs([experiment.experiment_id],
                                          f"tags.mlflow.parentRunId = '{task_run.info.run_id}'")
            assert len(children) == len(night["tasks"][task_run.data.tags["task"]]["candidates"])
            assert all(c.info.status == "FINISHED" for c in children)
    workers = json.loads((tmp_path / "ray" / "contract_review" / "summary.json").read_text())["meta"]["workers"]
    assert set(workers) == {"tfidf_baseline", "tfidf_strict"}
    assert all(w["ray_node_id"] in (cluster.head, cluster.worker) for w in workers.values())
