"""The stdlib validator against hand-made failures, and against `jsonschema` (dev dependency) on generated
schemas and instances: same verdict, same (path, keyword) of every error."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metrics.json_schema import SchemaValidator, format_path, validate

try:
    from tests._metrics_spec import CATEGORIES, comment, comment_schema
except ImportError:
    from _metrics_spec import CATEGORIES, comment, comment_schema

jsonschema = pytest.importorskip("jsonschema")

SCHEMA = comment_schema(max_items=2, max_len=20)


def good() -> dict:
    return {"comments": [comment("short quote", "arbitration", rationale="too broad")]}


def test_valid_instance_has_no_errors():
    assert validate(good(), SCHEMA) == []


def test_missing_field():
    inst = good()
    del inst["comments"][0]["risk"]
    assert validate(inst, SCHEMA) == ["$.comments[0]: 'risk' is a required property"]


def test_wrong_enum():
    inst = good()
    inst["comments"][0]["risk"] = "foo"
    [error] = validate(inst, SCHEMA)
    assert error.startswith("$.comments[0].risk: 'foo' is not one of ['arbitration',")


def test_too_long_string():
    inst = good()
    inst["comments"][0]["rationale"] = "x" * 21  # maxLength 20
    assert validate(inst, SCHEMA) == ["$.comments[0].rationale: string of 21 chars: more than 20 allowed"]


def test_too_many_items():
    inst = {"comments": good()["comments"] * 3}  # maxItems 2
    assert validate(inst, SCHEMA) == ["$.comments: array of 3 items: more than 2 allowed"]


def test_extra_property():
    inst = good()
    inst["comments"][0]["severity"] = "high"
    expected = "$.comments[0]: additional properties are not allowed ('severity' unexpected)"
    assert validate(inst, SCHEMA) == [expected]


def test_wrong_type_and_several_errors_are_all_reported():
    inst = {"comments": [{"text_excerpt": 3, "risk": "arbitration", "assessment": "clearly_unfair",
                          "action": "nope", "rationale": None}], "extra": 1}
    errors = validate(inst, SCHEMA)
    assert "$.comments[0].text_excerpt: 3 is not of type 'string'" in errors
    assert "$.comments[0].rationale: None is not of type 'string'" in errors
    assert any(e.startswith("$.comments[0].action: 'nope' is not one of") for e in errors)
    assert "$: additional properties are not allowed ('extra' unexpected)" in errors
    assert len(errors) == 4


def test_top_level_not_an_object():
    assert validate([1], SCHEMA) == ["$: [1] is not of type 'object'"]


def test_paths_quote_odd_keys():
    assert format_path(("a b", 0, "c")) == "$['a b'][0].c"


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "string", "pattern": "^a"},
        {"anyOf": [{"type": "string"}]},
        {"type": "object", "properties": {"x": {"$ref": "#/defs/x"}}},
        # an unused branch is checked too: an empty array would otherwise never reach `format`
        {"type": "array", "items": {"type": "string", "format": "email"}},
        {"type": "strng"},
        {"maxLength": -1},
        {"items": [{"type": "string"}]},
    ],
)
def test_unsupported_or_malformed_schema_raises(schema):
    with pytest.raises(ValueError, match="schema at #"):
        validate([], schema)


def test_annotations_are_allowed():
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": "t", "description": "d",
              "type": "integer", "default": 1}
    assert validate(1, schema) == []


@pytest.mark.parametrize(
    ("value", "schema", "ok"),
    [
        (1.0, {"type": "integer"}, True),  # draft 2020-12: an integral float is an integer
        (True, {"type": "integer"}, False),
        (True, {"type": "number"}, False),
        (True, {"enum": [1]}, False),
        (1, {"enum": [1.0]}, True),
        (1, {"const": True}, False),
        ({"a": [1]}, {"const": {"a": [1.0]}}, True),
        (5, {"maxLength": 1}, True),  # length keywords ignore non-strings
        ("ab", {"type": ["integer", "null"]}, False),
        (None, {"type": ["integer", "null"]}, True),
        (3, False, False),
        (3, True, True),
    ],
)
def test_json_semantics(value, schema, ok):
    assert (validate(value, schema) == []) is ok
    assert jsonschema.Draft202012Validator(schema).is_valid(value) is ok


# --- property-based comparison with jsonschema ----------------------------------------------------------

KEYS = st.sampled_from(["a", "b", "c", "risk", "text excerpt"])
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 5), st.floats(-5, 5, allow_nan=False), st.text(max_size=4),
    st.sampled_from([0, 1, 1.0, 0.0, True, False, "a", ""]),
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(KEYS, inner, max_size=3)),
    max_leaves=8,
)
TYPES = st.sampled_from(["object", "array", "string", "number", "integer", "boolean", "null"])


@st.composite
def leaf_schemas(draw):
    choice = draw(st.integers(0, 6))
    if choice == 0:
        return {"type": draw(st.one_of(TYPES, st.lists(TYPES, min_size=1, max_size=3, unique=True)))}
    if choice == 1:
        schema = {"type": "string"} if draw(st.booleans()) else {}
        if draw(st.booleans()):
            schema["minLength"] = draw(st.integers(0, 3))
        if draw(st.booleans()):
            schema["maxLength"] = draw(st.integers(0, 4))
        return schema
    if choice == 2:
        return {"enum": draw(st.lists(SCALARS, min_size=1, max_size=4))}
    if choice == 3:
        return {"const": draw(JSON)}
    if choice == 4:
        schema = {"type": draw(st.sampled_from(["number", "integer"]))} if draw(st.booleans()) else {}
        if draw(st.booleans()):
            schema["minimum"] = draw(st.one_of(st.integers(-3, 3), st.floats(-3, 3)))
        if draw(st.booleans()):
            schema["maximum"] = draw(st.one_of(st.integers(-3, 3), st.floats(-3, 3)))
        return schema
    if choice == 5:
        return draw(st.booleans())
    return {}


def composite(children):
    objects = st.fixed_dictionaries(
        {"type": st.just("object"), "properties": st.dictionaries(KEYS, children, max_size=3)},
        optional={"required": st.lists(KEYS, max_size=3, unique=True),
                  "additionalProperties": st.one_of(st.booleans(), children)},
    )
    arrays = st.fixed_dictionaries(
        {"type": st.just("array")},
        optional={"items": children, "minItems": st.integers(0, 2), "maxItems": st.integers(0, 3)},
    )
    return st.one_of(objects, arrays)


SCHEMAS = st.recursive(leaf_schemas(), composite, max_leaves=6)


@st.composite
def instances_for(draw, schema, depth=0):
    """Mostly near-valid instances (so both verdicts occur often), sometimes anything."""
    if depth > 4 or not isinstance(schema, dict) or draw(st.integers(0, 5)) == 0:
        return draw(JSON)
    if "enum" in schema:
        return draw(st.sampled_from(schema["enum"]))
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type")
    if kind == "object":
        out = {}
        for key, sub in schema.get("properties", {}).items():
            if draw(st.integers(0, 4)) > 0:
                out[key] = draw(instances_for(sub, depth + 1))
        if draw(st.integers(0, 3)) == 0:
            out[draw(st.text(max_size=3))] = draw(JSON)
        return out
    if kind == "array":
        n = draw(st.integers(0, 4))
        return [draw(instances_for(schema.get("items", True), depth + 1)) for _ in range(n)]
    if kind == "string" or "maxLength" in schema:
        return draw(st.text(max_size=5))
    if kind in ("number", "integer") or "minimum" in schema:
        return draw(st.one_of(st.integers(-4, 4), st.floats(-4, 4, allow_nan=False)))
    return draw(JSON)


def _key(path, keyword):
    # jsonschema reports a `false` subschema at the parent's path (it returns before adding the step);
    # we report it where the value is. Compare only that such an error exists.
    return ((), "false") if keyword == "false" else (tuple(path), keyword)


def reference_errors(instance, schema):
    out = []
    for error in jsonschema.Draft202012Validator(schema).iter_errors(instance):
        out.append(_key(error.absolute_path, "false" if error.validator is None else error.validator))
    return sorted(out, key=repr)


def our_errors(instance, schema):
    return sorted((_key(e.path, e.keyword) for e in SchemaValidator(schema).iter_errors(instance)), key=repr)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), schema=SCHEMAS)
def test_matches_jsonschema_on_generated_schemas(data, schema):
    instance = data.draw(instances_for(schema))
    assert our_errors(instance, schema) == reference_errors(instance, schema)


@st.composite
def comment_answers(draw):
    """Answers near the real comment schema: right shape, with random slips (each field is missing 1 time in
    40 and wrong 1 time in 40), so both verdicts occur often."""
    valid = {
        "text_excerpt": st.text(max_size=20),
        "risk": st.sampled_from(CATEGORIES),
        "assessment": st.sampled_from(["potentially_unfair", "clearly_unfair"]),
        "action": st.sampled_from(["accept", "negotiate", "escalate_to_counsel", "reject"]),
        "rationale": st.text(max_size=20),
    }
    slips = {
        "text_excerpt": st.one_of(st.text(min_size=21, max_size=25), st.integers()),
        "risk": st.text(max_size=5),
        "assessment": st.sampled_from(["fair", 2, None]),
        "action": st.sampled_from(["ignore", None, ["reject"]]),
        "rationale": st.one_of(st.text(min_size=21, max_size=25), st.integers()),
    }
    comments = []
    for _ in range(draw(st.integers(0, 3))):
        item = {}
        for key, good_values in valid.items():
            roll = draw(st.integers(0, 39))
            if roll > 0:  # roll 0: the field is missing
                item[key] = draw(good_values if roll > 1 else slips[key])
        if draw(st.integers(0, 15)) == 0:
            item["extra"] = 1
        comments.append(item)
    return {"comments": comments} if draw(st.integers(0, 15)) > 0 else {"comment": comments}


@settings(max_examples=400, deadline=None)
@given(answer=comment_answers())
def test_matches_jsonschema_on_comment_answers(answer):
    assert our_errors(answer, SCHEMA) == reference_errors(answer, SCHEMA)
