"""Render a report HTML page (or a nightly.json, rendered first) to a PNG with headless Chromium.

    python scripts/screenshot_report.py runs/.../report/report.html --out /tmp/report.png
    python scripts/screenshot_report.py runs/.../nightly.json --out /tmp/report.png --height 6000

Chromium comes from Debian (`apt-get install -y chromium`, giving /usr/bin/chromium) or --chromium PATH.
The flags keep it off the network: the report is self-contained, and the machine may have none.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

DEFAULT_CHROMIUM = "/usr/bin/chromium"
QUIET_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--hide-scrollbars", "--disable-extensions", "--mute-audio")


class ScreenshotError(RuntimeError):
    """Chromium is missing or did not write the screenshot; the message says what to do."""


def find_chromium(explicit: str | None = None) -> str:
    for candidate in (explicit, os.environ.get("CHROMIUM"), DEFAULT_CHROMIUM, shutil.which("chromium"),
                      shutil.which("chromium-browser"), shutil.which("google-chrome")):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise ScreenshotError("no Chromium found: install Debian's package (`apt-get install -y chromium`) "
                          "or pass --chromium PATH (or set CHROMIUM)")


def screenshot(html: Path, png: Path, *, chromium: str | None = None, width: int = 1400, height: int = 4000,
               timeout_s: float = 180.0) -> Path:
    """Take a width x height screenshot of the page's top; returns the PNG path."""
    html, png = Path(html).resolve(), Path(png).resolve()
    if not html.is_file():
        raise ScreenshotError(f"{html} does not exist: pass the report.html that write_report wrote")
    png.parent.mkdir(parents=True, exist_ok=True)
    png.unlink(missing_ok=True)
    binary = find_chromium(chromium)
    with tempfile.TemporaryDirectory(prefix="report-chromium-") as profile:
        command = [binary, *QUIET_FLAGS, f"--user-data-dir={profile}", f"--screenshot={png}",
                   f"--window-size={width},{height}", html.as_uri()]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s, check=False)
        except subprocess.TimeoutExpired as error:
            raise ScreenshotError(f"Chromium took longer than {timeout_s:.0f} s on {html}") from error
    if not png.is_file() or png.stat().st_size == 0:
        tail = "\n".join((done.stderr or "").strip().splitlines()[-8:])
        raise ScreenshotError(f"Chromium exited {done.returncode} without writing {png}:\n{tail}")
    return png


def _html_for(source: Path, workdir: Path) -> Path:
    """An HTML file as is; a nightly.json is rendered to a report first."""
    if source.suffix.lower() != ".json":
        return source
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from evals.report import write_report

    return write_report(json.loads(source.read_text(encoding="utf-8")), workdir).html


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", type=Path, help="report.html, or a nightly.json to render first")
    parser.add_argument("--out", type=Path, default=Path("report_screenshot.png"))
    parser.add_argument("--width", type=int, default=1400)
    parser.add_argument("--height", type=int, default=4000)
    parser.add_argument("--chromium", default=None, help=f"browser binary (default {DEFAULT_CHROMIUM})")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="report-") as workdir:
        try:
            html = _html_for(args.source, Path(workdir))
            png = screenshot(html, args.out, chromium=args.chromium, width=args.width, height=args.height)
        except (ScreenshotError, OSError, ValueError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
    print(f"screenshot: {png} ({png.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
