"""Records files hold completion order, which differs between runs of the same outputs (threads, Ray workers);
what the nightly reads must not depend on it (the paired bootstrap draws by position)."""

from __future__ import annotations

import json
import random

from evals.run.outputs import read_task_records


def _write(folder, item_ids):
    (folder / "records").mkdir(parents=True)
    lines = [json.dumps({"candidate": "a", "role": "base", "item_id": i, "output": "x", "values": {"v": n}})
             for n, i in enumerate(item_ids)]
    (folder / "records" / "a.jsonl").write_text("\n".join(lines) + "\n")


def test_two_completion_orders_read_the_same(tmp_path):
    ids = [f"doc{n}:{w}" for n in range(5) for w in (0, 8, 16)]
    shuffled = ids[:]
    random.Random(1).shuffle(shuffled)
    _write(tmp_path / "one", ids)
    _write(tmp_path / "two", shuffled)
    one, two = read_task_records(tmp_path / "one")["a"], read_task_records(tmp_path / "two")["a"]
    assert [r.item_id for r in one] == [r.item_id for r in two] == sorted(ids)
