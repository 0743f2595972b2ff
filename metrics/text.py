"""Text normalisation for grounding: a quote counts as verbatim when it matches after these changes only.

We forgive what a model cannot see or reliably reproduce (case, curly vs straight quotes, dash variants,
line breaks and runs of spaces, compatibility forms such as non-breaking spaces or ligatures), and nothing
else: words, punctuation and order must match.
"""

from __future__ import annotations

import re
import unicodedata

_QUOTES = "\u2018\u2019\u201a\u201b\u2032\u0060\u00b4"  # single quotes, primes, backtick, acute -> '
_DOUBLE_QUOTES = "\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb"  # double quotes, guillemets -> "
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"  # hyphens, en/em dashes, minus -> -
_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff\u00ad"  # zero-width characters and the soft hyphen vanish

_TABLE = str.maketrans(
    {
        **{c: "'" for c in _QUOTES},
        **{c: '"' for c in _DOUBLE_QUOTES},
        **{c: "-" for c in _DASHES},
        **{c: None for c in _INVISIBLE},
    }
)
_SPACES = re.compile(r"\s+")


def normalize(text: str) -> str:
    """NFKC, unify quotes and dashes, casefold, collapse whitespace to single spaces, strip."""
    text = unicodedata.normalize("NFKC", text).translate(_TABLE).casefold()
    return _SPACES.sub(" ", text).strip()
