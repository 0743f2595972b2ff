"""evals/inference/progress.py off a terminal: silent by default, plain lines with an ETA when asked (a nightly's
log)."""

import io
import sys

import pytest

from evals.inference.progress import ProgressBar


def test_plain_lines_say_where_the_loop_is_and_how_long_is_left(monkeypatch):
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    bar = ProgressBar("[1/4] contract_review · smollm2", 4, plain_every_s=0.0)
    for _ in range(4):
        bar.advance()
    bar.close()
    lines = err.getvalue().splitlines()
    assert lines[0].startswith("[1/4] contract_review · smollm2: 1/4, elapsed ") and "ETA " in lines[0]
    assert lines[-1].startswith("[1/4] contract_review · smollm2: 4/4 done in ")
    assert len(lines) == 5


@pytest.mark.parametrize("every", [None])
def test_silent_off_a_terminal_unless_asked(monkeypatch, every):
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    bar = ProgressBar("x", 3, plain_every_s=every)
    bar.advance(3)
    bar.close()
    assert err.getvalue() == ""
