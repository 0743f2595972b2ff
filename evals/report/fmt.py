"""Number formatting shared by the HTML and Markdown reports (plain text; escaping is the caller's job)."""

from __future__ import annotations

import math
from typing import Any

from evals.report.view import num

MISSING = "–"


def number(value: Any, signed: bool = False) -> str:
    """Three decimals for rates and scores, fewer for large values; an en dash for null or NaN."""
    x = num(value)
    if math.isnan(x):
        return MISSING
    if math.isinf(x):
        return ("+" if signed and x > 0 else "") + ("∞" if x > 0 else "-∞")
    if abs(x) < 0.0005:
        x = 0.0  # a float sum's -1e-17 prints as 0.000, not -0.000
    sign = "+" if signed and x > 0 else ""
    size = abs(x)
    if size >= 1000:
        return f"{sign}{x:,.0f}"
    if size >= 10:
        return f"{sign}{x:.1f}"
    return f"{sign}{x:.3f}"


def interval(low: Any, high: Any, signed: bool = False) -> str:
    lo, hi = num(low), num(high)
    if math.isnan(lo) and math.isnan(hi):
        return ""
    return f"[{number(lo, signed)}, {number(hi, signed)}]"


def with_ci(value: Any, low: Any, high: Any, signed: bool = False) -> str:
    ci = interval(low, high, signed)
    return f"{number(value, signed)} {ci}".strip()


def p_value(value: Any) -> str:
    x = num(value)
    if math.isnan(x):
        return MISSING
    return "<0.001" if x < 0.001 else f"{x:.3f}"


def usd(value: Any) -> str:
    x = num(value)
    if math.isnan(x):
        return MISSING
    return f"${x:,.4f}" if abs(x) < 1 else f"${x:,.2f}"


def ms(value: Any) -> str:
    x = num(value)
    return MISSING if math.isnan(x) else f"{x:,.0f} ms"


def threshold(value: Any, kind: Any) -> str:
    x = num(value)
    if math.isnan(x):
        return MISSING
    return f"{x * 100:g}% rel." if str(kind) == "relative" else f"{x:g} abs."


def shorten(text: Any, limit: int) -> str:
    s = "" if text is None else str(text)
    return s if len(s) <= limit else s[: max(limit - 1, 0)] + "…"
