"""Cut a CUAD contract text into sentence-like units: the rows a reviewer reads, a window is made of, and gold
clauses are mapped onto.

The texts were converted from PDF: paragraphs are separated by newlines or by runs of three or more spaces,
lines of one paragraph by one or two spaces, and section numbers ("1.5.", "(a)") start many paragraphs. So a
paragraph is split at sentence-final punctuation unless the word before it is an abbreviation or an
enumerator; units shorter than `min_chars` (headings, stray numbers) join the next unit; units longer than
`max_chars` (tables, unpunctuated runs) are cut at a "; " or a space. Whitespace inside a unit collapses to
one space. Standard library only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_PARAGRAPH = re.compile(r"\s*\n\s*|[ \t\u00a0]{3,}")
# A candidate sentence end: . ! or ? (closing quotes/brackets may follow), whitespace, then what can start a
# sentence (a capital, a digit, an opening quote or bracket).
_END = re.compile(r"[.!?][\"'\u201d\u2019)\]]*\s+(?=[\"'\u201c\u2018(\[]?[A-Z0-9])")
_SPACES = re.compile(r"\s+")
# Enumerators and section numbers: "1.", "1.5.", "(a).", "iv.", "A."; and dotted initialisms "U.S.", "e.g.".
_ENUMERATOR = re.compile(r"^\(?(\d+(\.\d+)*|[A-Za-z]|[ivxlcdm]+|[IVXLCDM]+)\)?\.$")
_INITIALISM = re.compile(r"^([A-Za-z]\.){2,}$")
ABBREVIATIONS = frozenset(
    "inc. co. corp. ltd. llc. l.l.c. l.p. n.a. s.a. b.v. gmbh. plc. no. nos. sec. secs. art. para. cl. vol. "
    "mr. mrs. ms. dr. st. ave. jr. sr. vs. v. etc. approx. dept. fig. pp. p. ex. exh. min. max. jan. feb. mar. "
    "apr. jun. jul. aug. sep. sept. oct. nov. dec. u.s. u.k. e.g. i.e. cf. viz. incl. int'l. govt. assoc. bros."
    .split()
)


@dataclass(frozen=True)
class SegmentParams:
    min_chars: int = 40  # shorter units (headings, numbers) are joined to the next one
    max_chars: int = 1200  # longer units are cut, so one unit never fills a window on its own


def _is_boundary(paragraph: str, period_at: int) -> bool:
    """Does the punctuation at `period_at` end a sentence? Not after an abbreviation or an enumerator."""
    start = paragraph.rfind(" ", 0, period_at) + 1
    token = paragraph[start:period_at + 1]
    if paragraph[period_at] != ".":
        return True
    return not (token.casefold() in ABBREVIATIONS or _ENUMERATOR.match(token) or _INITIALISM.match(token))


def _sentences(paragraph: str) -> list[str]:
    pieces, start = [], 0
    for match in _END.finditer(paragraph):
        if _is_boundary(paragraph, match.start()):
            stop = match.end()
            pieces.append(paragraph[start:stop].strip())
            start = stop
    pieces.append(paragraph[start:].strip())
    return [p for p in pieces if p]


def _cut(unit: str, max_chars: int) -> list[str]:
    """Cut an over-long unit at the last "; " (else the last space) before max_chars."""
    parts = []
    while len(unit) > max_chars:
        at = unit.rfind("; ", max_chars // 2, max_chars)
        at = at + 1 if at != -1 else unit.rfind(" ", max_chars // 2, max_chars)
        if at <= 0:
            at = max_chars  # one unbroken token: cut it anyway
        parts.append(unit[:at].strip())
        unit = unit[at:].strip()
    parts.append(unit)
    return [p for p in parts if p]


def _merge_short(units: list[str], min_chars: int) -> list[str]:
    merged: list[str] = []
    pending = ""
    for unit in units:
        pending = f"{pending} {unit}" if pending else unit
        if len(pending) >= min_chars:
            merged.append(pending)
            pending = ""
    if pending:  # a short tail joins the previous unit, or stands alone in a tiny document
        if merged:
            merged[-1] = f"{merged[-1]} {pending}"
        else:
            merged.append(pending)
    return merged


def segment(text: str, params: SegmentParams = SegmentParams()) -> tuple[str, ...]:
    """The contract's units, in order; joined with spaces they hold every non-space character of `text`."""
    units: list[str] = []
    for paragraph in _PARAGRAPH.split(text):
        paragraph = _SPACES.sub(" ", paragraph).strip()
        if paragraph:
            units.extend(_sentences(paragraph))
    units = _merge_short(units, params.min_chars)
    return tuple(part for unit in units for part in _cut(unit, params.max_chars))
