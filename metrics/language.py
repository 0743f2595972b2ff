"""Is the answer's prose in English? A stdlib heuristic, no language-id model (the Lambda stays light).

Two signals over the comments' rationales: the share of letters that are ASCII (catches non-Latin scripts
and heavily accented text) and the share of words that are common English function words (catches French,
German, Spanish... written in Latin letters). Function words make up roughly a third to a half of running
English, including legal English, and almost none of other languages' words, so a low bar separates them;
we only apply it from MIN_WORDS words on, because a terse note ("Waives class actions.") may have none.
An answer without prose (no comments) passes: there is nothing in the wrong language.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

MIN_ASCII_SHARE = 0.9
MIN_FUNCTION_WORD_SHARE = 0.1
MIN_WORDS = 8

_WORD = re.compile(r"[^\W\d_]+")
# Words that are also common in Romance or Germanic languages ("a", "as", "do", "in", "no", "on", "die",
# "me", "he", "i") are left out: Portuguese "a"/"as"/"do" alone would pass Portuguese text.
_FUNCTION_WORDS = frozenset(
    """
    about above after again against all an and any are at be because been before being below between both
    but by can could did does doing down during each either few for from further had has have having her
    here hers him his how if into is it its itself may might more most must my neither nor not of off once
    only or other our out over own same shall she should some such than that the their them then there
    these they this those through to too under until upon very was we were what when where whether which
    while who whom why will with within without would you your
    """.split()  # noqa: SIM905 (a word list reads better as text)
)


@dataclass(frozen=True)
class LanguageCheck:
    ok: bool
    words: int
    ascii_share: float
    function_word_share: float


def check_english(texts: Iterable[str]) -> LanguageCheck:
    text = " ".join(t for t in texts if t)
    letters = [c for c in text if c.isalpha()]
    words = [w.casefold() for w in _WORD.findall(text)]
    if not letters:
        return LanguageCheck(True, 0, 1.0, 1.0)
    ascii_share = sum(1 for c in letters if c.isascii()) / len(letters)
    function_share = sum(1 for w in words if w in _FUNCTION_WORDS) / len(words) if words else 0.0
    english_words = len(words) < MIN_WORDS or function_share >= MIN_FUNCTION_WORD_SHARE
    ok = ascii_share >= MIN_ASCII_SHARE and english_words
    return LanguageCheck(ok, len(words), round(ascii_share, 4), round(function_share, 4))


LANGUAGE_CHECKS = {"en": check_english}  # spec.language -> check; add one per language a task needs


def language_check(language: str):
    try:
        return LANGUAGE_CHECKS[language]
    except KeyError:
        raise ValueError(
            f"no language check for spec.language={language!r}; known: {sorted(LANGUAGE_CHECKS)}"
        ) from None
