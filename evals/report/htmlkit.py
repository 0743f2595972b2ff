"""A few lines of HTML building that escape by default.

Every child and attribute value is escaped unless it is `Safe` (markup this module built), so data strings
(model outputs, documents, ids, metric names) cannot inject tags however a renderer forgets to escape them.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Iterable
from typing import Any

VOID = frozenset({"img", "br", "hr", "meta", "col"})


class Safe(str):
    """Markup known to be safe: built here from escaped parts."""


def esc(value: Any) -> Safe:
    if isinstance(value, Safe):
        return value
    return Safe(html.escape("" if value is None else str(value), quote=True))


def _children(parts: Iterable[Any]) -> Iterable[Safe]:
    for part in parts:
        if part is None or part is False:
            continue
        if isinstance(part, list | tuple):
            yield from _children(part)
        else:
            yield esc(part)


def _attrs(attrs: dict[str, Any]) -> str:
    out = []
    for key, value in attrs.items():
        if value is None or value is False:
            continue
        name = key.rstrip("_").replace("_", "-")  # class_ -> class, data_x -> data-x
        out.append(f" {name}" if value is True else f' {name}="{esc(value)}"')
    return "".join(out)


def el(tag: str, *children: Any, **attrs: Any) -> Safe:
    """<tag attrs>children</tag>; children may be strings (escaped), Safe markup, None, or lists of these."""
    opening = f"<{tag}{_attrs(attrs)}>"
    if tag in VOID:
        return Safe(opening)
    return Safe(opening + "".join(_children(children)) + f"</{tag}>")


def join(*parts: Any) -> Safe:
    return Safe("".join(_children(parts)))


def png_img(png: bytes, alt: str, **attrs: Any) -> Safe:
    """An <img> carrying the PNG inline as a data URI, so the page needs no other file."""
    return el("img", src="data:image/png;base64," + base64.b64encode(png).decode("ascii"), alt=alt, **attrs)
