"""The output schema of a config task: inline in the YAML, or a path to a JSON file (relative to the YAML's
folder, or absolute). Checked when the task loads, in two steps:

1. when the `jsonschema` package is importable (the `dev` extra installs it), the schema must pass its
   meta-schema check (the draft the schema's `$schema` names, else 2020-12): this catches what is not JSON
   Schema at all, e.g. `"type": "strng"` or `"required": "label"`;
2. always, metrics/json_schema compiles it: the shared validator scores the answers (in the harness and the
   Lambda), and it refuses keywords it cannot enforce (`pattern`, `anyOf`, ...) rather than ignore them.

Without jsonschema, step 2 alone still rejects malformed keywords of the supported subset."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from metrics.json_schema import SchemaValidator


class OutputSchemaError(ValueError):
    pass


def load_schema(raw: Any, base_dir: Path, where: str) -> dict[str, Any]:
    if isinstance(raw, str):
        path = Path(raw).expanduser()
        path = path if path.is_absolute() else base_dir / path
        if not path.is_file():
            raise OutputSchemaError(f"{where}: schema file {str(path)!r} does not exist (a relative path is read "
                                    f"from the task YAML's folder {str(base_dir)!r})")
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise OutputSchemaError(f"{where}: {path} is not valid JSON ({exc.msg} at line {exc.lineno})") from None
        where = f"{where} ({path})"
    if not isinstance(raw, Mapping):
        raise OutputSchemaError(f"{where}: expected a JSON Schema object (inline mapping or a path to a .json file), "
                                f"got {type(raw).__name__}")
    schema = json.loads(json.dumps(raw))  # plain dicts and lists (YAML / OmegaConf containers in, JSON out)
    check_schema(schema, where)
    return schema


def _meta_schema_errors(schema: Mapping[str, Any]) -> str | None:
    try:
        from jsonschema import exceptions, validators
    except ImportError:  # not installed outside the dev extra: step 2 still runs
        return None
    cls = validators.validator_for(schema, default=validators.Draft202012Validator)
    try:
        cls.check_schema(schema)
    except exceptions.SchemaError as exc:
        at = "/".join(str(p) for p in exc.absolute_path) or "(root)"
        return f"{exc.message} (at {at})"
    return None


def check_schema(schema: Mapping[str, Any], where: str) -> None:
    problem = _meta_schema_errors(schema)
    if problem is not None:
        raise OutputSchemaError(f"{where} is not a valid JSON Schema: {problem}")
    try:
        SchemaValidator(schema)
    except ValueError as exc:
        raise OutputSchemaError(f"{where}: {exc}") from None
