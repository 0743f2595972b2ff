"""Hostile and malformed input, property-based (hypothesis): output parsing, schema checks, the contract-review
scorer, judge-verdict parsing, the reward Lambda's event handling and the config loaders.

Invariants:
  * scorers and parsers: no exception escapes; every sample ends scored (finite float values) or with a
    ClassifiedError of a known ErrorKind, and its score can be written as a JSON record;
  * config loaders: only their documented error type escapes (RewardConfigError, JudgeConfigError,
    ValueError for the task config);
  * the Lambda: one well-formed result per sample (id echoed, finite reward inside the configured range,
    metrics_list of {name, value, type}; a sample without a usable id gets id null and the neutral reward in
    its place, counted in the log's id_violations), or MalformedEventError for an event that is not a list.

Two budgets share the strategies: `small` (a few dozen cases per target, derandomized, in the normal suite)
and `fuzz` (thousands per target, random, deselected by default: `pytest -m fuzz tests/test_fuzz.py`; the
count comes from $RFT_FUZZ_EXAMPLES, default 3000). The cases run per target are printed at the end."""

from __future__ import annotations

import copy
import io
import json
import math
import os
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metrics.errors import ClassifiedError, ErrorKind
from metrics.json_schema import SchemaValidator
from metrics.judges.base import JudgeConfigError
from metrics.judges.config import judge_from_config
from metrics.judges.types import JudgeReply, JudgeSample, Verdict
from metrics.parsing import parse_json_output
from metrics.reward.batch import MalformedEventError, id_violation
from metrics.reward.config import RewardConfig, RewardConfigError
from metrics.reward.judge import JudgeFailure
from metrics.reward.lambda_handler import handle
from metrics.types import SampleScore
from tasks.contract_review.task import ContractReviewConfig

ROOT = Path(__file__).resolve().parent.parent


# --- budgets -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Budget:
    name: str
    examples: int
    derandomize: bool  # the normal suite must not flake on a newly drawn example; the fuzz run explores


SMALL = Budget("small", 50, derandomize=True)
LARGE = Budget("fuzz", int(os.environ.get("RFT_FUZZ_EXAMPLES", "3000")), derandomize=False)
# The large budget is `slow` too, so `pytest -m "not slow"` (which replaces the default `-m 'not fuzz'`) skips it.
BUDGETS = [pytest.param(SMALL, id="small"),
           pytest.param(LARGE, id="fuzz", marks=[pytest.mark.fuzz, pytest.mark.slow])]

CASES: Counter[str] = Counter()
SECONDS: Counter[str] = Counter()


def run_property(budget: Budget, target: str, strategy: st.SearchStrategy, check: Callable[[Any], None]) -> None:
    """Run `check` on `budget.examples` values drawn from `strategy`, counting the cases per target."""

    @settings(max_examples=budget.examples, deadline=None, database=None, derandomize=budget.derandomize,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                     HealthCheck.filter_too_much], print_blob=True)
    @given(strategy)
    def prop(value: Any) -> None:
        CASES[target] += 1
        check(value)

    started = time.monotonic()
    try:
        prop()
    finally:
        SECONDS[target] += time.monotonic() - started


@pytest.fixture(scope="module", autouse=True)
def case_report(request):
    yield
    if not CASES:
        return
    lines = [f"fuzz cases per target ({sum(CASES.values())} in {sum(SECONDS.values()):.1f} s):"]
    lines += [f"  {name:<28} {CASES[name]:>6} cases {SECONDS[name]:7.1f} s" for name in sorted(CASES)]
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if capture is not None and reporter is not None:
        with capture.global_and_fixture_disabled():
            reporter.write_line("\n" + "\n".join(lines))
    report = os.environ.get("RFT_FUZZ_REPORT")
    if report:
        Path(report).write_text(json.dumps({"cases": dict(CASES), "seconds": dict(SECONDS)}, indent=1))


# --- JSON text with what json.dumps will not write ---------------------------------------------------------


@dataclass(frozen=True)
class Raw:
    """Spliced into the JSON text verbatim: NaN, Infinity, 1e999, a 5,000-digit integer, deep nesting."""

    text: str


@dataclass(frozen=True)
class Pairs:
    """An object whose keys may repeat (Python's json keeps the last)."""

    items: tuple[tuple[str, Any], ...]


def dump(value: Any) -> str:
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, Pairs):
        return "{" + ",".join(f"{json.dumps(k)}:{dump(v)}" for k, v in value.items) + "}"
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{json.dumps(str(k))}:{dump(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(dump(v) for v in value) + "]"
    return json.dumps(value)  # lone surrogates come out as \udXXX escapes, NaN as NaN


def plain(value: Any) -> Any:
    """What json.loads would make of a value built for `dump` (Raw -> parsed, Pairs -> last key wins)."""
    if isinstance(value, Raw):
        try:
            return json.loads(value.text)
        except (ValueError, RecursionError):
            return value.text
    if isinstance(value, Pairs):
        return {k: plain(v) for k, v in value.items}
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def _nested(depth: int, kind: str) -> Raw:
    if kind == "list":
        return Raw("[" * depth + "]" * depth)
    return Raw('{"a":' * depth + "1" + "}" * depth)


SPECIAL_NUMBERS = st.sampled_from([
    Raw("NaN"), Raw("Infinity"), Raw("-Infinity"), Raw("1e999"), Raw("-1e999"), Raw("1e-999"), Raw("-0"),
    Raw("1" * 4301), Raw("-" + "9" * 5000), Raw("0." + "0" * 400 + "1"), Raw("1" + "0" * 320 + ".5"),
])
HOSTILE_CHARS = st.characters(categories=["Cs", "Cc", "Cf", "Zs", "Zl", "Zp", "So", "Lo", "Mn"])
HOSTILE_TEXT = st.one_of(
    st.text(max_size=40),
    st.text(HOSTILE_CHARS, max_size=20),  # lone surrogates, controls, bidi overrides, zero-width joiners
    st.sampled_from(["", " ", "\u202e", "\ud800", "\udfff", "\x00", "{", "}", '"', "\\", "```", "```json",
                     "<script>alert(1)</script>", "pass", "fail", "A", "B", "tie", "verdict: pass"]),
)
HUGE_TEXT = st.integers(1_000, 60_000).map(lambda n: "ä" * n)  # drawn once per value, not per leaf: it is slow
# Depths around the JSON parser's own limit (about 990 here) matter most; hypothesis seldom draws them alone.
DEPTHS = st.one_of(st.integers(1, 60), st.sampled_from([200, 500, 900, 980, 985, 990, 995, 1000, 3000]))
DEEP = st.builds(_nested, DEPTHS, st.sampled_from(["list", "object"]))
LEAVES = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
                   HOSTILE_TEXT, SPECIAL_NUMBERS)
KEYS = st.one_of(st.text(max_size=12), st.sampled_from(["comments", "verdict", "winner", "scores", "comment",
                                                        "justification", "text_excerpt", "risk", "id"]))


def _containers(children: st.SearchStrategy) -> st.SearchStrategy:
    return st.one_of(
        st.lists(children, max_size=6),
        st.dictionaries(KEYS, children, max_size=6),
        st.lists(st.tuples(KEYS, children), max_size=6).map(lambda kv: Pairs(tuple(kv))),
    )


JSON_VALUES = st.one_of(st.recursive(LEAVES, _containers, max_leaves=25), DEEP)


def wrap(text: str, how: str, cut: float) -> str:
    """Ways models and attackers present JSON: bare, fenced, inside prose, twice, cut off."""
    if how == "fence":
        return f"Here is the review:\n```json\n{text}\n```\nDone."
    if how == "prose":
        return f"Sure! {{not json}} {text} I hope this {{helps}}."
    if how == "twice":
        return f"{text}\n{text}"
    if how == "truncated":
        return text[: int(len(text) * cut)]
    return text


WRAPPINGS = st.sampled_from(["bare", "bare", "fence", "prose", "twice", "truncated"])


def as_text(values: st.SearchStrategy) -> st.SearchStrategy[str]:
    return st.builds(wrap, values.map(dump), WRAPPINGS, st.floats(0.0, 1.0))


ANY_TEXT = st.one_of(
    st.text(max_size=300),
    HUGE_TEXT,
    st.text(st.sampled_from('{}[]":,\\ \nabc0123-.eE'), max_size=400),  # brace and quote soup
    HOSTILE_TEXT,
    as_text(JSON_VALUES),
)


# --- shared objects ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def task(data_root):
    from tasks.registry import build_task

    return build_task(yaml.safe_load((ROOT / "conf/task/contract_review.yaml").read_text()), data_root=data_root)


@pytest.fixture(scope="module")
def rows(task):
    test_rows = task.rows("test")
    risky = [r for r in test_rows if r["gold"]]
    clean = [r for r in test_rows if not r["gold"]]
    return risky[:2] + clean[:1]


def _answers(task, rows) -> st.SearchStrategy:
    """Answers shaped like the task's output, each field valid-looking or hostile, plus gold answers."""
    spec = task.spec
    sentences = [s for r in rows for s in r["sentences"]]
    excerpt = st.one_of(st.sampled_from(sentences), st.sampled_from(sentences).map(lambda s: s[: len(s) // 2]),
                        st.sampled_from(sentences).map(lambda s: f'"...{s.upper()}..."'), LEAVES, HUGE_TEXT)
    field_values = {
        "text_excerpt": excerpt,
        "risk": st.one_of(st.sampled_from(spec.categories), LEAVES),
        "assessment": st.one_of(st.sampled_from(sorted(spec.assessments)), LEAVES),
        "action": st.one_of(st.sampled_from(sorted({a for v in spec.allowed_actions.values() for a in v})), LEAVES),
        "rationale": st.one_of(st.text(max_size=60), LEAVES, HUGE_TEXT),
    }
    comment = st.one_of(
        st.fixed_dictionaries({}, optional=field_values),
        st.fixed_dictionaries(field_values, optional={"extra": JSON_VALUES}),
        JSON_VALUES,
    )
    gold = st.sampled_from([task.render_gold(r) for r in rows]).map(lambda t: Raw(t))
    return st.one_of(
        gold,
        st.lists(comment, max_size=12).map(lambda cs: {"comments": cs}),
        st.tuples(st.lists(comment, max_size=3), st.lists(comment, max_size=3)).map(
            lambda two: Pairs((("comments", two[0]), ("comments", two[1])))),  # duplicate keys
        JSON_VALUES,
    )


def check_sample_score(score: Any) -> None:
    assert isinstance(score, SampleScore)
    assert score.values or score.errors, "a sample must end scored or with a classified error"
    for error in score.errors:
        assert isinstance(error, ClassifiedError) and isinstance(error.kind, ErrorKind)
    for name, value in score.values.items():
        assert isinstance(name, str) and isinstance(value, float) and math.isfinite(value), (name, value)
    json.dumps(score.to_dict(), allow_nan=False)  # the record can be written


# --- 1. output parsing -------------------------------------------------------------------------------------


@pytest.mark.parametrize("budget", BUDGETS)
def test_parse_json_output_never_raises(budget):
    def check(text: str) -> None:
        result = parse_json_output(text)
        assert result.ok != (result.error is not None)
        if result.error is not None:
            assert result.error.kind is ErrorKind.PARSE and result.error.message

    run_property(budget, "parsing", st.one_of(ANY_TEXT, LEAVES.filter(lambda v: not isinstance(v, str))), check)


# --- 2. schema checks --------------------------------------------------------------------------------------

SCHEMA_KEYWORDS = st.sampled_from(["type", "properties", "required", "additionalProperties", "items", "enum",
                                   "const", "minLength", "maxLength", "minItems", "maxItems", "minimum",
                                   "maximum", "title", "pattern", "anyOf"])
SCHEMA_VALUES = st.one_of(
    st.sampled_from(["object", "array", "string", "number", "integer", "boolean", "null", "float"]),
    st.lists(st.sampled_from(["object", "string", "null", "number"]), max_size=3),
    st.integers(-3, 10), st.booleans(), st.floats(allow_nan=True), st.none(), st.lists(st.text(max_size=5)),
)
SCHEMAS = st.recursive(
    st.one_of(st.booleans(), st.dictionaries(SCHEMA_KEYWORDS, SCHEMA_VALUES, max_size=4)),
    lambda sub: st.one_of(
        st.dictionaries(SCHEMA_KEYWORDS, st.one_of(SCHEMA_VALUES, sub), max_size=4),
        st.builds(lambda props, extra: {"type": "object", "properties": props, "additionalProperties": extra},
                  st.dictionaries(st.text(max_size=6), sub, max_size=3), st.one_of(st.booleans(), sub)),
        st.builds(lambda items, n: {"type": "array", "items": items, "maxItems": n}, sub, st.integers(0, 4)),
    ),
    max_leaves=12,
) | st.one_of(JSON_VALUES.map(plain), DEPTHS.map(
    lambda n: json.loads('{"items":' * n + "true" + "}" * n) if n < 900 else {"items": True}))


@pytest.mark.parametrize("budget", BUDGETS)
def test_schema_validator_rejects_bad_schemas_with_value_error_only(budget):
    def check(pair: tuple[Any, Any]) -> None:
        schema, instance = pair
        try:
            validator = SchemaValidator(schema)
        except ValueError:
            return  # the documented error: a schema outside the supported subset
        messages = validator.validate(instance)
        assert all(isinstance(m, str) and m.startswith("$") for m in messages)

    run_property(budget, "schema_compile", st.tuples(SCHEMAS, JSON_VALUES.map(plain)), check)


@pytest.mark.parametrize("budget", BUDGETS)
def test_task_schema_validates_hostile_answers(budget, task, rows):
    validator = SchemaValidator(task.output_schema())

    def check(answer: Any) -> None:
        messages = validator.validate(plain(answer))
        assert all(isinstance(m, str) for m in messages)

    run_property(budget, "schema_task", _answers(task, rows), check)


# --- 3. the contract-review scorer -------------------------------------------------------------------------


def _check_scored_against_reference(score: SampleScore) -> None:
    check_sample_score(score)
    kinds = {e.kind for e in score.errors}
    assert score.values, f"a valid reference must give values, got errors {score.errors}"
    assert (score.values["json_valid"] == 0.0) == (ErrorKind.PARSE in kinds)
    schema_failed = score.values["json_valid"] == 1.0 and score.values["schema_valid"] == 0.0
    assert schema_failed == (ErrorKind.SCHEMA in kinds)
    assert 0.0 <= score.values["risk_tp"] <= score.values["risk_gold"]


@pytest.mark.parametrize("budget", BUDGETS)
def test_score_arbitrary_text(budget, task, rows):
    def check(pair: tuple[str, int]) -> None:
        text, which = pair
        _check_scored_against_reference(task.score(text, task.reference(rows[which])))

    run_property(budget, "score_text", st.tuples(ANY_TEXT, st.integers(0, len(rows) - 1)), check)


@pytest.mark.parametrize("budget", BUDGETS)
def test_score_structurally_valid_but_hostile_json(budget, task, rows):
    def check(pair: tuple[str, int]) -> None:
        text, which = pair
        _check_scored_against_reference(task.score(text, task.reference(rows[which])))

    strategy = st.tuples(as_text(_answers(task, rows)), st.integers(0, len(rows) - 1))
    run_property(budget, "score_json", strategy, check)


def _slots(node: Any, depth: int) -> list[tuple[Any, Any]]:
    """(container, key) of every value inside `node`, down to depth 30 (a drawn value may be nested
    thousands deep: edits stay near the top)."""
    if depth > 30:
        return []
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    out: list[tuple[Any, Any]] = []
    for key, child in children:
        out.append((node, key))
        out.extend(_slots(child, depth + 1))
    return out


YAML_KEYS = st.one_of(st.text(max_size=8), st.integers(), st.none())  # YAML maps allow integer and null keys


def mutations(base: Any, values: st.SearchStrategy, keys: st.SearchStrategy = YAML_KEYS) -> st.SearchStrategy:
    """`base` with 1-4 edits anywhere in it: a value replaced, a key or item deleted, a key added. `values` must
    build fresh objects on every draw: a later edit changes them in place."""

    @st.composite
    def build(draw: Callable) -> Any:
        data = copy.deepcopy(base)
        for _ in range(draw(st.integers(1, 4))):
            slots = [(None, None), *_slots(data, 0)]
            parent, key = draw(st.sampled_from(slots))
            op = draw(st.sampled_from(["replace", "replace", "delete", "add"]))
            if parent is None:
                if op == "replace":
                    data = draw(values)
                continue
            if op == "replace":
                parent[key] = draw(values)
            elif op == "delete":
                del parent[key]
            elif isinstance(parent, dict):
                parent[draw(keys)] = draw(values)
            else:
                parent.append(draw(values))
        return data

    return build()


PARSED_JSON = JSON_VALUES.map(plain)  # what json.loads can give: string keys only
HOSTILE_VALUES = st.one_of(PARSED_JSON, st.sampled_from([10**400, -(10**400), float("nan"), float("inf")]),
                           st.builds(lambda: {1: "a", "b": 2}))  # YAML allows integer keys; a fresh dict each time


@pytest.mark.parametrize("budget", BUDGETS)
def test_score_with_hostile_reference(budget, task, rows):
    answer = task.render_gold(rows[0])

    def check(reference: Any) -> None:
        score = task.score(answer, reference)
        check_sample_score(score)
        if not score.values:
            assert [e.kind for e in score.errors] == [ErrorKind.INPUT]

    strategy = st.one_of(mutations(task.reference(rows[0]), HOSTILE_VALUES), HOSTILE_VALUES)
    run_property(budget, "score_reference", strategy, check)


# --- 4. judge verdicts -------------------------------------------------------------------------------------


def _judge_config(name: str, **changes: Any) -> dict[str, Any]:
    data = yaml.safe_load((ROOT / f"conf/judge/{name}.yaml").read_text())
    data.pop("defaults", None)
    data.pop("model", None)
    return {**data, **changes}


JUDGES = {
    "rubric_all": _judge_config("contract_review_rubric"),
    "rubric_per_criterion": _judge_config("contract_review_rubric", mode="per_criterion"),
    "scale": _judge_config("contract_review_scale"),
    "pairwise": _judge_config("pairwise"),
    "pairwise_no_tie": _judge_config("pairwise", allow_tie=False),
}
VERDICT_WORDS = st.sampled_from(["pass", "fail", "PASS", "yes", "no", "true", "false", "pass or fail", "A", "B",
                                 "tie", "first", "second", "a and b", "1", "2", "3", "5"])
VERDICT_VALUE = st.one_of(VERDICT_WORDS, LEAVES, st.lists(VERDICT_WORDS, max_size=3))


def _verdict_objects(names: list[str]) -> st.SearchStrategy:
    one = st.fixed_dictionaries({}, optional={"verdict": VERDICT_VALUE, "justification": LEAVES,
                                              "winner": VERDICT_VALUE, "result": VERDICT_VALUE})
    score_row = st.fixed_dictionaries({}, optional={"comment": st.one_of(st.integers(-2, 20), LEAVES),
                                                    **{n: st.one_of(st.integers(0, 6), LEAVES) for n in names}})
    return st.one_of(
        one,
        st.fixed_dictionaries({}, optional={n: st.one_of(one, VERDICT_VALUE) for n in names}),
        st.fixed_dictionaries({"scores": st.lists(score_row, max_size=6)}, optional={"justification": LEAVES}),
        st.lists(st.tuples(st.sampled_from(["verdict", "winner", *names]), VERDICT_VALUE), max_size=4).map(
            lambda kv: Pairs(tuple(kv))),
        JSON_VALUES,
    )


NAMES = ["target_document_grounding", "reference_consistency", "actionability"]
REPLY_TEXT = st.one_of(
    ANY_TEXT,
    as_text(_verdict_objects(NAMES)),
    st.builds(lambda a, b: f"{a} then {b}", as_text(_verdict_objects(NAMES)), as_text(_verdict_objects(NAMES))),
    st.builds(lambda w, p: f"{p}: {w}", VERDICT_WORDS, st.sampled_from(["verdict", "Winner", "[[", "final answer"])),
)
REPLIES = st.builds(
    JudgeReply,
    text=st.one_of(REPLY_TEXT, st.none()),
    stop_reason=st.one_of(st.sampled_from(["end_turn", "max_tokens", "length", "content_filtered",
                                           "guardrail_intervened", "stop_sequence"]), st.text(max_size=10)),
    error=st.one_of(st.none(), st.none(), st.none(),
                    st.just(ClassifiedError(ErrorKind.JUDGE, "call failed", "judge"))),
)
RESPONSES = st.one_of(st.sampled_from(['{"comments": []}', '{"comments": [{"text_excerpt": "x"}, 3]}', "", None,
                                       '{"comments": [' + ",".join(['{"risk": "a"}'] * 20) + "]}"]), ANY_TEXT)


@pytest.mark.parametrize("budget", BUDGETS)
@pytest.mark.parametrize("judge_name", sorted(JUDGES))
def test_judge_parse_and_combine_never_raise(budget, judge_name):
    judge = judge_from_config(JUDGES[judge_name])

    def check(case: tuple[Any, Any, list[JudgeReply]]) -> None:
        response, other, replies = case
        sample = JudgeSample("s1", response, document="We may change these terms.", reference="playbook",
                             other=other)
        requests, decided = judge.plan(sample)
        verdicts: list[Verdict] = list(decided)
        for request, reply in zip(requests, replies * len(requests), strict=False):
            verdict = judge.parse(request, reply)
            assert isinstance(verdict, Verdict) and verdict.ok != (verdict.error is not None)
            if verdict.error is not None:
                assert verdict.error.kind in (ErrorKind.JUDGE_PARSE, ErrorKind.JUDGE) and verdict.reason
                judge.reask(request, reply, verdict)
            verdicts.append(verdict)
        check_sample_score(judge.combine(sample, verdicts))

    strategy = st.tuples(RESPONSES, RESPONSES, st.lists(REPLIES, min_size=1, max_size=3))
    run_property(budget, f"judge_{judge_name}", strategy, check)


# --- 5. the reward Lambda ----------------------------------------------------------------------------------


class Context:
    aws_request_id = "fuzz"

    def get_remaining_time_in_millis(self) -> int:
        return 600_000


class FakeJudge:
    """A judge client misbehaving as drawn: scores out of range, NaN, wrong shapes, failures, bugs."""

    def __init__(self, behaviours: list[Any], criteria: tuple[str, ...]):
        self.behaviours = behaviours or ["pass"]
        self.criteria = criteria

    def parts_for(self, criteria: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(criteria)

    def score_part(self, part: str, output_text: str, reference: Any, document: str,
                   deadline: float | None = None) -> Any:
        behaviour = self.behaviours[(len(output_text) + len(part)) % len(self.behaviours)]
        if behaviour == "pass":
            return {part: 1.0}
        if behaviour == "failure":
            raise JudgeFailure(ClassifiedError(ErrorKind.JUDGE, "throttled for good", "judge"))
        if behaviour == "bug":
            raise RuntimeError("judge client bug")
        if behaviour == "other_criterion":
            return {"something_else": 1.0}
        return behaviour if not isinstance(behaviour, tuple) else {part: behaviour[1]}


def _events(task, rows, answers: st.SearchStrategy) -> st.SearchStrategy:
    from _reward_helpers import sample

    def one(row: Any, answer: str, where: str, role: str) -> dict[str, Any]:
        return sample(task, row, answer, where=where, role=role)

    base = st.builds(one, st.sampled_from(rows), answers, st.sampled_from(["top", "metadata"]),
                     st.sampled_from(["assistant", "nova_assistant"]))
    reference_strings = st.one_of(
        st.sampled_from(rows).map(lambda r: json.dumps(task.reference(r))),
        st.integers(1, 5000).map(lambda n: "[" * n + "]" * n),  # deep nesting in a JSON string
        st.just("1" * 5000),  # past Python's int-digits limit
        st.text(max_size=30),
    )
    sample_edits = st.one_of(
        st.just({}),
        st.fixed_dictionaries({"reference_answer": st.one_of(reference_strings, PARSED_JSON)}),
        st.fixed_dictionaries({"messages": PARSED_JSON}),
        st.fixed_dictionaries({"id": st.one_of(st.text(max_size=8), st.integers(), st.none(), st.floats(),
                                               st.lists(st.integers(), max_size=1))}),
        st.fixed_dictionaries({"messages": st.lists(st.fixed_dictionaries(
            {"role": st.sampled_from(["user", "assistant", "nova_assistant", "system", "tool"])},
            optional={"content": st.one_of(PARSED_JSON, st.lists(st.fixed_dictionaries(
                {"text": LEAVES}, optional={"type": st.just("text")}), max_size=3))}), max_size=3)}),
    )
    edited = st.builds(lambda s, e: {**s, **e}, base, sample_edits)
    return st.one_of(
        st.lists(st.one_of(edited, edited, edited, PARSED_JSON), max_size=6),
        PARSED_JSON,
        st.lists(mutations(task.reference(rows[0]), PARSED_JSON, keys=st.text(max_size=8)), max_size=2),
    )


def _check_results(event: Any, results: list[dict[str, Any]], config: RewardConfig) -> None:
    assert isinstance(results, list) and len(results) == len(event)
    for sample, result in zip(event, results, strict=True):
        assert set(result) == {"id", "aggregate_reward_score", "metrics_list"}
        if id_violation(sample) is not None:  # neutral in its place, id null; the rest of the batch is scored
            assert result["id"] is None and result["aggregate_reward_score"] == config.neutral
        else:
            assert result["id"] is sample["id"] or result["id"] == sample["id"]
        score = result["aggregate_reward_score"]
        assert isinstance(score, float) and math.isfinite(score) and config.low <= score <= config.high
        for metric in result["metrics_list"]:
            assert set(metric) == {"name", "value", "type"}
            assert isinstance(metric["name"], str) and metric["type"] in ("Reward", "Metric")
            assert isinstance(metric["value"], float) and math.isfinite(metric["value"])
    json.dumps(results)  # what the Lambda runtime sends back


def _run_handler(event: Any, bundle: Any, judge: Any) -> None:
    log = io.StringIO()
    try:
        results = handle(event, Context(), bundle, judge, log_stream=log)
    except MalformedEventError as exc:
        assert str(exc)
        assert not isinstance(event, list), f"a list event was refused: {exc}"  # one bad sample never sinks it
        return
    _check_results(event, results, bundle.reward)
    logged = json.loads(log.getvalue())
    assert logged["samples"] == len(event)
    assert logged["id_violations"] == sum(id_violation(s) is not None for s in event)


@pytest.fixture(scope="module")
def bundles(task):
    from _reward_helpers import bundle_for

    return {"deterministic": bundle_for(task, "contract_review_deterministic"),
            "judged": bundle_for(task, "contract_review")}


@pytest.mark.parametrize("budget", BUDGETS)
def test_lambda_deterministic_reward_on_hostile_events(budget, task, rows, bundles):
    answers = st.one_of(ANY_TEXT, as_text(_answers(task, rows)))

    def check(event: Any) -> None:
        _run_handler(event, bundles["deterministic"], None)

    run_property(budget, "lambda", _events(task, rows, answers), check)


JUDGE_BEHAVIOURS = st.lists(st.one_of(
    st.sampled_from(["pass", "failure", "bug", "other_criterion"]),
    st.tuples(st.just("score"), st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(),
                                          st.text(max_size=3), st.none(), st.booleans())),
    LEAVES,
), min_size=1, max_size=4)


@pytest.mark.parametrize("budget", BUDGETS)
def test_lambda_with_misbehaving_judge(budget, task, rows, bundles):
    bundle = bundles["judged"]
    gold = st.sampled_from([task.render_gold(r) for r in rows])  # pass the gates, so the judge is called

    def check(case: tuple[Any, list[Any]]) -> None:
        event, behaviours = case
        _run_handler(event, bundle, FakeJudge(behaviours, bundle.reward.criteria))

    run_property(budget, "lambda_judge", st.tuples(_events(task, rows, st.one_of(gold, ANY_TEXT)),
                                                   JUDGE_BEHAVIOURS), check)


# --- 6. config loaders -------------------------------------------------------------------------------------


def _reward_configs() -> list[dict[str, Any]]:
    return [yaml.safe_load(p.read_text()) for p in sorted((ROOT / "conf/reward").glob("*.yaml"))]


@pytest.mark.parametrize("budget", BUDGETS)
def test_reward_config_loader_raises_only_reward_config_error(budget):
    strategy = st.one_of(*(mutations(c, HOSTILE_VALUES) for c in _reward_configs()), HOSTILE_VALUES)

    def check(data: Any) -> None:
        try:
            config = RewardConfig.from_mapping(data, "fuzz.yaml")
        except RewardConfigError as exc:
            assert "fuzz.yaml" in str(exc)
            return
        assert config.low < config.high and config.low <= config.neutral <= config.high

    run_property(budget, "reward_config", strategy, check)


@pytest.mark.parametrize("budget", BUDGETS)
def test_judge_config_loader_raises_only_judge_config_error(budget):
    strategy = st.one_of(*(mutations(c, HOSTILE_VALUES) for c in JUDGES.values()), HOSTILE_VALUES)

    def check(data: Any) -> None:
        if not isinstance(data, Mapping):
            data = {"kind": data}
        try:
            judge = judge_from_config(data)
        except JudgeConfigError as exc:
            assert str(exc)
            return
        assert judge.settings.max_tokens >= 1

    run_property(budget, "judge_config", strategy, check)


@pytest.mark.parametrize("budget", BUDGETS)
def test_task_config_loader_raises_only_value_error(budget):
    base = yaml.safe_load((ROOT / "conf/task/contract_review.yaml").read_text())

    def check(data: Any) -> None:
        if not isinstance(data, Mapping):
            data = {"window": data}
        try:
            ContractReviewConfig.from_mapping(data)
        except ValueError as exc:
            assert str(exc)

    run_property(budget, "task_config", st.one_of(mutations(base, HOSTILE_VALUES),
                                                  st.dictionaries(st.text(max_size=5), HOSTILE_VALUES)), check)


# --- regressions: the inputs that made exceptions escape before the fixes -------------------------------------

DIGITS = "1" * 5000  # past Python's 4,300-digit limit for int(): json.loads raises a plain ValueError


def test_regression_answers_are_classified(task, rows):
    reference = task.reference(rows[0])
    assert parse_json_output(DIGITS).error.kind is ErrorKind.PARSE  # was: ValueError escaped
    for text in (DIGITS, f'{{"comments": {DIGITS}}}', f"Sure: {{\"a\": {DIGITS}}}"):
        score = task.score(text, reference)
        check_sample_score(score)
        assert [e.kind for e in score.errors] == [ErrorKind.PARSE]


def test_regression_nesting_just_inside_the_parser_limit_is_a_schema_error(task, rows):
    """The deepest answer the parser accepts (the limit depends on the stack, so it is searched): its schema
    error message used to repr() the value and raise RecursionError out of the scorer."""
    reference = task.reference(rows[0])
    for depth in range(1000, 800, -1):
        score = task.score('{"comments":' + "[" * depth + "]" * depth + "}", reference)
        if [e.kind for e in score.errors] != [ErrorKind.PARSE]:
            break
    check_sample_score(score)
    assert [e.kind for e in score.errors] == [ErrorKind.SCHEMA] and depth > 800


def test_regression_judge_replies_are_classified():
    scale = judge_from_config(JUDGES["scale"])
    requests, _ = scale.plan(JudgeSample("s", '{"comments": [{"risk": "a"}]}'))
    for text in ('{"justification": "", "scores": [{"comment": Infinity, "target_document_grounding": 5}]}',
                 '{"justification": "", "scores": [{"comment": 1, "actionability": 1' + "0" * 400 + "}]}",
                 f'{{"verdict": {DIGITS}}}'):  # was: OverflowError / ValueError escaped
        verdict = scale.parse(requests[0], JudgeReply(text=text))
        assert verdict.error is not None and verdict.error.kind is ErrorKind.JUDGE_PARSE


def test_regression_lambda_reference_strings(task, rows, bundles):
    event = []
    for i, reference in enumerate(["[" * 5000 + "]" * 5000, DIGITS]):  # was: RecursionError / ValueError
        event.append({"id": str(i), "messages": [{"role": "assistant", "content": "{}"}],
                      "reference_answer": reference})
    results = handle(event, Context(), bundles["deterministic"], None, log_stream=io.StringIO())
    assert [m["name"] for r in results for m in r["metrics_list"] if m["name"].startswith("error/")] == \
        ["error/input_error"] * 2


@pytest.mark.parametrize("loader, data, error", [
    ("reward", {"range": [10**400, 1], "components": {"a": {"metric": "json_valid"}}}, RewardConfigError),
    ("reward", {1: "x", "components": {"a": {"metric": "json_valid"}}}, RewardConfigError),
    ("reward", {"components": {"a": {"metric": ["json_valid"]}}}, RewardConfigError),
    ("reward", {"components": {"a": {"metric": "json_valid"}}, "judge": 5}, RewardConfigError),
    ("judge", {"kind": []}, JudgeConfigError),
    ("judge", {**JUDGES["rubric_all"], "neutral_score": "half"}, JudgeConfigError),
    ("judge", {**JUDGES["rubric_all"], "criteria": 5}, JudgeConfigError),
    ("judge", {**JUDGES["rubric_all"], "criteria": [{"name": "a", "question": "q", "weight": "heavy"}]},
     JudgeConfigError),
    ("judge", {**JUDGES["scale"], "dimensions": [3]}, JudgeConfigError),
    ("judge", {**JUDGES["rubric_all"], "criteria": [{"name": "a", "question": "q", "weight": 10**400}]},
     JudgeConfigError),
    ("schema", {"type": {}}, ValueError),
    ("task", {"window": 5}, ValueError),
    ("task", {"window": {1: "a"}, 2: "b"}, ValueError),
    ("schema", json.loads('{"items":' * 600 + "true" + "}" * 600), ValueError),
], ids=lambda v: v if isinstance(v, str) else "")
def test_regression_config_loaders_raise_their_documented_error(loader, data, error):
    load = {"reward": lambda d: RewardConfig.from_mapping(d, "r.yaml"), "judge": judge_from_config,
            "task": ContractReviewConfig.from_mapping, "schema": SchemaValidator}[loader]
    with pytest.raises(error) as caught:  # was: TypeError, OverflowError or RecursionError
        load(data)
    assert type(caught.value) is error or issubclass(type(caught.value), error)


# --- a bug found by this file, in a module it does not own ---------------------------------------------------


def test_a_record_with_a_lone_surrogate_can_be_written(task, rows, tmp_path):
    from evals.samples.records import RecordWriter, SampleRecord

    answer = json.loads(task.render_gold(rows[0]))
    answer["comments"][0]["rationale"] += " \ud800"
    text = json.dumps(answer)  # ASCII: the surrogate travels as an escape, as a model may write it
    score = task.score(text, task.reference(rows[0]))
    check_sample_score(score)  # the scorer itself is fine
    record = SampleRecord(candidate="c", role="r", item_id="i", output=text, values=score.values,
                          details=score.details)
    with RecordWriter(tmp_path / "records.jsonl") as writer:
        writer.write(record)
    assert json.loads((tmp_path / "records.jsonl").read_text(encoding="utf-8"))["item_id"] == "i"
    from evals.samples.records import read_records

    (back,) = read_records(tmp_path / "records.jsonl")
    assert back.output == text and back.details == json.loads(json.dumps(score.details))
