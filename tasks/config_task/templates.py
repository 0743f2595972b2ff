"""Prompt templates of config tasks: Python str.format with a closed set of named placeholders, checked when
the task is loaded so a typo fails before any model call. Standard library only."""

from __future__ import annotations

import string
from collections.abc import Iterable, Mapping

PLACEHOLDERS: dict[str, str] = {
    "document": "the item's document (fields.document)",
    "reference": "the item's reference (fields.reference, or reference_text)",
    "schema": "the output JSON schema, as compact JSON",
}


class TemplateError(ValueError):
    pass


def placeholders(template: str, where: str) -> set[str]:
    """The placeholder names a template uses; TemplateError on an unknown, positional or indexed one, or on
    a lone brace."""
    names: set[str] = set()
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise TemplateError(f"{where}: {exc}; write a literal brace as {{{{ or }}}}") from None
    for _, field, _, _ in parsed:
        if field is None:
            continue
        if field == "" or field.isdigit():
            raise TemplateError(f"{where}: positional placeholder {{{field}}}; use a named one: "
                                f"{', '.join('{' + n + '}' for n in PLACEHOLDERS)}")
        base = field.split(".")[0].split("[")[0]
        if base not in PLACEHOLDERS or base != field:
            known = ", ".join(f"{{{n}}} ({d})" for n, d in PLACEHOLDERS.items())
            raise TemplateError(f"{where}: unknown placeholder {{{field}}}; known placeholders: {known}. "
                                f"Write a literal brace as {{{{ or }}}} (e.g. JSON examples in the prompt)")
        names.add(field)
    return names


def check(templates: Mapping[str, str], available: Iterable[str]) -> None:
    """Every placeholder used is known and has a value for this task (e.g. {reference} needs a reference)."""
    have = set(available)
    for where, template in templates.items():
        missing = placeholders(template, where) - have
        if missing:
            raise TemplateError(f"{where}: uses {', '.join('{' + m + '}' for m in sorted(missing))} but the task "
                                f"gives no value for it: map fields.reference to a column or set reference_text")


def render(template: str, values: Mapping[str, str]) -> str:
    return template.format_map(dict(values))
