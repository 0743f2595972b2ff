"""A progress bar for long loops that is silent where nobody watches (logs, CI, the Lambda): shown only on a
terminal, and only when rich is importable."""

from __future__ import annotations

import sys


class ProgressBar:
    def __init__(self, description: str | None, total: int):
        self.total = total
        self._bar = None
        if not description or total == 0 or not sys.stderr.isatty():
            return
        try:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )
        except ImportError:
            return
        self._bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                             TimeElapsedColumn(), TimeRemainingColumn(), transient=True)
        self._task = self._bar.add_task(description, total=total)
        self._bar.start()

    def advance(self, steps: int = 1) -> None:
        if self._bar is not None:
            self._bar.advance(self._task, steps)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
