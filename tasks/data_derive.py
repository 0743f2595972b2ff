"""Files whose pinned bytes are not published as such, made from what their publisher does publish.

A derived pin (`"derive": {...}` in tasks/data_pins.json) names the public source (URL at a pinned commit or
record, and its sha256 when known) and one transformation, registered here by `kind`:

- `legalbench_relabel`: LegalBench's early `unfair_tos/test.tsv` (commit 1c7624b) with its permuted labels put
  back (LEGALBENCH_UNFAIR_TOS_LABELS), an `index` column added and each text's trailing space removed;
- `zip_members_to_tar_gz`: the `full_contract_txt/*.txt` files of the official CUAD v1 release zip (Zenodo),
  repacked into a tar.gz with fixed metadata; each member is checked against its own sha256 (the archive's
  bytes depend on the compressor, the texts do not), so the pin says `"verify": "members"`;
- `text`: a short attribution note stored in the pin itself (what the mirror's LICENSE.txt says).

Standard library only: the transformations run inside `rft-evals data fetch` and in tests on local copies."""

from __future__ import annotations

import gzip
import hashlib
import io
import re
import tarfile
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

# The label permutation of LegalBench unfair_tos test.tsv at commit 1c7624b: the label the file says -> the
# label the clause has (LexGLUE UNFAIR-ToS). Derived by comparing the file with the corrected rows and checked
# in tests/test_data_derive.py, which rebuilds the upstream bytes from our copy and matches its pinned sha256.
LEGALBENCH_UNFAIR_TOS_LABELS: dict[str, str] = {
    "Arbitration": "Limitation of liability",
    "Choice of law": "Contract by using",
    "Content removal": "Unilateral change",
    "Contract by using": "Arbitration",
    "Jurisdiction": "Content removal",
    "Limitation of liability": "Choice of law",
    "Other": "Other",
    "Unilateral change": "Unilateral termination",
    "Unilateral termination": "Jurisdiction",
}
TAR_MTIME = 0  # fixed metadata: the same members always make the same archive listing


class DerivationError(ValueError):
    """The source is not what the transformation expects (wrong columns, labels, missing members)."""


@dataclass(frozen=True)
class Derivation:
    kind: str
    url: str | None = None  # the public source; None for `text`
    sha256: str | None = None  # of the source download, when known
    options: Mapping[str, Any] | None = None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Derivation:
        if data.get("kind") not in TRANSFORMS:
            raise DerivationError(f"unknown derivation kind {data.get('kind')!r}; known: {sorted(TRANSFORMS)}")
        options = {k: v for k, v in data.items() if k not in ("kind", "url", "sha256")}
        return cls(data["kind"], data.get("url"), data.get("sha256"), options)

    def apply(self, source: Path | None) -> bytes:
        """The derived file's bytes from the downloaded source (None for kinds without a source)."""
        return TRANSFORMS[self.kind](source, dict(self.options or {}))


# -- transformations -----------------------------------------------------------------------------------------


def relabel_legalbench_unfair_tos(raw: bytes, labels: Mapping[str, str] = LEGALBENCH_UNFAIR_TOS_LABELS) -> bytes:
    """`text<TAB>label` rows (each text ending in one space) -> `index<TAB>text<TAB>label`, labels corrected."""
    lines = raw.decode("utf-8").split("\n")
    if lines[0] != "text\tlabel" or lines[-1] != "":
        raise DerivationError(f"expected a `text<TAB>label` TSV ending in a newline; header is {lines[0][:40]!r}")
    out = ["index\ttext\tlabel"]
    for index, line in enumerate(lines[1:-1]):
        text, _, label = line.rpartition("\t")
        if label not in labels:
            raise DerivationError(f"row {index}: label {label!r} is not one of {sorted(labels)}")
        out.append(f"{index}\t{text.strip()}\t{labels[label]}")
    return ("\n".join(out) + "\n").encode("utf-8")


def unrelabel_legalbench_unfair_tos(ours: bytes, labels: Mapping[str, str] = LEGALBENCH_UNFAIR_TOS_LABELS) -> bytes:
    """The inverse: our corrected file -> the upstream bytes (used to check the permutation on a local copy)."""
    back = {corrected: published for published, corrected in labels.items()}
    lines = ours.decode("utf-8").split("\n")
    if lines[0] != "index\ttext\tlabel" or lines[-1] != "":
        raise DerivationError(f"expected an `index<TAB>text<TAB>label` TSV; header is {lines[0][:40]!r}")
    out = ["text\tlabel"]
    for line in lines[1:-1]:
        _, text, label = line.split("\t")
        out.append(f"{text} \t{back[label]}")
    return ("\n".join(out) + "\n").encode("utf-8")


def _legalbench_relabel(source: Path | None, options: dict[str, Any]) -> bytes:
    assert source is not None
    return relabel_legalbench_unfair_tos(source.read_bytes())


def deterministic_tar_gz(members: Mapping[str, bytes], folder: str) -> bytes:
    """A tar.gz of `folder/` and its files (sorted, mtime 0, root-owned, mode 0644), gzip header without a time."""
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=TAR_MTIME, filename="") as compressed:
        with tarfile.open(fileobj=compressed, mode="w", format=tarfile.GNU_FORMAT) as archive:
            directory = tarfile.TarInfo(folder)
            directory.type, directory.mode, directory.mtime = tarfile.DIRTYPE, 0o755, TAR_MTIME
            archive.addfile(directory)
            for name in sorted(members):
                info = tarfile.TarInfo(f"{folder}/{name}")
                info.size, info.mode, info.mtime = len(members[name]), 0o644, TAR_MTIME
                info.uname = info.gname = "root"
                archive.addfile(info, io.BytesIO(members[name]))
    return buffer.getvalue()


def zip_members(source: Path, folder: str) -> dict[str, bytes]:
    """The regular files directly inside any `<...>/<folder>/` of a zip (macOS resource forks skipped)."""
    pattern = re.compile(r"(?:^|/)" + re.escape(folder) + r"/([^/]+)$")
    found: dict[str, bytes] = {}
    with zipfile.ZipFile(source) as archive:
        for entry in archive.infolist():
            match = pattern.search(entry.filename)
            if entry.is_dir() or match is None or "__MACOSX" in entry.filename or match.group(1).startswith("._"):
                continue
            if match.group(1) in found:
                raise DerivationError(f"{source}: {match.group(1)!r} appears twice under {folder}/")
            found[match.group(1)] = archive.read(entry)
    if not found:
        raise DerivationError(f"{source}: no files under a {folder}/ folder")
    return found


def _zip_members_to_tar_gz(source: Path | None, options: dict[str, Any]) -> bytes:
    assert source is not None
    folder = options["folder"]
    members = zip_members(source, folder)
    problems = member_problems({name: sha256_bytes(data) for name, data in members.items()}, options["members"])
    if problems:
        raise DerivationError(f"{source}: {folder}/ differs from the pinned texts: {problems}")
    return deterministic_tar_gz(members, folder)


def _text(source: Path | None, options: dict[str, Any]) -> bytes:
    return str(options["text"]).encode("utf-8")


TRANSFORMS: dict[str, Callable[[Path | None, dict[str, Any]], bytes]] = {
    "legalbench_relabel": _legalbench_relabel,
    "zip_members_to_tar_gz": _zip_members_to_tar_gz,
    "text": _text,
}


# -- member-level verification ----------------------------------------------------------------------------------


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def member_problems(actual: Mapping[str, str], pinned: Mapping[str, str], limit: int = 3) -> list[str]:
    """How a set of {file name: sha256} differs from the pinned one (empty when equal)."""
    missing = sorted(set(pinned) - set(actual))
    extra = sorted(set(actual) - set(pinned))
    changed = sorted(name for name in set(actual) & set(pinned) if actual[name] != pinned[name])
    problems = []
    for label, names in (("missing", missing), ("unexpected", extra), ("sha256 mismatch", changed)):
        if names:
            problems.append(f"{len(names)} {label} (e.g. {names[:limit]})")
    return problems


def tar_member_hashes(stream: BinaryIO | Path) -> dict[str, str]:
    """{file name: sha256} of the regular files of a tar.gz (names without their folder)."""
    hashes: dict[str, str] = {}
    opened = tarfile.open(stream, mode="r:gz") if isinstance(stream, Path) else tarfile.open(fileobj=stream,
                                                                                           mode="r:gz")
    with opened as archive:
        for member in archive:
            if member.isfile():
                handle = archive.extractfile(member)
                assert handle is not None
                hashes[member.name.rsplit("/", 1)[-1]] = sha256_bytes(handle.read())
    return hashes
