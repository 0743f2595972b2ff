"""Fetching pinned data from a mirror: verified copies, hash errors, clear messages, check reports."""

from __future__ import annotations

import functools
import http.server
import json
import shutil
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from evals.cli.data import add_data_commands, check, fetch
from tasks.data_pins import PINS_PATH, load_pins, url
from tasks.data_root import ENV_VAR, MissingDataError, data_root, require


def _mirror_copy(data_root: Path, tmp_path: Path, dataset: str) -> Path:
    """A writable copy of one data set of the mirror."""
    mirror = tmp_path / "mirror"
    shutil.copytree(data_root / dataset, mirror / dataset)
    for path in (mirror / dataset).rglob("*"):
        path.chmod(0o644 if path.is_file() else 0o755)
    return mirror


def test_pins_cover_the_task_files():
    sources = {s.name: s for s in load_pins()}
    assert set(sources) >= {"claudette", "tos_rationales", "unfair_tos", "contract_nli", "cuad", "llmbar"}
    claudette = {f.path for f in sources["claudette"].files}
    assert sum(p.startswith("corpus/sentences/en/original/") for p in claudette) == 50
    assert sum(p.startswith("corpus/tags/en/original/") for p in claudette) == 50
    assert "corpus/lists/LIST_TEST_0.txt" in claudette and "LICENSE.txt" in claudette
    for source in sources.values():
        assert source.license
        for f in source.files:
            assert len(f.sha256) == 64 and f.size > 0
    # the public files have a URL at a pinned commit; the mirror-only ones say so
    assert all(url(f).startswith("https://raw.githubusercontent.com/") for f in sources["claudette"].files)
    cuad = {f.path: f for f in sources["cuad"].files}
    assert url(cuad["full_contract_txt.tar.gz"]) is None and cuad["full_contract_txt.tar.gz"].note
    nli = {f.path: url(f) for f in sources["contract_nli"].files}
    assert "/data/contract-nli/test.json" in nli["test.json"]


def test_fetch_from_mirror_copies_and_verifies_everything(data_root, tmp_path):
    root = tmp_path / "root"
    report = fetch(root, from_dir=data_root, progress=False)
    assert report.ok, report.failed
    pinned = sum(len(s.files) for s in load_pins())
    assert len(report.fetched) == pinned and not report.skipped
    assert report.bytes_written == sum(s.size for s in load_pins())
    for relpath in report.fetched[:20]:
        assert (root / relpath).read_bytes() == (data_root / relpath).read_bytes()
    assert not list(root.rglob("*.partial"))
    # a second run finds everything in place
    again = fetch(root, from_dir=data_root, progress=False)
    assert again.ok and len(again.skipped) == pinned and not again.fetched
    assert check(root).ok


def test_corrupt_mirror_file_gives_hash_error(data_root, tmp_path):
    mirror = _mirror_copy(data_root, tmp_path, "tos_rationales")
    victim = mirror / "tos_rationales/local_database/KB/A_explanations.csv"
    victim.write_bytes(victim.read_bytes() + b"tampered\n")
    root = tmp_path / "root"
    report = fetch(root, from_dir=mirror, only=["tos_rationales"], progress=False)
    assert not report.ok and len(report.failed) == 1
    problem = report.failed[0]
    assert problem.path == "local_database/KB/A_explanations.csv"
    pinned = next(f for s in load_pins() if s.name == "tos_rationales" for f in s.files if f.path == problem.path)
    assert pinned.sha256 in problem.reason and "mismatch" in problem.reason
    assert not (root / "tos_rationales/local_database/KB/A_explanations.csv").exists()  # nothing half-written
    rationale_files = next(s for s in load_pins() if s.name == "tos_rationales").files
    assert len(report.fetched) == len(rationale_files) - 1  # the other files still arrived


def test_mirror_only_file_without_mirror_says_so(tmp_path):
    pins = tmp_path / "pins.json"
    pins.write_text(json.dumps({"version": 1, "sources": [{
        "name": "private", "license": "internal", "url_base": None, "files": [
            {"path": "notes.txt", "sha256": "0" * 64, "size": 1, "mirror_only": True,
             "note": "kept by the team"}]}]}), encoding="utf-8")
    report = fetch(tmp_path / "root", progress=False, sources=load_pins(pins))
    (problem,) = report.failed
    assert "--from DIR" in problem.reason and "kept by the team" in problem.reason


def test_missing_file_message_names_file_and_fix(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    assert data_root() == tmp_path
    with pytest.raises(MissingDataError) as info:
        require("claudette/corpus/lists/LIST_TEST_0.txt")
    message = str(info.value)
    assert "claudette/corpus/lists/LIST_TEST_0.txt" in message and str(tmp_path) in message
    assert "rft-evals data fetch" in message and "--from DIR" in message and ENV_VAR in message


def test_default_root_is_user_cache(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert data_root().parts[-2:] == ("rft-evals", "data")


def test_check_reports_present_missing_corrupt(data_root, tmp_path):
    root = tmp_path / "root"
    assert fetch(root, from_dir=data_root, only=["tos_rationales"], progress=False).ok
    (root / "tos_rationales/LICENSE").unlink()
    corrupt = root / "tos_rationales/local_database/KB/CH_KB.txt"
    corrupt.write_text("not the pinned text", encoding="utf-8")
    report = check(root, only=["tos_rationales", "claudette"])
    rationales = report.status("tos_rationales")
    assert rationales.missing == ["tos_rationales/LICENSE"]
    assert rationales.corrupt == ["tos_rationales/local_database/KB/CH_KB.txt"]
    assert len(rationales.present) == 9
    claudette_files = next(s for s in load_pins() if s.name == "claudette").files
    assert len(report.status("claudette").missing) == len(claudette_files) and not report.ok


def test_cli_exit_codes(data_root, tmp_path):
    import argparse

    parser = argparse.ArgumentParser()
    add_data_commands(parser.add_subparsers(dest="command"))
    root = str(tmp_path / "root")
    args = parser.parse_args(["fetch", "--root", root, "--from", str(data_root), "--only", "llmbar",
                              "--quiet"])
    assert args.func(args) == 0
    args = parser.parse_args(["check", "--root", root, "--only", "llmbar"])
    assert args.func(args) == 0
    args = parser.parse_args(["check", "--root", root, "--only", "claudette"])
    assert args.func(args) == 1
    args = parser.parse_args(["fetch", "--root", root, "--only", "nonesuch", "--quiet"])
    assert args.func(args) == 1


@pytest.fixture()
def http_mirror(data_root):
    """The mirror served over HTTP on 127.0.0.1, to exercise the download path."""
    handler = functools.partial(_QuietHandler, directory=str(data_root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep test output clean
        pass


def _pins_at(base_url: str, tmp_path: Path, dataset: str):
    data = json.loads(PINS_PATH.read_text(encoding="utf-8"))
    source = next(s for s in data["sources"] if s["name"] == dataset)
    source["url_base"] = f"{base_url}/{dataset}/"
    for f in source["files"]:
        f.pop("upstream_path", None)
        f.pop("url", None)
    path = tmp_path / "pins.json"
    path.write_text(json.dumps({"version": 1, "sources": [source]}), encoding="utf-8")
    return load_pins(path)


def test_download_verifies_and_skips(http_mirror, tmp_path):
    sources = _pins_at(http_mirror, tmp_path, "llmbar")  # includes the "LLMEval^2" folder: URL quoting
    root = tmp_path / "root"
    report = fetch(root, progress=False, sources=sources)
    assert report.ok, report.failed
    assert len(report.fetched) == len(sources[0].files)
    assert check(root, sources=sources).ok
    assert fetch(root, progress=False, sources=sources).skipped == report.fetched


def test_download_of_wrong_bytes_is_refused(http_mirror, tmp_path):
    sources = _pins_at(http_mirror, tmp_path, "llmbar")
    bad = replace(sources[0], files=[replace(f, sha256="0" * 64) for f in sources[0].files[:1]])
    report = fetch(tmp_path / "root", progress=False, sources=[bad])
    assert len(report.failed) == 1 and "0" * 64 in report.failed[0].reason
    assert not list((tmp_path / "root").rglob("*.json"))
