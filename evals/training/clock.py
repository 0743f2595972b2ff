"""Per-step wall and CPU time of a trainer, appended to `<stage dir>/steps.jsonl`: CPU seconds per step are
what a stage costs whatever else the machine runs, so they size the defaults (docs/training.md)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any


def step_clock(path: Path) -> Any:
    """A transformers TrainerCallback writing {"step", "wall_seconds", "cpu_seconds"} per optimizer step."""
    from transformers import TrainerCallback

    class StepClock(TrainerCallback):
        def __init__(self) -> None:
            self._wall = self._cpu = 0.0

        def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("", encoding="utf-8")

        def on_step_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self._wall, self._cpu = time.perf_counter(), time.process_time()

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            row = {"step": state.global_step, "wall_seconds": round(time.perf_counter() - self._wall, 2),
                   "cpu_seconds": round(time.process_time() - self._cpu, 2)}
            with path.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(row) + "\n")

    return StepClock()
