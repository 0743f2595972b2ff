"""The composition, on hand-checked answers over one five-sentence window (tests/_metrics_spec.py):
sentence 1 is arbitration (level 3), sentence 3 unilateral change (level 2); the rest are neutral."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metrics import comment_review
from metrics.aggregates import AggregateKind
from metrics.errors import ErrorKind

try:
    from tests._metrics_spec import CATEGORIES, REFERENCE, SENTENCES, answer, build_spec, comment
except ImportError:
    from _metrics_spec import CATEGORIES, REFERENCE, SENTENCES, answer, build_spec, comment

SPEC = build_spec()
ARB = "binding arbitration in San Francisco"  # inside sentence 1
CHANGE = "modify these Terms at any time"  # inside sentence 3
READ = "Please read these terms carefully"  # sentence 2, no risk


def score(text, reference=REFERENCE, spec=SPEC, **kw):
    return comment_review.score(text, reference, spec, **kw)


def test_mixed_answer_hand_checked():
    text = answer(
        comment(ARB, "arbitration", "clearly_unfair", "reject"),  # TP, level right, action allowed
        # TP, level wrong (3 vs 2), action allowed for the level given
        comment(CHANGE, "unilateral_change", "clearly_unfair", "escalate_to_counsel"),
        comment(READ, "content_removal", "potentially_unfair", "reject"),  # FP on sentence 2, action refused
        comment("We will delete your content whenever we like", "content_removal", "potentially_unfair",
                "negotiate"),  # not in the window: ungrounded FP
    )
    s = score(text)
    v = s.values
    assert s.errors == []
    assert (v["json_valid"], v["schema_valid"], v["json_repaired"]) == (1, 1, 0)
    assert (v["grounded_excerpts"], v["total_excerpts"]) == (3, 4)
    # gold {(1,arb),(3,uc)}; predicted {(1,arb),(3,uc),(2,cr)} + 1 ungrounded cr
    assert (v["risk_tp"], v["risk_fp"], v["risk_fn"]) == (2, 2, 0)
    assert (v["risk_pred"], v["risk_gold"]) == (4, 2)
    assert (v["risk_tp/arbitration"], v["risk_fp/arbitration"], v["risk_fn/arbitration"]) == (1, 0, 0)
    assert (v["risk_tp/unilateral_change"], v["risk_fp/unilateral_change"]) == (1, 0)
    assert (v["risk_tp/content_removal"], v["risk_fp/content_removal"]) == (0, 2)
    assert v["risk_fp/jurisdiction"] == 0  # every category present, zeros included
    assert (v["assessment_correct"], v["assessment_matched"]) == (1, 2)
    assert (v["action_compliant"], v["action_total"]) == (3, 4)
    assert v["window_flag_correct"] == 1 and v["n_comments"] == 4
    assert (v["length_ok"], v["language_ok"], v["safety_ok"]) == (1, 1, 1)
    assert v["length_chars"] == len(text)
    grounded = [(c["grounded"], c["sentences"], c["action_allowed"]) for c in s.details["comments"]]
    assert grounded == [(True, [1], True), (True, [3], True), (True, [2], False), (False, [], True)]


def test_every_value_is_present_for_every_kind_of_sample():
    good = score(answer(comment(ARB, "arbitration")))
    for text in ["", "not json", '{"comments": [{"risk": "arbitration"}]}', answer()]:
        assert score(text).values.keys() == good.values.keys()
    names = {name for agg in comment_review.aggregates(SPEC) for name in agg.inputs}
    assert names <= good.values.keys()


def test_aggregates_declared():
    aggs = {a.name: a for a in comment_review.aggregates(SPEC)}
    assert aggs["risk_precision"].inputs == ("risk_tp", "risk_pred")
    assert aggs["risk_recall"].inputs == ("risk_tp", "risk_gold")
    assert aggs["risk_f1"].kind is AggregateKind.F1
    assert all(f"risk_f1/{c}" in aggs for c in CATEGORIES)
    assert aggs["grounding"].inputs == ("grounded_excerpts", "total_excerpts")
    assert aggs["assessment_accuracy"].inputs == ("assessment_correct", "assessment_matched")
    assert aggs["action_compliance"].kind is AggregateKind.RATIO
    assert aggs["window_flag_accuracy"].inputs == ("window_flag_correct",)
    assert aggs["n_comments"].higher_is_better is False
    for name in ("json_valid", "schema_valid", "length_ok", "language_ok", "safety_ok"):
        assert aggs[name].kind is AggregateKind.MEAN


def test_no_gold_and_no_comments_is_correct():
    s = score(answer(), {"sentences": SENTENCES, "gold": []})
    v = s.values
    assert (v["risk_tp"], v["risk_fp"], v["risk_fn"], v["window_flag_correct"]) == (0, 0, 0, 1)
    assert v["language_ok"] == 1 and v["n_comments"] == 0


def test_false_alarm_on_a_clean_window():
    s = score(answer(comment(READ, "content_removal")), {"sentences": SENTENCES})
    assert (s.values["risk_fp"], s.values["window_flag_correct"]) == (1, 0)


def test_silence_on_a_risky_window_misses_both_risks():
    v = score(answer()).values
    assert (v["risk_tp"], v["risk_fp"], v["risk_fn"], v["window_flag_correct"]) == (0, 0, 2, 0)


@pytest.mark.parametrize("text", ["", "Sure, here are my comments", answer(comment(ARB, "arbitration"))[:-5]])
def test_broken_json_costs_recall(text):
    s = score(text)
    v = s.values
    assert [e.kind for e in s.errors] == [ErrorKind.PARSE]
    assert (v["json_valid"], v["schema_valid"], v["n_comments"]) == (0, 0, 0)
    assert (v["risk_tp"], v["risk_fn"], v["window_flag_correct"]) == (0, 2, 0)


def test_schema_failure_costs_recall_and_names_the_problem():
    bad = comment(ARB, "arbitration")
    bad["severity"] = "high"
    s = score(answer(bad))
    v = s.values
    assert (v["json_valid"], v["schema_valid"], v["risk_tp"], v["risk_fn"]) == (1, 0, 0, 2)
    [error] = s.errors
    assert error.kind is ErrorKind.SCHEMA and "$.comments[0]" in error.message and "severity" in error.message
    assert s.details["schema_errors"] == [error.message]


def test_many_schema_errors_are_capped_in_the_message():
    s = score(json.dumps({"comments": [{"x": i} for i in range(8)]}))
    assert "more)" in s.errors[0].message and len(s.details["schema_errors"]) > 5


def test_fenced_answer_is_valid_but_marked_repaired():
    s = score("```json\n" + answer(comment(ARB, "arbitration")) + "\n```")
    assert (s.values["json_valid"], s.values["json_repaired"], s.values["risk_tp"]) == (1, 1, 1)


def test_duplicates_count_once_and_conflicting_levels_earn_nothing():
    same = comment(ARB, "arbitration", "clearly_unfair")
    v = score(answer(same, same)).values
    assert (v["risk_tp"], v["risk_fp"], v["assessment_correct"], v["assessment_matched"]) == (1, 0, 1, 1)
    hedged = comment("Any dispute will be resolved", "arbitration", "potentially_unfair", "negotiate")
    v = score(answer(same, hedged)).values  # both cover (1, arbitration) with levels 3 and 2
    assert (v["risk_tp"], v["assessment_correct"], v["assessment_matched"]) == (1, 0, 1)


def test_quote_spanning_two_sentences_counts_on_both():
    spanning = "binding arbitration in San Francisco. Please read these terms carefully."
    v = score(answer(comment(spanning, "arbitration"))).values
    # (1, arb) is gold: TP; (2, arb) is not: FP; (3, uc) missed
    assert (v["risk_tp"], v["risk_fp"], v["risk_fn"]) == (1, 1, 1)


def test_wrong_category_on_the_right_sentence():
    v = score(answer(comment(ARB, "jurisdiction"))).values
    # (1, jurisdiction) is not gold: FP; both gold pairs missed
    assert (v["risk_tp"], v["risk_fp"], v["risk_fn"]) == (0, 1, 2)
    assert (v["risk_fp/jurisdiction"], v["risk_fn/arbitration"]) == (1, 1)
    assert v["assessment_matched"] == 0


def test_level_one_gold_is_not_a_risk():
    ref = {"sentences": SENTENCES, "gold": [{"sentence": 1, "risk": "arbitration", "level": 1}]}
    v = score(answer(), ref).values
    assert (v["risk_fn"], v["window_flag_correct"]) == (0, 1)


@pytest.mark.parametrize(
    ("reference", "fragment"),
    [
        (None, "reference must be an object"),
        ({"gold": []}, "reference.sentences"),
        ({"sentences": "one string"}, "reference.sentences"),
        ({"sentences": ["a", 3]}, "strings only"),
        ({"sentences": SENTENCES, "gold": [{"sentence": 9, "risk": "arbitration", "level": 3}]}, "sentence"),
        ({"sentences": SENTENCES, "gold": [{"sentence": 1, "risk": "spam", "level": 3}]}, "gold[0].risk"),
        ({"sentences": SENTENCES, "gold": [{"sentence": 1, "risk": "arbitration", "level": "3"}]}, "level"),
        ({"sentences": SENTENCES, "gold": {"sentence": 1}}, "reference.gold"),
    ],
)
def test_malformed_reference_is_an_input_error_not_an_exception(reference, fragment):
    s = score(answer(comment(ARB, "arbitration")), reference)
    [error] = s.errors
    assert error.kind is ErrorKind.INPUT and fragment in error.message
    assert s.values == {}


def test_non_text_output_is_an_input_error():
    s = score(42)
    assert [e.kind for e in s.errors] == [ErrorKind.INPUT]


def test_none_output_scores_as_empty():
    s = score(None)
    assert s.errors[0].kind is ErrorKind.PARSE and s.values["risk_fn"] == 2


def test_metrics_are_chosen_by_name():
    s = score(answer(comment(ARB, "arbitration")), metrics=["format", "length"])
    assert set(s.values) == {"json_valid", "json_repaired", "schema_valid", "length_chars", "length_ok"}
    spec = build_spec(extra={"metrics": ["safety"]})
    assert set(score(answer(), spec=spec).values) == {"safety_ok"}
    assert [a.name for a in comment_review.aggregates(spec)] == ["safety_ok"]
    with pytest.raises(ValueError, match="unknown metric 'bleu'"):
        score(answer(), metrics=["bleu"])


@pytest.mark.parametrize(
    "text",
    [
        "a." * 100_000 + "@",  # was quadratic in a URL pattern before its repetition was bounded
        "12 34 " * 50_000,
        "a@" + "b." * 100_000,
        '{"' * 100_000,
        "{}" * 100_000,
        "[" * 100_000,
        answer(*[comment("x" * 5000, "arbitration", rationale="the " * 2000)] * 50),
    ],
)
def test_adversarial_long_outputs_score_in_linear_time(text):
    start = time.perf_counter()
    s = score(text)
    # measured about 0.05-0.4 s on 2 cores; the bound only catches a return to quadratic behaviour
    assert time.perf_counter() - start < 5
    assert s.values["json_valid"] in (0.0, 1.0)


def test_unsupported_schema_keyword_in_the_spec_raises():
    spec = build_spec(output_schema={"type": "object", "patternProperties": {}})
    with pytest.raises(ValueError, match="patternProperties"):
        score(answer(), spec=spec)


def test_min_excerpt_chars_from_the_spec():
    short = comment("arbitration", "arbitration")  # 11 chars
    assert score(answer(short)).values["risk_fp"] == 1  # default 12: ungrounded
    assert score(answer(short), spec=build_spec(min_excerpt_chars=5)).values["risk_tp"] == 1


def test_length_and_prohibited_terms_from_the_spec():
    text = answer(comment(ARB, "arbitration", rationale="You should sue them over this clause now."))
    spec = build_spec(max_output_chars=50, prohibited_terms=("sue",))
    s = score(text, spec=spec)
    assert (s.values["length_ok"], s.values["safety_ok"]) == (0, 0)
    assert s.details["safety"] == [{"kind": "prohibited_term", "found": "sue"}]


def test_score_is_deterministic_and_json_serialisable():
    text = answer(comment(ARB, "arbitration"), comment("nowhere in the window at all", "jurisdiction"))
    a, b = score(text).to_dict(), score(text).to_dict()
    assert a == b
    json.dumps(a)


HEAVY = ["numpy", "datasets", "mlflow", "hydra", "sklearn", "jsonschema", "scipy", "pandas", "boto3"]


def test_importing_the_scorer_pulls_in_only_the_standard_library():
    # measured against what the interpreter loaded before the import (site hooks such as _distutils_hack)
    code = (
        "import sys, json\n"
        "before = set(sys.modules)\n"
        "import metrics.comment_review\n"
        "tops = {name.split('.')[0] for name in set(sys.modules) - before}\n"
        "print(json.dumps(sorted(tops - set(sys.stdlib_module_names) - {'metrics'})))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    outside = json.loads(out.stdout)
    assert outside == []
    assert "metrics.comment_review" in subprocess.run(
        [sys.executable, "-c", "import sys, metrics.comment_review; print(list(sys.modules))"],
        capture_output=True, text=True, check=True,
    ).stdout  # the probe really imported the scorer
    assert not set(HEAVY) & set(outside)


# --- never raising, whatever the model or the dataset sends ---------------------------------------------

FIELDS = st.sampled_from(["comments", "sentences", "gold", "sentence", "risk", "level", "text_excerpt", "x"])
JSONISH = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-3, 10), st.text(max_size=30)),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(FIELDS, inner, max_size=4)),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=200), JSONISH.map(json.dumps)))
def test_any_output_is_scored_with_every_value(text):
    s = score(text)
    assert s.values.keys() == score(answer()).values.keys()
    assert all(isinstance(v, float) for v in s.values.values())


@settings(max_examples=300, deadline=None)
@given(JSONISH)
def test_any_reference_is_scored_or_an_input_error(reference):
    s = score(answer(comment(ARB, "arbitration")), reference)
    assert s.values or [e.kind for e in s.errors] == [ErrorKind.INPUT]
