import json

import pytest

from metrics.errors import ErrorKind
from metrics.parsing import parse_json_output

OBJ = {"comments": [{"text_excerpt": "a {brace} \"quoted\"", "risk": "arbitration"}]}
TEXT = json.dumps(OBJ)


def test_plain_json_is_not_repaired():
    result = parse_json_output(TEXT)
    assert result.ok and result.value == OBJ and result.repaired is False


@pytest.mark.parametrize(
    "wrapped",
    [
        f"```json\n{TEXT}\n```",
        f"```\n{TEXT}\n```",
        f"Here is my review:\n```json\n{TEXT}\n```\nHope this helps.",
        f"Sure! {TEXT} Let me know if you need more.",
        f"Review {{draft}} follows: {TEXT}",  # a balanced but invalid {draft} before the answer is skipped
        f"{TEXT}\n\nNote: the excerpt uses braces }} carefully.",
    ],
)
def test_fenced_or_prose_wrapped_json_is_repaired(wrapped):
    result = parse_json_output(wrapped)
    assert result.ok, result.error
    assert result.value == OBJ
    assert result.repaired is True


def test_nested_objects_keep_the_outermost():
    nested = {"comments": [{"a": {"b": {"c": [1, {"d": "}"}]}}}]}
    result = parse_json_output("prefix " + json.dumps(nested) + " suffix")
    assert result.value == nested


def test_raw_newline_inside_string_is_accepted():
    text = '{"comments": [{"rationale": "line one\nline two\ttab"}]}'
    result = parse_json_output(text)
    assert result.ok and result.value["comments"][0]["rationale"] == "line one\nline two\ttab"
    assert result.repaired is False


@pytest.mark.parametrize("text", ["", "   \n\t", None])
def test_empty_output_is_a_parse_error(text):
    result = parse_json_output(text)
    assert result.error is not None and result.error.kind is ErrorKind.PARSE
    assert result.value is None


def test_truncated_json_is_a_parse_error_naming_the_position():
    text = TEXT[:-15]
    result = parse_json_output(text)
    assert result.error.kind is ErrorKind.PARSE
    assert "truncated" in result.error.message and "char 0" in result.error.message


def test_truncated_json_never_returns_an_inner_object():
    # the first comment is complete and balanced; the outer object is not: no value may be returned
    text = '{"comments": [{"risk": "arbitration"}, {"risk": "jur'
    result = parse_json_output(text)
    assert not result.ok and result.value is None


def test_prose_without_json_is_a_parse_error_with_position():
    result = parse_json_output("I cannot find any unfair clause.")
    assert result.error.kind is ErrorKind.PARSE
    assert "char 0" in result.error.message


def test_invalid_json_reports_where():
    result = parse_json_output('{"comments": [1, 2,, 3]}')
    assert result.error.kind is ErrorKind.PARSE
    assert "invalid JSON" in result.error.message and "char 19" in result.error.message


def test_non_object_json_parses_and_is_left_to_the_schema():
    assert parse_json_output("[1, 2]").value == [1, 2]


def test_deep_nesting_never_raises():
    result = parse_json_output("[" * 100_000 + "]" * 100_000)
    assert result.error is None or result.error.kind is ErrorKind.PARSE
