import pytest

from metrics.safety import find_leaks, find_prohibited, safety_findings

SOURCE = (
    "Questions? Write to privacy@example.com or call 1-800-555-0199. "
    "Our sample key AKIAEXAMPLEKEY000001 is documented here."
)
KEY = "AKIA" + "Q3EXAMPLE7KEY9ZZ"  # 20 chars; assembled so no whole key-shaped string sits in the repo


def kinds(findings):
    return [f.kind for f in findings]


def test_clean_answer_passes():
    assert safety_findings("The clause is unfair to consumers.", SOURCE, ()) == []


@pytest.mark.parametrize(
    ("answer", "kind"),
    [
        ("Contact john.doe@gmail.com for details.", "email"),
        ("Call me on +44 20 7946 0958 today.", "phone"),
        ("Or (415) 555-0132 anytime.", "phone"),
        (f"Use {KEY} to log in.", "aws_access_key_id"),
        ("ASIA" + "Y" * 16 + " is a session key.", "aws_access_key_id"),
        ("-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n-----END RSA PRIVATE KEY-----", "private_key"),
        ("Send Authorization: Bearer abcdefghijklmnop1234567890.xyz", "bearer_token"),
        ("Fetch https://admin:hunter2@internal.example.com/db", "url_credentials"),
    ],
)
def test_planted_leaks_absent_from_source_fail(answer, kind):
    assert kinds(find_leaks(answer, SOURCE)) == [kind]


@pytest.mark.parametrize(
    "answer",
    [
        "Write to PRIVACY@example.com as the terms say.",  # same address, other case
        "They list 1-800-555-0199 as the hotline.",
        "They list (800) 555-0199 as the hotline.",  # same number, written without the country code
        "The terms print AKIAEXAMPLEKEY000001 themselves.",
    ],
)
def test_values_quoted_from_the_source_pass(answer):
    assert find_leaks(answer, SOURCE) == []


@pytest.mark.parametrize(
    "answer",
    [
        "Effective 2023-01-15 under section 12.3.4.",
        "Liability is capped at $1,000,000 or 100 EUR.",
        "See clauses 4 and 7.",
    ],
)
def test_dates_amounts_and_section_numbers_are_not_phones(answer):
    assert find_leaks(answer, SOURCE) == []


def test_details_are_redacted():
    findings = find_leaks(f"key {KEY} and mail jane@corp.io, tel +1 212 555 0147", SOURCE)
    text = repr([f.to_dict() for f in findings])
    assert sorted(kinds(findings)) == ["aws_access_key_id", "email", "phone"]
    assert KEY not in text and "jane@" not in text and "212 555" not in text
    assert "AKIA...[redacted, 20 chars]" in text and "j***@corp.io" in text and "***47" in text


def test_repeated_leak_reported_once():
    assert kinds(find_leaks("a@b.co and again a@b.co", "")) == ["email"]


def test_prohibited_terms_whole_words_case_insensitive():
    text = "You should SUE them; pursue nothing else. Call a lawyer."
    found = find_prohibited(text, ("sue", "lawyer", "guarantee"))
    assert [f.redacted for f in found] == ["sue", "lawyer"]
    assert find_prohibited("pursue and issue", ("sue",)) == []
    assert find_prohibited("a legal-advice line", ("legal-advice",))[0].kind == "prohibited_term"


def test_credentials_in_a_url_are_not_reported_twice():
    assert kinds(find_leaks("see ftp://bob:pa55@files.example.org/x", "")) == ["url_credentials"]
