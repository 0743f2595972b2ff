import pytest

from metrics.grounding import Document, clean_excerpt, ground
from metrics.text import normalize

SENTENCES = [
    "We may terminate your account at any time.",  # 0
    "",  # 1: an empty line in the window
    "You agree to binding arbitration.",  # 2
    "Disputes are governed by the laws of Ireland.",  # 3
]
DOC = Document.from_sentences(SENTENCES)


def test_normalize_unifies_case_quotes_dashes_whitespace():
    raw = "The  \u201cService\u201d\u00a0\u2014 it\u2019s\n\tprovided \u2018AS IS\u2019\u2026"
    assert normalize(raw) == "the \"service\" - it's provided 'as is'..."


def test_normalize_drops_invisible_characters():
    assert normalize("arbi\u200btra\u00adtion") == "arbitration"


def test_clean_excerpt_peels_wrapping_quotes_and_ellipses():
    assert clean_excerpt('"...terminate your account..."') == "terminate your account"
    assert clean_excerpt("\u201cterminate your account\u201d") == "terminate your account"
    assert clean_excerpt("terminate ... account") == "terminate ... account"  # inner elision stays


def test_empty_sentence_leaves_no_gap():
    assert DOC.text == ("we may terminate your account at any time. you agree to binding arbitration. "
                        "disputes are governed by the laws of ireland.")
    assert [s[0] for s in DOC.spans] == [0, 2, 3]


@pytest.mark.parametrize(
    ("excerpt", "sentences"),
    [
        ("terminate your account", (0,)),  # inside sentence 0
        ("TERMINATE  your\naccount", (0,)),  # case and whitespace forgiven
        ('"...binding arbitration..."', (2,)),
        # spans the (empty) line: sentence 2 wholly inside; 0 overlaps by 16 chars >= 12
        ("your account at any time. You agree to binding arbitration. Disputes", (0, 2)),
        # straddles 2|3 with only "arbitration." (12 chars) of 2 and "Disputes are" of 3: 12 each
        ("arbitration. Disputes are", (2, 3)),
        # "tion." is 5 chars of sentence 2: below 12, not a prediction about sentence 2
        ("tion. Disputes are governed", (3,)),
    ],
)
def test_grounded_excerpts_and_covered_sentences(excerpt, sentences):
    result = ground(excerpt, DOC, min_chars=12)
    assert result.grounded
    assert result.sentences == sentences


def test_whole_sentences_inside_a_long_quote():
    quote = " ".join(s for s in SENTENCES if s)
    assert ground(quote, DOC, 12).sentences == (0, 2, 3)


def test_short_straddling_quote_keeps_its_larger_side():
    # "on." is 3 chars of sentence 2, "disputes" 8 of sentence 3; with min_chars 10 neither reaches the
    # bar, and sentence 3 has more of the quote
    assert ground("on. Disputes", DOC, min_chars=10).sentences == (3,)


@pytest.mark.parametrize(
    ("excerpt", "reason"),
    [
        ("", "empty"),
        ('"..."', "empty"),
        ("arbitration", "too_short"),  # 11 chars < 12
        ("We may terminate your contract at any time.", "not_found"),  # paraphrase
        ("terminate your account ... Ireland", "not_found"),  # elided middle
    ],
)
def test_not_grounded(excerpt, reason):
    result = ground(excerpt, DOC, min_chars=12)
    assert not result.grounded and result.reason == reason and result.sentences == ()


def test_every_occurrence_counts():
    doc = Document.from_sentences(["The fees may change at any time.", "Terms may change at any time."])
    assert ground("may change at any time", doc, 12).sentences == (0, 1)


def test_min_chars_applies_after_normalisation():
    # 13 raw chars, 12 after collapsing the double space: grounded at 12, not at 13
    assert ground("binding  arbi", DOC, 12).grounded
    assert not ground("binding  arbi", DOC, 13).grounded
