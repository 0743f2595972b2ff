"""The repository runs on any machine: no test, script or module names one machine's absolute folders."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCANNED = ("tests", "scripts", "evals", "tasks", "metrics", ".ci")
SUFFIXES = {".py", ".sh", ".yaml", ".yml", ".json", ".toml", ".cfg", ".txt", ""}
# home and workspace folders of typical machines; written in pieces so this file does not match itself
MACHINE_ROOTS = ("work", "home", "Users", "root")
PATTERN = re.compile(r"(?<![\w.~-])/(?:" + "|".join(MACHINE_ROOTS) + r")/")


def machine_paths(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if PATTERN.search(line)]


def test_the_pattern_catches_machine_paths():
    assert machine_paths('DATA = "/' + 'work/shared/data"')
    assert machine_paths("cd /" + "home/alice/rft-evals && pytest")
    assert machine_paths("open('/" + "Users/bob/data.csv')")
    assert not machine_paths("https://example.org/work/item and ./work/x and ~/work/y and runs/<date>")


def test_no_absolute_machine_paths_in_code_tests_or_scripts():
    found = {}
    for folder in SCANNED:
        for path in sorted((REPO / folder).rglob("*")):
            if not path.is_file() or path.suffix not in SUFFIXES or "__pycache__" in path.parts:
                continue
            hits = machine_paths(path.read_text(encoding="utf-8", errors="replace"))
            if hits:
                found[str(path.relative_to(REPO))] = hits
    assert not found, f"machine-specific absolute paths (use the data root / tmp_path instead): {found}"


def test_missing_data_fails_the_test_and_says_how_to_get_it(tmp_path):
    import pytest

    from _data import require_dataset

    with pytest.raises(pytest.fail.Exception) as failed:
        require_dataset("claudette", root=tmp_path)
    message = str(failed.value)
    assert "RFT_DATA_DIR" in message and "rft-evals data fetch" in message and str(tmp_path) in message


def test_no_test_skips_for_want_of_data():
    # data the tests need is required through tests/_data.py (a failure), never skipped around
    offenders = [p.name for p in (REPO / "tests").glob("test_*.py")
                 if re.search(r"skip\([^)]*(data|RFT_DATA_DIR|not under)", p.read_text(encoding="utf-8"))]
    assert not offenders
