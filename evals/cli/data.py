"""`rft-evals data fetch|check`: put the pinned data files under the data root and verify them.

Files come from their public URL (pinned commit), or are derived from a public source by a pinned
transformation (tasks/data_derive.py: LegalBench's relabelled unfair_tos, the CUAD texts repacked from the
official release), or, with --from DIR, come from a local mirror laid out like the data root. Either way every
file is checked against its pinned sha256 (an archive pinned per member: each member's) before it lands,
written atomically, and a file already present and verified is left alone."""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterable
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from tasks.data_derive import member_problems, tar_member_hashes
from tasks.data_pins import DataSource, PinnedFile, load_pins, url
from tasks.data_root import ENV_VAR, data_root

CHUNK = 1 << 20
DOWNLOAD_TIMEOUT_S = 60
MAX_ROWS = 10  # failures listed in full; the rest are counted


class HashMismatchError(ValueError):
    pass


@dataclass(frozen=True)
class FileProblem:
    dataset: str
    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.dataset}/{self.path}: {self.reason}"


@dataclass
class FetchReport:
    root: Path
    fetched: list[str] = field(default_factory=list)  # data-root relative paths written now
    skipped: list[str] = field(default_factory=list)  # already present with the pinned hash
    failed: list[FileProblem] = field(default_factory=list)
    bytes_written: int = 0

    @property
    def ok(self) -> bool:
        return not self.failed


@dataclass
class DatasetStatus:
    name: str
    present: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    corrupt: list[str] = field(default_factory=list)


@dataclass
class CheckReport:
    root: Path
    datasets: list[DatasetStatus] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(not d.missing and not d.corrupt for d in self.datasets)

    def status(self, name: str) -> DatasetStatus:
        return next(d for d in self.datasets if d.name == name)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def select_sources(only: Iterable[str] | None, sources: list[DataSource] | None = None) -> list[DataSource]:
    sources = load_pins() if sources is None else sources
    if not only:
        return sources
    wanted = list(only)
    known = {s.name for s in sources}
    unknown = [n for n in wanted if n not in known]
    if unknown:
        raise ValueError(f"unknown data set(s) {unknown}; known: {sorted(known)}")
    return [s for s in sources if s.name in wanted]


def _members_match(pinned: PinnedFile, path: Path) -> bool:
    """An archive pinned per member: its files are exactly the pinned ones (the archive bytes may differ)."""
    if pinned.verify != "members" or pinned.derive is None:
        return False
    try:
        return not member_problems(tar_member_hashes(path), pinned.derive.options["members"])
    except (OSError, EOFError, ValueError, KeyError):  # tarfile errors are ValueErrors (ReadError, ...)
        return False


def verified(pinned: PinnedFile, path: Path) -> bool:
    """`path` holds the pinned file: same sha256, or (archives pinned per member) the same members."""
    return sha256_file(path) == pinned.sha256 or _members_match(pinned, path)


def _write_verified(stream: BinaryIO, dest: Path, expected: str, origin: str, pinned: PinnedFile | None = None) -> int:
    """Copy `stream` next to `dest` while hashing; move it into place only if the hash is the pinned one (or,
    for an archive pinned per member, its members are)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    with tempfile.NamedTemporaryFile(dir=dest.parent, prefix=f".{dest.name}.", suffix=".partial",
                                     delete=False) as handle:
        partial = Path(handle.name)
        try:
            for block in iter(lambda: stream.read(CHUNK), b""):
                digest.update(block)
                handle.write(block)
                size += len(block)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    actual = digest.hexdigest()
    if actual != expected and not (pinned is not None and _members_match(pinned, partial)):
        partial.unlink(missing_ok=True)
        raise HashMismatchError(f"sha256 mismatch: expected {expected}, got {actual} (from {origin}); "
                                "the source is corrupt or not the pinned version")
    os.replace(partial, dest)
    return size


def _fetch_one(source: DataSource, pinned: PinnedFile, dest: Path, from_dir: Path | None) -> int:
    if from_dir is not None:
        origin = from_dir / pinned.relpath(source.name)
        if not origin.is_file():
            raise FileNotFoundError(f"not in the mirror {from_dir} (looked for {origin})")
        with origin.open("rb") as stream:
            return _write_verified(stream, dest, pinned.sha256, str(origin), pinned)
    if pinned.derive is not None:
        return _derive_one(pinned, dest)
    link = url(pinned)
    if link is None:
        why = f" ({pinned.note})" if pinned.note else ""
        raise FileNotFoundError(f"no public URL or derivation is pinned for this file{why}: it must come from a "
                                "mirror: `rft-evals data fetch --from DIR`")
    return _download(link, dest, pinned.sha256, pinned)


def _download(link: str, dest: Path, expected: str | None, pinned: PinnedFile | None = None) -> int:
    """Download `link` to `dest`, verified against `expected` (None: a derivation source with no pinned hash;
    the derived result is verified instead)."""
    request = urllib.request.Request(link, headers={"User-Agent": "rft-evals-data-fetch"})
    try:
        with urllib.request.urlopen(request, timeout=DOWNLOAD_TIMEOUT_S) as response:
            if expected is None:
                dest.parent.mkdir(parents=True, exist_ok=True)
                with dest.open("wb") as handle:
                    return sum(handle.write(block) for block in iter(lambda: response.read(CHUNK), b""))
            return _write_verified(response, dest, expected, link, pinned)
    except urllib.error.URLError as exc:  # HTTPError included
        raise OSError(f"download of {link} failed ({getattr(exc, 'reason', exc)}); offline? copy from a "
                      "mirror with `rft-evals data fetch --from DIR`") from None


def _derive_one(pinned: PinnedFile, dest: Path) -> int:
    """Download the derivation's public source (verified when its hash is pinned), transform it, and write the
    result only if it is the pinned file."""
    from tasks.data_derive import DerivationError

    derivation = pinned.derive
    assert derivation is not None
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=f".{dest.name}.source.") as tmp:
        source = None
        if derivation.kind != "text":
            if not derivation.url:
                raise FileNotFoundError(f"the derivation {derivation.kind} names no source URL")
            source = Path(tmp) / "source"
            _download(derivation.url, source, derivation.sha256)
        try:
            data = derivation.apply(source)
        except (DerivationError, ValueError, KeyError, OSError) as exc:
            raise HashMismatchError(f"cannot derive from {derivation.url}: {exc}") from None
    return _write_verified(io.BytesIO(data), dest, pinned.sha256, f"{derivation.kind} of {derivation.url}", pinned)


def _progress(enabled: bool, total: int, label: str):
    """A rich progress bar, or a no-op when disabled; returns (context, advance)."""
    if not enabled:
        return nullcontext(), lambda: None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   transient=True)
    task_id = bar.add_task(label, total=total)
    return bar, lambda: bar.advance(task_id)


def fetch(root: Path | str, from_dir: Path | str | None = None, only: Iterable[str] | None = None,
          progress: bool = True, sources: list[DataSource] | None = None) -> FetchReport:
    """Put the pinned files (of `sources`, default tasks/data_pins.json) under `root`."""
    root = Path(root)
    mirror = Path(from_dir) if from_dir is not None else None
    if mirror is not None and not mirror.is_dir():
        raise FileNotFoundError(f"mirror folder {mirror} does not exist")
    sources = select_sources(only, sources)
    report = FetchReport(root)
    context, advance = _progress(progress, sum(len(s.files) for s in sources),
                                 f"fetching into {root}" + (f" from {mirror}" if mirror else ""))
    with context:
        for source in sources:
            for pinned in source.files:
                relpath = pinned.relpath(source.name)
                dest = root / relpath
                try:
                    if dest.is_file() and verified(pinned, dest):
                        report.skipped.append(relpath)
                    else:
                        report.bytes_written += _fetch_one(source, pinned, dest, mirror)
                        report.fetched.append(relpath)
                except (OSError, HashMismatchError) as exc:  # URLError is an OSError; one bad file never stops the rest
                    report.failed.append(FileProblem(source.name, pinned.path, str(exc)))
                advance()
    return report


def check(root: Path | str, only: Iterable[str] | None = None,
          sources: list[DataSource] | None = None) -> CheckReport:
    root = Path(root)
    report = CheckReport(root)
    for source in select_sources(only, sources):
        status = DatasetStatus(source.name)
        for pinned in source.files:
            relpath = pinned.relpath(source.name)
            path = root / relpath
            if not path.is_file():
                status.missing.append(relpath)
            elif not ((path.stat().st_size == pinned.size or pinned.verify == "members") and verified(pinned, path)):
                status.corrupt.append(relpath)
            else:
                status.present.append(relpath)
        report.datasets.append(status)
    return report


# -- command line --------------------------------------------------------------------------------

def _console():
    from rich.console import Console

    return Console()


def print_fetch_report(report: FetchReport) -> None:
    console = _console()
    console.print(f"data root {report.root}: {len(report.fetched)} fetched "
                  f"({report.bytes_written:,} bytes), {len(report.skipped)} already present, "
                  f"{len(report.failed)} failed")
    if report.failed:
        from rich.table import Table

        table = Table("file", "problem", title="files not fetched")
        for problem in report.failed[:MAX_ROWS]:
            table.add_row(f"{problem.dataset}/{problem.path}", problem.reason)
        console.print(table)
        if len(report.failed) > MAX_ROWS:
            console.print(f"... and {len(report.failed) - MAX_ROWS} more files not fetched")


def print_check_report(report: CheckReport) -> None:
    from rich.table import Table

    table = Table("data set", "present", "missing", "corrupt", title=f"data root {report.root}")
    for d in report.datasets:
        table.add_row(d.name, str(len(d.present)), str(len(d.missing)), str(len(d.corrupt)))
    console = _console()
    console.print(table)
    for d in report.datasets:
        for path in d.missing[:5] + d.corrupt[:5]:
            console.print(f"  {'missing' if path in d.missing else 'corrupt'}: {path}")
    if not report.ok:
        console.print("fix: `rft-evals data fetch` (or `rft-evals data fetch --from DIR` from a mirror)")


def _root_of(args: argparse.Namespace) -> Path:
    return Path(args.root) if args.root else data_root()


def _run_fetch(args: argparse.Namespace) -> int:
    try:
        report = fetch(_root_of(args), args.from_dir, args.only, progress=not args.quiet)
    except (ValueError, FileNotFoundError) as exc:
        _console().print(f"error: {exc}")
        return 1
    print_fetch_report(report)
    return 0 if report.ok else 1


def _run_check(args: argparse.Namespace) -> int:
    try:
        report = check(_root_of(args), args.only)
    except ValueError as exc:
        _console().print(f"error: {exc}")
        return 1
    print_check_report(report)
    return 0 if report.ok else 1


def add_data_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add the `fetch` and `check` subcommands (under the CLI's `data` command); each sets
    `args.func(args) -> exit code`."""

    def common(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--root", default=None,
                            help=f"data root (default: ${ENV_VAR}, else the user cache folder)")
        parser.add_argument("--only", nargs="+", metavar="NAME", help="only these data sets, e.g. claudette")

    fetch_parser = subparsers.add_parser("fetch", help="download the pinned files, or copy them from a mirror")
    common(fetch_parser)
    fetch_parser.add_argument("--from", dest="from_dir", metavar="DIR", default=None,
                              help="copy from a local mirror laid out like the data root")
    fetch_parser.add_argument("--quiet", action="store_true", help="no progress bar")
    fetch_parser.set_defaults(func=_run_fetch)

    check_parser = subparsers.add_parser("check", help="report present / missing / corrupt files per data set")
    common(check_parser)
    check_parser.set_defaults(func=_run_check)


def main(argv: list[str] | None = None) -> int:
    """Standalone entry: `python -m evals.cli.data fetch|check ...` (the same as `rft-evals data ...`)."""
    parser = argparse.ArgumentParser(prog="rft-evals data", description="Fetch or check the data sets.")
    add_data_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
