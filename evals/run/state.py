"""`run_state.json` in a run folder: how far a run got and where its MLflow runs are. A resumed run reads it
to skip candidates already logged and to reopen its parent run; `rft-evals sync` reads it to upload what an
outage kept from the tracking server."""

from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

FILENAME = "run_state.json"


@dataclass
class RunState:
    status: str = "running"  # running | finished | failed
    pid: int = 0
    host: str = ""
    started_at: float = 0.0
    updated_at: float = 0.0
    resumed: int = 0  # how many times the run was resumed
    tracking_uri: str | None = None
    parent_run_id: str | None = None
    candidate_run_ids: dict[str, str] = field(default_factory=dict)  # candidates logged to MLflow
    finished_candidates: list[str] = field(default_factory=list)  # candidates with every record on disk
    tracking_pending: bool = False  # something could not reach MLflow: `rft-evals sync` uploads it
    tracking_error: str | None = None

    @classmethod
    def load(cls, run_dir: Path) -> RunState | None:
        path = run_dir / FILENAME
        if not path.exists():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise ValueError(f"{path} is damaged ({exc}); delete it to resume without MLflow state") from exc
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})

    @classmethod
    def begin(cls, run_dir: Path) -> RunState:
        """The state of a run starting now in `run_dir`: the previous state when resuming, else a new one."""
        state = cls.load(run_dir)
        now = time.time()
        if state is None:
            state = cls(started_at=now)
        else:
            state.resumed += 1
        state.status, state.pid, state.host, state.updated_at = "running", os.getpid(), socket.gethostname(), now
        return state

    def save(self, run_dir: Path) -> None:
        """Atomic: a crash leaves the old or the new file, never half of one."""
        self.updated_at = time.time()
        run_dir.mkdir(parents=True, exist_ok=True)
        tmp = run_dir / f".{FILENAME}.{os.getpid()}.tmp"
        tmp.write_text(json.dumps(asdict(self), indent=2, sort_keys=True), encoding="utf-8")
        os.replace(tmp, run_dir / FILENAME)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
