"""The first step of every scorer: the answer parsed as JSON and checked against the output schema. A parse
failure is a PARSE error; schema violations become one SCHEMA error showing the first few messages (a
40-error answer must not bloat the record). Standard library only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from metrics.errors import ClassifiedError, ErrorKind
from metrics.json_schema import SchemaValidator
from metrics.parsing import ParseResult, parse_json_output

MAX_VALIDATORS = 16  # a caller rebuilding its spec per sample must not grow the cache without bound


@dataclass(frozen=True)
class CheckedOutput:
    parsed: ParseResult
    schema_errors: tuple[str, ...]  # empty when the JSON did not parse
    errors: list[ClassifiedError]  # the parse error, or the summarised schema error, or nothing

    @property
    def valid(self) -> bool:
        return self.parsed.ok and not self.schema_errors


def schema_error(messages: Sequence[str], shown: int) -> ClassifiedError:
    """One SCHEMA error with the first `shown` messages and how many more there were."""
    more = len(messages) - shown
    return ClassifiedError(ErrorKind.SCHEMA, "; ".join(messages[:shown]) + (f" (+{more} more)" if more > 0 else ""),
                           "schema")


def check_output(output_text: Any, validator: SchemaValidator | None, shown: int) -> CheckedOutput:
    """Parse `output_text` and, when it parses and a validator is given, validate it."""
    parsed = parse_json_output(output_text)
    if parsed.error is not None:
        return CheckedOutput(parsed, (), [parsed.error])
    schema_errors = tuple(validator.validate(parsed.value)) if validator is not None else ()
    return CheckedOutput(parsed, schema_errors, [schema_error(schema_errors, shown)] if schema_errors else [])


_VALIDATORS: dict[int, tuple[Any, SchemaValidator]] = {}


def cached_validator(schema: Any) -> SchemaValidator:
    """Compile a spec's schema once; keyed by identity, checked against the object kept alive here."""
    cached = _VALIDATORS.get(id(schema))
    if cached is not None and cached[0] is schema:
        return cached[1]
    validator = SchemaValidator(schema)
    if len(_VALIDATORS) >= MAX_VALIDATORS:
        _VALIDATORS.clear()
    _VALIDATORS[id(schema)] = (schema, validator)
    return validator
