"""Read a model's answer as JSON without ever raising.

Small models wrap their JSON in a ```json fence or in a sentence of prose, and constrained decoders let raw
newlines into strings. We accept those (and say so with `repaired=True`, so a reward can still penalise it),
but a truncated or malformed answer is a PARSE error with a short reason pointing at the position.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from metrics.errors import ClassifiedError, ErrorKind

_DECODER = json.JSONDecoder(strict=False)  # strict=False: raw control characters allowed inside strings
_FENCE = re.compile(r"```[ \t]*(?:json|JSON|Json)?[ \t]*\r?\n?(.*?)(?:```|\Z)", re.DOTALL)
_MAX_CANDIDATES = 64  # bounds the work on adversarial prose full of braces


@dataclass(frozen=True)
class ParseResult:
    value: Any = None
    error: ClassifiedError | None = None
    repaired: bool = False  # True when the JSON had to be cut out of a fence or of surrounding prose

    @property
    def ok(self) -> bool:
        return self.error is None


def _loads(text: str) -> Any:
    try:
        value, end = _DECODER.raw_decode(text, 0)
    except json.JSONDecodeError:
        raise
    except ValueError as exc:  # e.g. an integer past Python's 4,300-digit limit: invalid JSON to us, too
        raise json.JSONDecodeError(f"unreadable value ({str(exc)[:60]})", text, 0) from None
    if text[end:].strip():
        raise json.JSONDecodeError("Extra data", text, end)
    return value


def _fail(message: str) -> ParseResult:
    return ParseResult(error=ClassifiedError(ErrorKind.PARSE, message, stage="parse"))


def _balanced_end(text: str, start: int) -> int | None:
    """Index just past the brace closing the one at `start`, ignoring braces inside strings; None when it
    never closes (the answer was cut off)."""
    depth = 0
    in_string = False
    escaped = False
    for i in range(start, len(text)):
        ch = text[i]
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return i + 1
    return None


def _extract_object(text: str) -> tuple[Any, str | None]:
    """The outermost balanced {...} in `text` that parses; else (None, reason). A candidate that is balanced
    but invalid is skipped as a whole, so an inner object is never mistaken for the answer."""
    first_error: str | None = None
    pos = text.find("{")
    tried = 0
    while pos != -1 and tried < _MAX_CANDIDATES:
        tried += 1
        end = _balanced_end(text, pos)
        if end is None:
            return None, f"truncated JSON: the object opened at char {pos} is never closed"
        try:
            return _loads(text[pos:end]), None
        except json.JSONDecodeError as exc:
            if first_error is None:
                first_error = f"invalid JSON: {exc.msg} at char {pos + exc.pos}"
        pos = text.find("{", end)
    return None, first_error or "no JSON object found"


def parse_json_output(text: Any) -> ParseResult:
    if not isinstance(text, str):
        return _fail(f"output is {type(text).__name__}, not text")
    stripped = text.strip().lstrip("\ufeff")
    if not stripped:
        return _fail("empty output")
    try:
        return ParseResult(value=_loads(stripped))
    except json.JSONDecodeError as exc:
        direct_error = f"not JSON: {exc.msg} at char {exc.pos}"
    except RecursionError:
        return _fail("not JSON: nested too deeply")

    try:
        fence = _FENCE.search(stripped)
        if fence is not None:
            try:
                return ParseResult(value=_loads(fence.group(1).strip()), repaired=True)
            except json.JSONDecodeError:
                pass  # fall through: the fence may hold prose around the object
        value, reason = _extract_object(stripped)
    except RecursionError:
        return _fail("not JSON: nested too deeply")
    if reason is None:
        return ParseResult(value=value, repaired=True)
    return _fail(reason if "{" in stripped else direct_error)
