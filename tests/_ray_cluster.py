"""A local Ray cluster for tests: a head and one more node, 1 CPU each, bounded object store, no dashboard, every
server bound to 127.0.0.1 (`ray start` would swap 127.0.0.1 for the machine's address; ray.cluster_utils keeps
it). Run as its own process in its own session, so the test can stop it and everything it started:

    python tests/_ray_cluster.py <temp dir>     (RAY_TMPDIR must be <temp dir>)

It prints one JSON line {"address", "head", "worker"} (node ids; worker_raylet: the worker node's raylet pid),
then obeys one command per line on stdin: `kill-worker` (the worker node dies at once, no graceful drain),
`add-worker`, `stop` (or end of input). Each command is answered with one JSON line."""

from __future__ import annotations

import json
import sys

OBJECT_STORE_BYTES = 80 * 1024 * 1024


def _node_args(temp_dir: str) -> dict:
    return {"node_ip_address": "127.0.0.1", "num_cpus": 1, "object_store_memory": OBJECT_STORE_BYTES,
            "temp_dir": temp_dir}


def _say(**fields) -> None:
    print(json.dumps(fields), flush=True)


def main(temp_dir: str) -> None:
    from ray.cluster_utils import Cluster

    head_args = {**_node_args(temp_dir), "include_dashboard": False}
    cluster = Cluster(initialize_head=True, head_node_args=head_args)
    try:
        worker = cluster.add_node(**_node_args(temp_dir))
        cluster.wait_for_nodes()
        _say(address=cluster.address, head=cluster.head_node.node_id, worker=worker.node_id,
             worker_raylet=worker.all_processes["raylet"][0].process.pid)
        for line in sys.stdin:
            command = line.strip()
            if command == "kill-worker":
                cluster.remove_node(worker, allow_graceful=False)
                _say(killed=worker.node_id)
            elif command == "add-worker":
                worker = cluster.add_node(**_node_args(temp_dir))
                cluster.wait_for_nodes()
                _say(worker=worker.node_id, worker_raylet=worker.all_processes["raylet"][0].process.pid)
            elif command == "stop":
                break
            else:
                _say(error=f"unknown command {command!r}")
    finally:
        cluster.shutdown()
        _say(stopped=True)


if __name__ == "__main__":
    main(f"{sys.argv[1]}/ray")
