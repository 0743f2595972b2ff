"""Reading a judge's verdict without ever raising.

Order of trust: every JSON object in the reply (the whole reply, a ```json fence, or objects inside prose;
raw newlines in strings allowed), then a `verdict: X` / `winner: X` / `[[X]]` phrase in plain text. Each
judge says how to read a verdict out of one object (`extract`). The outcome is one verdict, or a
JUDGE_PARSE error with a reason the caller can act on:

    empty         the reply is blank
    refusal       a content filter stopped it, or it reads as a refusal and holds no verdict
    truncated     it stopped on max_tokens before any verdict
    not_json      no JSON and no verdict phrase
    no_verdict    JSON, but without a verdict this judge can read
    two_verdicts  the reply names two different verdicts (in one field, or in two objects)
    call_failed   the call itself failed (a JUDGE error, not a parse error: never re-asked)

Standard library only."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from metrics.errors import ClassifiedError, ErrorKind
from metrics.judges.types import JudgeReply, Verdict

FILTERED_STOPS = frozenset({"content_filtered", "guardrail_intervened"})
TRUNCATED_STOPS = frozenset({"max_tokens", "length"})
_DECODER = json.JSONDecoder(strict=False)
_MAX_OBJECTS = 32  # bounds the work on replies full of braces
_REFUSAL = re.compile(r"\b(I can(?:no|')t|I cannot|I'm sorry|I am sorry|I(?: am|'m) unable|I won't|I will not|"
                      r"as an AI)\b", re.IGNORECASE)
_PHRASE = re.compile(r"(?:\bverdict|\bwinner|\bdecision|\bfinal answer|\bbetter (?:output|response))\s*(?:is)?\s*"
                     r"[:=\-]?\s*[\"'*\[(]*\s*([A-Za-z0-9_ ]{1,20}?)\s*[\"'*\])]*(?=[\s.,;!]|$)"
                     r"|\[\[\s*([A-Za-z0-9_ ]{1,20}?)\s*\]\]", re.IGNORECASE)
_WORD = re.compile(r"[A-Za-z0-9]+")


class NoVerdict(ValueError):
    pass


class TwoVerdicts(ValueError):
    pass


Extract = Callable[[Any], tuple[Any, str]]  # one JSON value -> (verdict, justification); raises the above


def label_of(raw: Any, synonyms: Mapping[str, str]) -> str:
    """The one label a short value names: booleans and numbers by their text, words by `synonyms`
    (lower-case word -> label). Raises NoVerdict (none) or TwoVerdicts ("pass or fail")."""
    if isinstance(raw, bool):
        raw = "true" if raw else "false"
    if isinstance(raw, (int, float)):
        raw = str(raw)
    if not isinstance(raw, str):
        raise NoVerdict(f"verdict is {type(raw).__name__}, not text")
    found = {synonyms[w] for w in _WORD.findall(raw.lower()) if w in synonyms}
    if not found:
        raise NoVerdict(f"{raw[:40]!r} names no verdict")
    if len(found) > 1:
        raise TwoVerdicts(f"{raw[:40]!r} names {sorted(found)}")
    return found.pop()


def json_values(text: str) -> tuple[list[Any], bool]:
    """Every top-level JSON object in `text`, and whether the text was anything but one bare object."""
    stripped = text.strip().lstrip("\ufeff")
    try:
        value, end = _DECODER.raw_decode(stripped, 0)
        if not stripped[end:].strip():
            return [value], False
    except (ValueError, RecursionError):  # ValueError: JSONDecodeError, or an integer past 4,300 digits
        pass
    found: list[Any] = []
    pos = stripped.find("{")
    while pos != -1 and len(found) < _MAX_OBJECTS:
        try:
            value, end = _DECODER.raw_decode(stripped, pos)
        except (ValueError, RecursionError):
            pos = stripped.find("{", pos + 1)
            continue
        found.append(value)
        pos = stripped.find("{", end)
    return found, True


def _error(part: str, reason: str, message: str, kind: ErrorKind = ErrorKind.JUDGE_PARSE) -> Verdict:
    return Verdict(part, error=ClassifiedError(kind, f"{part}: {reason}: {message}", stage="judge"), reason=reason)


def _distinct(pairs: Iterable[tuple[Any, str]]) -> list[tuple[Any, str]]:
    out: list[tuple[Any, str]] = []
    for value, why in pairs:
        if all(value != v for v, _ in out):
            out.append((value, why))
    return out


def read_verdict(reply: JudgeReply, part: str, extract: Extract,
                 phrase_synonyms: Mapping[str, str] | None = None) -> Verdict:
    """One verdict out of a judge reply, or a classified reason why not (see the module docstring)."""
    if reply.error is not None:
        return Verdict(part, error=ClassifiedError(ErrorKind.JUDGE, f"{part}: {reply.error.message}", "judge"),
                       reason="call_failed")
    text = reply.text if isinstance(reply.text, str) else ""
    if reply.stop_reason in FILTERED_STOPS:
        return _error(part, "refusal", f"the judge's output was stopped ({reply.stop_reason})")
    if not text.strip():
        return _error(part, "empty", "the judge returned no text")
    values, repaired = json_values(text)
    verdicts: list[tuple[Any, str]] = []
    two = None
    for value in values:
        try:
            verdicts.append(extract(value))
        except TwoVerdicts as exc:
            two = str(exc)
        except NoVerdict:
            continue
    verdicts = _distinct(verdicts)
    if two is not None or len(verdicts) > 1:
        return _error(part, "two_verdicts", two or f"the reply names {[v for v, _ in verdicts]}")
    if verdicts:
        value, why = verdicts[0]
        return Verdict(part, value=value, justification=why, repaired=repaired or len(values) > 1)
    if phrase_synonyms:
        phrased: list[tuple[Any, str]] = []
        for match in _PHRASE.finditer(text):
            try:
                phrased.append((label_of(match.group(1) or match.group(2), phrase_synonyms), ""))
            except NoVerdict:
                continue
            except TwoVerdicts as exc:
                return _error(part, "two_verdicts", str(exc))
        phrased = _distinct(phrased)
        if len(phrased) > 1:
            return _error(part, "two_verdicts", f"the reply names {[v for v, _ in phrased]}")
        if phrased:
            return Verdict(part, value=phrased[0][0], justification=text.strip()[:300], repaired=True)
    if reply.stop_reason in TRUNCATED_STOPS:
        return _error(part, "truncated", "the judge hit its max_tokens before giving a verdict")
    if _REFUSAL.search(text):
        return _error(part, "refusal", f"the judge declined: {text.strip()[:80]!r}")
    if values:
        return _error(part, "no_verdict", "the JSON holds no readable verdict")
    return _error(part, "not_json", f"no JSON and no verdict phrase in {text.strip()[:80]!r}")


def field(value: Any, *names: str) -> Any:
    """The first of `names` present in a mapping (case-insensitive keys); NoVerdict if none."""
    if not isinstance(value, Mapping):
        raise NoVerdict("not an object")
    lowered = {str(k).lower(): v for k, v in value.items()}
    for name in names:
        if name in lowered:
            return lowered[name]
    raise NoVerdict(f"none of {names} in the object")


def text_field(value: Any, *names: str, limit: int = 500) -> str:
    try:
        raw = field(value, *names)
    except NoVerdict:
        return ""
    return raw[:limit] if isinstance(raw, str) else ""
