"""A progress bar for long loops: a rich bar (with elapsed time and ETA) on a terminal; elsewhere silent by
default (the Lambda, library use), or, when `plain_every_s` is given, a plain line on stderr every that many
seconds and at the end, so a nightly job's log still shows where it is and how long is left."""

from __future__ import annotations

import sys
import time


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


class ProgressBar:
    def __init__(self, description: str | None, total: int, *, plain_every_s: float | None = None):
        self.total = total
        self.description = description
        self._bar = None
        self._plain_every = None
        self._done = 0
        self._start = self._last = time.monotonic()
        if not description or total == 0:
            return
        if not sys.stderr.isatty():
            self._plain_every = plain_every_s
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
                             TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), transient=True)
        self._task = self._bar.add_task(description, total=total)
        self._bar.start()

    def _line(self, final: bool = False) -> str:
        elapsed = time.monotonic() - self._start
        if final:
            return f"{self.description}: {self._done}/{self.total} done in {_duration(elapsed)}"
        eta = elapsed / self._done * (self.total - self._done) if self._done else float("nan")
        left = _duration(eta) if eta == eta else "?"
        return f"{self.description}: {self._done}/{self.total}, elapsed {_duration(elapsed)}, ETA {left}"

    def advance(self, steps: int = 1) -> None:
        self._done += steps
        if self._bar is not None:
            self._bar.advance(self._task, steps)
        elif self._plain_every is not None and time.monotonic() - self._last >= self._plain_every:
            self._last = time.monotonic()
            print(self._line(), file=sys.stderr, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
        elif self._plain_every is not None:
            print(self._line(final=True), file=sys.stderr, flush=True)
            self._plain_every = None
