"""python -m evals.report NIGHTLY_JSON [OUT_DIR]: re-render a report from a saved nightly.json."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from evals.report import ReportInputError, write_report


def main(argv: list[str]) -> int:
    if not argv or argv[0] in {"-h", "--help"}:
        print(__doc__.strip())
        return 0 if argv else 2
    source = Path(argv[0])
    out_dir = Path(argv[1]) if len(argv) > 1 else source.parent / "report"
    try:
        nightly = json.loads(source.read_text(encoding="utf-8"))
        files = write_report(nightly, out_dir)
    except FileNotFoundError:
        print(f"error: {source} not found: pass the nightly.json that `rft-evals nightly` wrote", file=sys.stderr)
        return 2
    except (json.JSONDecodeError, ReportInputError) as error:
        print(f"error: {source}: {error}", file=sys.stderr)
        return 2
    print(files.markdown.read_text(encoding="utf-8"))
    for note in files.notes:
        print(f"not drawn: {note}")
    print(f"report: file://{files.html.resolve()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
