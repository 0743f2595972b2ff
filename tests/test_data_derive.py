"""The derived data files (tasks/data_derive.py): LegalBench unfair_tos relabelled, the CUAD texts repacked from
the release zip, the attribution notes. The public sources cannot be downloaded here, so each transformation is
checked on the local copies under the data root: the upstream bytes are rebuilt from our copy (their sha256 is
pinned independently), served from 127.0.0.1, and `data fetch` must turn them into exactly the pinned files."""

from __future__ import annotations

import functools
import http.server
import io
import json
import shutil
import tarfile
import threading
import zipfile
from pathlib import Path

import pytest

from evals.cli.data import check, fetch
from tasks.cuad_risks import cuad
from tasks.data_derive import (
    LEGALBENCH_UNFAIR_TOS_LABELS,
    DerivationError,
    relabel_legalbench_unfair_tos,
    sha256_bytes,
    tar_member_hashes,
    unrelabel_legalbench_unfair_tos,
)
from tasks.data_pins import PINS_PATH, load_pins, source_url


def _pin(dataset: str, path: str):
    return next(f for s in load_pins() if s.name == dataset for f in s.files if f.path == path)


@pytest.fixture(scope="module")
def root():
    from _data import require_dataset

    for name in ("unfair_tos", "cuad"):
        require_dataset(name)
    return require_dataset("claudette")


def test_every_pinned_file_comes_from_a_public_source():
    for source in load_pins():
        for pinned in source.files:
            link = source_url(pinned)
            assert (link or "").startswith("https://") or (pinned.derive and pinned.derive.kind == "text"), \
                f"{source.name}/{pinned.path} has no public source"


def test_the_label_permutation_is_a_bijection_of_the_nine_classes():
    assert sorted(LEGALBENCH_UNFAIR_TOS_LABELS) == sorted(LEGALBENCH_UNFAIR_TOS_LABELS.values())
    assert len(LEGALBENCH_UNFAIR_TOS_LABELS) == 9 and LEGALBENCH_UNFAIR_TOS_LABELS["Other"] == "Other"
    moved = [k for k, v in LEGALBENCH_UNFAIR_TOS_LABELS.items() if k != v]
    assert len(moved) == 8  # every unfair class was permuted, none stayed in place


def test_relabelling_the_upstream_file_gives_our_pinned_file(root):
    ours = (root / "unfair_tos/test.tsv").read_bytes()
    pinned = _pin("unfair_tos", "test.tsv")
    upstream = unrelabel_legalbench_unfair_tos(ours)
    # the rebuilt upstream bytes are legalbench@1c7624b's blob: its sha256 was pinned from git, not from our file
    assert sha256_bytes(upstream) == pinned.derive.sha256
    assert len(upstream) == 737656
    derived = relabel_legalbench_unfair_tos(upstream)
    assert derived == ours and sha256_bytes(derived) == pinned.sha256
    # the permutation matters: the upstream labels read as they stand disagree on every unfair row
    rows = [line.split("\t") for line in upstream.decode().splitlines()[1:]]
    assert sum(label != "Other" for _, label in rows) == 362


def test_relabelling_refuses_an_unexpected_file():
    with pytest.raises(DerivationError, match="header"):
        relabel_legalbench_unfair_tos(b"sentence\tanswer\nx \tOther\n")
    with pytest.raises(DerivationError, match="'Fairness'"):
        relabel_legalbench_unfair_tos(b"text\tlabel\nx \tFairness\n")


def _release_zip(tar_path: Path, out: Path, tamper: str | None = None) -> Path:
    """A zip laid out like the CUAD v1 release (CUAD_v1/full_contract_txt/*.txt next to PDFs, CSV, macOS
    resource forks), holding the texts of our tar.gz."""
    with tarfile.open(tar_path, mode="r:gz") as archive, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zipped:
        zipped.writestr("CUAD_v1/master_clauses.csv", "Filename,Document Name\n")
        zipped.writestr("CUAD_v1/full_contract_pdf/Part_I/A.pdf", b"%PDF-1.4")
        for member in archive:
            if member.isfile():
                name = member.name.rsplit("/", 1)[-1]
                data = archive.extractfile(member).read()
                if name == tamper:
                    data += b"\nedited"
                zipped.writestr(f"CUAD_v1/full_contract_txt/{name}", data)
                zipped.writestr(f"__MACOSX/CUAD_v1/full_contract_txt/._{name}", b"\x00\x05\x16\x07")
    return out


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture()
def publisher(tmp_path):
    """A folder served on 127.0.0.1: stands in for GitHub and Zenodo."""
    folder = tmp_path / "publisher"
    folder.mkdir()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             functools.partial(_QuietHandler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield folder, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _local_pins(tmp_path: Path, base: str, folder: Path, root: Path, dataset: str, sources: dict[str, bytes]):
    """The real pins of `dataset`, every URL pointed at the local publisher: plain files are served from copies
    of our data; a derivation's source is served from `sources[kind]`."""
    data = json.loads(PINS_PATH.read_text(encoding="utf-8"))
    source = next(s for s in data["sources"] if s["name"] == dataset)
    source["url_base"] = f"{base}/{dataset}/"
    for entry in source["files"]:
        entry.pop("upstream_path", None)
        entry.pop("url", None)
        derive = entry.get("derive")
        if derive is None:
            (folder / dataset / entry["path"]).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(root / dataset / entry["path"], folder / dataset / entry["path"])
        elif derive["kind"] != "text":
            name = f"source-{derive['kind']}"
            (folder / name).write_bytes(sources[derive["kind"]])
            derive["url"] = f"{base}/{name}"
    path = tmp_path / f"pins-{dataset}.json"
    path.write_text(json.dumps({"version": 1, "sources": [source]}), encoding="utf-8")
    return load_pins(path)


def test_fetch_derives_unfair_tos_from_the_upstream_file(root, publisher, tmp_path):
    folder, base = publisher
    upstream = unrelabel_legalbench_unfair_tos((root / "unfair_tos/test.tsv").read_bytes())
    sources = _local_pins(tmp_path, base, folder, root, "unfair_tos", {"legalbench_relabel": upstream})
    target = tmp_path / "root"
    report = fetch(target, progress=False, sources=sources)
    assert report.ok, report.failed
    assert sorted(report.fetched) == ["unfair_tos/LICENSE.txt", "unfair_tos/test.tsv",
                                      "unfair_tos/train_fewshot_legalbench_HEAD.tsv"]
    for name in ("test.tsv", "LICENSE.txt", "train_fewshot_legalbench_HEAD.tsv"):
        assert (target / "unfair_tos" / name).read_bytes() == (root / "unfair_tos" / name).read_bytes()
    assert check(target, sources=sources).ok
    # a source that is not the pinned upstream file is refused before anything is derived
    (folder / "source-legalbench_relabel").write_bytes(upstream.replace(b"Other", b"Otter", 1))
    (target / "unfair_tos/test.tsv").unlink()
    again = fetch(target, progress=False, sources=sources)
    assert [p.path for p in again.failed] == ["test.tsv"] and "mismatch" in again.failed[0].reason
    assert not (target / "unfair_tos/test.tsv").exists()


def test_fetch_repacks_the_cuad_texts_from_a_release_shaped_zip(root, publisher, tmp_path):
    folder, base = publisher
    release = _release_zip(root / cuad.TEXTS, tmp_path / "CUAD_v1.zip").read_bytes()
    sources = _local_pins(tmp_path, base, folder, root, "cuad", {"zip_members_to_tar_gz": release})
    target = tmp_path / "root"
    report = fetch(target, progress=False, sources=sources)
    assert report.ok, report.failed
    repacked = target / cuad.TEXTS
    pinned = _pin("cuad", "full_contract_txt.tar.gz")
    assert tar_member_hashes(repacked) == pinned.derive.options["members"]  # 510 texts, each its pinned bytes
    assert len(pinned.derive.options["members"]) == 510
    assert check(target, sources=sources).ok  # verified per member, though the archive bytes are new
    assert (target / "cuad/LICENSE.txt").read_bytes() == (root / "cuad/LICENSE.txt").read_bytes()
    keys = set(list(cuad.read_texts(root=root))[:5])
    assert cuad.read_texts(keys, root=target) == cuad.read_texts(keys, root=root)
    # deterministic: the same texts make the same archive
    first = repacked.read_bytes()
    repacked.unlink()
    assert fetch(target, progress=False, sources=sources).ok and repacked.read_bytes() == first
    assert fetch(target, progress=False, sources=sources).skipped  # present and verified: left alone


def test_a_release_whose_texts_differ_is_refused(root, publisher, tmp_path):
    folder, base = publisher
    victim = sorted(tar_member_hashes(root / cuad.TEXTS))[7]
    release = _release_zip(root / cuad.TEXTS, tmp_path / "CUAD_v1.zip", tamper=victim).read_bytes()
    sources = _local_pins(tmp_path, base, folder, root, "cuad", {"zip_members_to_tar_gz": release})
    report = fetch(tmp_path / "root", progress=False, sources=sources)
    (problem,) = report.failed
    assert problem.path == "full_contract_txt.tar.gz" and "1 sha256 mismatch" in problem.reason
    assert victim in problem.reason and not (tmp_path / "root" / cuad.TEXTS).exists()


def test_a_corrupt_member_makes_the_archive_corrupt_in_check(root, tmp_path):
    target = tmp_path / "root"
    assert fetch(target, from_dir=root, only=["cuad"], progress=False).ok
    path = target / cuad.TEXTS
    buffer = io.BytesIO()
    with tarfile.open(path, mode="r:gz") as archive, tarfile.open(fileobj=buffer, mode="w:gz") as out:
        for number, member in enumerate(archive):
            data = archive.extractfile(member).read() if member.isfile() else None
            if data is not None and number == 3:
                data, member.size = data + b"x", member.size + 1
            out.addfile(member, io.BytesIO(data) if data is not None else None)
    path.write_bytes(buffer.getvalue())
    assert check(target, only=["cuad"]).status("cuad").corrupt == ["cuad/full_contract_txt.tar.gz"]
