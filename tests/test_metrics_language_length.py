import csv

import pytest

from metrics.language import check_english, language_check
from metrics.length import length_values


@pytest.mark.parametrize(
    "texts",
    [
        ["The provider may change the terms at any time without notice, which is unfair to consumers."],
        ["Waives class actions."],  # too short for the function-word test, ASCII: passes
        ["Arbitration.", "Court in Ireland is far from the consumer, and the cost of a claim is high."],
        [],  # no comments: nothing in the wrong language
        [""],
    ],
)
def test_english_passes(texts):
    assert check_english(texts).ok


@pytest.mark.parametrize(
    "texts",
    [
        ["La clause permet au fournisseur de modifier les conditions sans préavis ni justification."],
        ["Die Klausel erlaubt dem Anbieter, die Bedingungen jederzeit ohne Ankündigung zu ändern."],
        ["La cláusula permite al proveedor cambiar los términos en cualquier momento sin aviso."],
        ["A cláusula permite a empresa alterar os termos a qualquer momento sem aviso prévio ao usuário."],
        ["De clausule staat de aanbieder toe de voorwaarden op elk moment zonder kennisgeving te wijzigen."],
        ["该条款允许提供商随时更改条款，且无需通知用户。"],
        ["Оговорка позволяет менять условия."],  # short, but not Latin letters
    ],
)
def test_other_languages_fail(texts):
    assert not check_english(texts).ok


def test_shares_are_reported():
    check = check_english(["The clause is unfair to the user of the site."])
    # 10 words; function words: the, is, to, the, of, the -> 6/10
    assert check.words == 10 and check.function_word_share == 0.6 and check.ascii_share == 1.0


def test_unknown_language_is_a_clear_error():
    assert language_check("en") is check_english
    with pytest.raises(ValueError, match="spec.language='fr'"):
        language_check("fr")


def test_length():
    assert length_values("x" * 10, 10) == {"length_chars": 10.0, "length_ok": 1.0}
    assert length_values("x" * 11, 10) == {"length_chars": 11.0, "length_ok": 0.0}


def test_expert_rationales_pass(data_root):
    # the 84 rationales legal experts wrote for CLAUDETTE: real English in the register we expect
    rationales = []
    for path in sorted((data_root / "tos_rationales" / "local_database" / "KB").glob("*_explanations.csv")):
        with path.open(encoding="utf-8") as f:
            rationales += [row["Explanation"] for row in csv.DictReader(f)]
    assert len(rationales) >= 80
    failed = [r for r in rationales if not check_english([r]).ok]
    assert failed == []
