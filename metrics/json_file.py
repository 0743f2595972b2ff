"""Reading a JSON file that configures something (a playbook, a policy, a reward bundle): a missing file or bad
JSON becomes the caller's own error, naming the file and the fix. Standard library only."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def read_json_file(path: Path, what: str, missing_fix: str, error: type[Exception]) -> Any:
    """The parsed content of `path`; `what` names the file in errors ("playbook file"), `missing_fix` says what
    to do when it does not exist."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(f"{what} {path} does not exist; {missing_fix}") from None
    except json.JSONDecodeError as exc:
        raise error(f"{what} {path} is not valid JSON: {exc}") from None
