"""A small JSON-Schema validator for the subset our tasks generate, so the Lambda needs no `jsonschema`.

Supported: type (a name or a list of names), properties, required, additionalProperties (bool or schema),
items (one schema), enum, const, minLength, maxLength, minItems, maxItems, minimum, maximum, and boolean
schemas. Annotations (title, description, ...) are ignored. Any other keyword raises ValueError when the
schema is compiled: silently skipping `pattern` or `anyOf` would let invalid answers through. Semantics follow
draft 2020-12 (an integral float such as 1.0 is an "integer"; true is not a number; 1 == 1.0 in enum/const).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_ANNOTATIONS = frozenset({"$schema", "$id", "$comment", "title", "description", "default", "examples"})
_KEYWORDS = frozenset(
    {
        "type", "properties", "required", "additionalProperties", "items", "enum", "const",
        "minLength", "maxLength", "minItems", "maxItems", "minimum", "maximum",
    }
)
_TYPES = frozenset({"object", "array", "string", "number", "integer", "boolean", "null"})
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_REPR_LIMIT = 60
MAX_SCHEMA_DEPTH = 64  # nested schemas deeper than this are refused: validation recursion stays bounded

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class SchemaError:
    path: Path  # where in the instance, e.g. ("comments", 2, "risk")
    message: str
    keyword: str = ""  # the schema keyword that failed ("false" for a false schema)

    def __str__(self) -> str:
        return f"{format_path(self.path)}: {self.message}"


def format_path(path: Path) -> str:
    out = "$"
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _IDENTIFIER.match(part):
            out += f".{part}"
        else:
            out += f"[{part!r}]"
    return out


def _short(value: Any) -> str:
    try:
        text = repr(value)
    except RecursionError:  # an answer nested nearly as deep as the JSON parser allows
        return f"<{type(value).__name__} nested too deeply to show>"
    return text if len(text) <= _REPR_LIMIT else text[: _REPR_LIMIT - 3] + "..."


def _is_type(value: Any, name: str) -> bool:
    if name == "object":
        return isinstance(value, Mapping)
    if name == "array":
        return isinstance(value, list)
    if name == "string":
        return isinstance(value, str)
    if name == "boolean":
        return isinstance(value, bool)
    if name == "null":
        return value is None
    if isinstance(value, bool):
        return False  # JSON keeps booleans apart from numbers
    if name == "number":
        return isinstance(value, (int, float))
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())  # "integer"


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def json_equal(a: Any, b: Any) -> bool:
    """Equality as JSON means it: 1 == 1.0, but true != 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if _is_number(a) and _is_number(b):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def _check_schema(schema: Any, where: str, depth: int = 0) -> None:
    """Reject what we cannot enforce, naming the keyword and its place in the schema."""
    if isinstance(schema, bool):
        return
    if depth > MAX_SCHEMA_DEPTH:
        raise ValueError(f"schema at {where[:80]}... is nested deeper than {MAX_SCHEMA_DEPTH} levels")
    if not isinstance(schema, Mapping):
        # ValueError, not TypeError: every schema problem is one kind of error for the caller
        message = f"schema at {where} must be an object or a boolean, got {type(schema).__name__}"
        raise ValueError(message)  # noqa: TRY004
    for key, value in schema.items():
        if key in _ANNOTATIONS:
            continue
        if key not in _KEYWORDS:
            raise ValueError(
                f"schema at {where} uses unsupported keyword {key!r}; metrics.json_schema supports "
                f"{sorted(_KEYWORDS)}: rewrite the schema with these or extend the validator"
            )
        _check_keyword(key, value, f"{where}/{key}", depth)


def _check_keyword(key: str, value: Any, where: str, depth: int) -> None:
    if key == "type":
        names = value if isinstance(value, list) else [value]
        bad = [n for n in names if not isinstance(n, str) or n not in _TYPES]
        if bad or not names:
            raise ValueError(f"schema at {where}: unknown type {bad or value!r}; use {sorted(_TYPES)}")
    elif key == "properties":
        if not isinstance(value, Mapping):
            raise ValueError(f"schema at {where} must map property names to schemas")
        for name, sub in value.items():
            _check_schema(sub, f"{where}/{name}", depth + 1)
    elif key in ("additionalProperties", "items"):
        if isinstance(value, list):
            raise ValueError(f"schema at {where}: the list form of items is not supported; use one schema")
        _check_schema(value, where, depth + 1)
    elif key == "required":
        if not isinstance(value, list) or not all(isinstance(n, str) for n in value):
            raise ValueError(f"schema at {where} must be a list of property names")
    elif key == "enum":
        if not isinstance(value, list):
            raise ValueError(f"schema at {where} must be a list")
    elif key in ("minLength", "maxLength", "minItems", "maxItems"):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"schema at {where} must be a non-negative integer, got {value!r}")
    elif key in ("minimum", "maximum") and not _is_number(value):
        raise ValueError(f"schema at {where} must be a number, got {value!r}")


class SchemaValidator:
    """Compile once (checks the keywords), then validate many instances."""

    def __init__(self, schema: Any) -> None:
        _check_schema(schema, "#")
        self.schema = schema

    def iter_errors(self, instance: Any) -> list[SchemaError]:
        errors: list[SchemaError] = []
        _validate(instance, self.schema, (), errors)
        return errors

    def validate(self, instance: Any) -> list[str]:
        return [str(e) for e in self.iter_errors(instance)]


def validate(instance: Any, schema: Any) -> list[str]:
    """Error messages with JSON paths; empty when the instance is valid. Raises ValueError on a schema
    using keywords outside the supported subset."""
    return SchemaValidator(schema).validate(instance)


def _validate(value: Any, schema: Any, path: Path, errors: list[SchemaError]) -> None:
    if schema is True:
        return
    if schema is False:
        errors.append(SchemaError(path, "no value is allowed here", "false"))
        return
    for key, rule in schema.items():
        check = _CHECKS.get(key)
        if check is not None:
            check(value, rule, schema, path, errors)


def _type(value: Any, rule: Any, schema: Any, path: Path, errors: list[SchemaError]) -> None:
    names = rule if isinstance(rule, list) else [rule]
    if not any(_is_type(value, n) for n in names):
        expected = " or ".join(repr(n) for n in names)
        errors.append(SchemaError(path, f"{_short(value)} is not of type {expected}", "type"))


def _properties(value: Any, rule: Any, schema: Any, path: Path, errors: list[SchemaError]) -> None:
    if isinstance(value, Mapping):
        for name, sub in rule.items():
            if name in value:
                _validate(value[name], sub, (*path, name), errors)


def _required(value: Any, rule: Any, schema: Any, path: Path, errors: list[SchemaError]) -> None:
    if isinstance(value, Mapping):
        for name in rule:
            if name not in value:
                errors.append(SchemaError(path, f"{name!r} is a required property", "required"))


def _additional(value: Any, rule: Any, schema: Any, path: Path, errors: list[SchemaError]) -> None:
    if not isinstance(value, Mapping):
        return
    known = schema.get("properties", {})
    extra = [name for name in value if name not in known]
    if not extra:
        return
    if rule is False:
        listed = ", ".join(repr(n) for n in extra)
        message = f"additional properties are not allowed ({listed} unexpected)"
        errors.append(SchemaError(path, message, "additionalProperties"))
    else:
        for name in extra:
            _validate(value[name], rule, (*path, name), errors)


def _items(value: Any, rule: Any, schema: Any, path: Path, errors: list[SchemaError]) -> None:
    if isinstance(value, list) and rule is False:
        if value:  # one error for the array, not one per item
            errors.append(SchemaError(path, f"no items are allowed, found {len(value)}", "items"))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _validate(item, rule, (*path, i), errors)


def _enum(value: Any, rule: Any, schema: Any, path: Path, errors: list[SchemaError]) -> None:
    if not any(json_equal(value, option) for option in rule):
        errors.append(SchemaError(path, f"{_short(value)} is not one of {_short(rule)}", "enum"))


def _const(value: Any, rule: Any, schema: Any, path: Path, errors: list[SchemaError]) -> None:
    if not json_equal(value, rule):
        errors.append(SchemaError(path, f"{_short(rule)} was expected, got {_short(value)}", "const"))


def _bound(keyword: str, kind: type, size: str, describe: str, too_many: bool):
    """A check on len(value) for values of `kind` (strings or lists)."""

    def check(value: Any, rule: Any, schema: Any, path: Path, errors: list[SchemaError]) -> None:
        if isinstance(value, kind) and (len(value) > rule if too_many else len(value) < rule):
            word = "more than" if too_many else "fewer than"
            message = f"{describe} of {len(value)} {size}: {word} {rule} allowed"
            errors.append(SchemaError(path, message, keyword))

    return check


def _minimum(value: Any, rule: Any, schema: Any, path: Path, errors: list[SchemaError]) -> None:
    if _is_number(value) and value < rule:
        errors.append(SchemaError(path, f"{_short(value)} is less than the minimum of {rule}", "minimum"))


def _maximum(value: Any, rule: Any, schema: Any, path: Path, errors: list[SchemaError]) -> None:
    if _is_number(value) and value > rule:
        errors.append(SchemaError(path, f"{_short(value)} is greater than the maximum of {rule}", "maximum"))


_CHECKS = {
    "type": _type,
    "properties": _properties,
    "required": _required,
    "additionalProperties": _additional,
    "items": _items,
    "enum": _enum,
    "const": _const,
    "minLength": _bound("minLength", str, "chars", "string", too_many=False),
    "maxLength": _bound("maxLength", str, "chars", "string", too_many=True),
    "minItems": _bound("minItems", list, "items", "array", too_many=False),
    "maxItems": _bound("maxItems", list, "items", "array", too_many=True),
    "minimum": _minimum,
    "maximum": _maximum,
}
