"""Judges without a server: verdict parsing, prompt hygiene, plans, combining, the stdlib runner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from metrics.errors import ErrorKind
from metrics.judges import prompt_hygiene
from metrics.judges.config import judge_from_config
from metrics.judges.pairwise import PairwiseJudge
from metrics.judges.rubric import RubricJudge
from metrics.judges.runner import run_judge
from metrics.judges.scale import ScaleJudge
from metrics.judges.types import JudgeReply, JudgeSample

REPO = Path(__file__).resolve().parents[1]
CRITERIA = [{"name": "grounding", "question": "Quoted verbatim?"}, {"name": "actionability", "question": "Allowed?",
                                                                     "weight": 3.0}]
RUBRIC = {"name": "t", "kind": "rubric", "criteria": CRITERIA, "instructions": "Grade it."}
GOOD = json.dumps({"grounding": {"justification": "ok", "verdict": "pass"},
                   "actionability": {"justification": "bad action", "verdict": "fail"}})
SAMPLE = JudgeSample("s1", response='{"comments": []}', document="We may end your account.", reference="PLAYBOOK")


def rubric(**extra) -> RubricJudge:
    judge = judge_from_config({**RUBRIC, **extra})
    assert isinstance(judge, RubricJudge)
    return judge


def read(judge, text, stop="end_turn"):
    requests, _ = judge.plan(SAMPLE)
    return judge.parse(requests[0], JudgeReply(text=text, stop_reason=stop))


@pytest.mark.parametrize("text,repaired", [
    (GOOD, False),
    (f"```json\n{GOOD}\n```", True),
    (f"Here is my grading:\n{GOOD}\nI hope this helps.", True),
    ('{"grounding": {"justification": "line one\nline two", "verdict": "PASS"}, '
     '"actionability": {"justification": "x", "verdict": "Fail"}}', False),  # raw newline in a string
    ('{"grounding": {"justification": "x", "verdict": true}, "actionability": {"verdict": "no"}}', False),
])
def test_rubric_reads_tolerated_forms(text, repaired):
    verdict = read(rubric(), text)
    assert verdict.ok, verdict.error
    assert {k: v for k, (v, _) in verdict.value.items()} == {"grounding": "pass", "actionability": "fail"}
    assert verdict.repaired is repaired


@pytest.mark.parametrize("text,stop,reason", [
    ("", "end_turn", "empty"),
    ("   \n", "end_turn", "empty"),
    ("I'm sorry, but I can't help with grading this.", "end_turn", "refusal"),
    ("anything", "content_filtered", "refusal"),
    ("The response looks reasonable overall.", "end_turn", "not_json"),
    ('{"grounding": {"justification": "x"}, "actionability": {"verdict": "pass"}}', "end_turn", "no_verdict"),
    ('{"grounding": {"verdict": "pass or fail"}, "actionability": {"verdict": "pass"}}', "end_turn",
     "two_verdicts"),
    (GOOD + "\n" + GOOD.replace('"fail"', '"pass"'), "end_turn", "two_verdicts"),
    ('{"grounding": {"justification": "the excerpt', "max_tokens", "truncated"),
])
def test_rubric_unreadable_replies_are_classified(text, stop, reason):
    verdict = read(rubric(), text, stop)
    assert not verdict.ok
    assert verdict.reason == reason
    assert verdict.error.kind is ErrorKind.JUDGE_PARSE


def test_per_criterion_mode_reads_a_phrase_and_scores_weighted_fraction():
    judge = rubric(mode="per_criterion")
    requests, decided = judge.plan(SAMPLE)
    assert [r.part for r in requests] == ["grounding", "actionability"] and not decided
    verdicts = [judge.parse(requests[0], JudgeReply(text="Verdict: pass. The quote is exact.")),
                judge.parse(requests[1], JudgeReply(text='{"justification": "no", "verdict": "fail"}'))]
    score = judge.combine(SAMPLE, verdicts)
    assert score.values["judge/grounding"] == 1.0 and score.values["judge/actionability"] == 0.0
    assert score.values["judge_score"] == pytest.approx(1 / 4)  # weights 1 and 3


def test_unread_criterion_counts_neutral_and_has_no_pass_value():
    judge = rubric(mode="per_criterion", neutral_score=0.5)
    requests, _ = judge.plan(SAMPLE)
    verdicts = [judge.parse(requests[0], JudgeReply(text='{"verdict": "pass"}')),
                judge.parse(requests[1], JudgeReply(text="no idea"))]
    score = judge.combine(SAMPLE, verdicts)
    assert "judge/actionability" not in score.values
    assert score.values["judge_score"] == pytest.approx((1 + 3 * 0.5) / 4)
    assert score.values["judge_parse_error"] == 1.0
    assert [e.kind for e in score.errors] == [ErrorKind.JUDGE_PARSE]


@pytest.mark.parametrize("response", ["", "   ", None])
def test_empty_response_fails_every_criterion_without_a_call(response):
    judge = rubric()
    requests, decided = judge.plan(JudgeSample("e", response=response))
    assert requests == []
    score = judge.combine(JudgeSample("e", response=response), decided)
    assert score.values["judge/grounding"] == 0.0 and score.values["judge_score"] == 0.0


def test_enormous_response_is_truncated_with_a_marker_and_bounded():
    judge = rubric(max_response_chars=1000)
    huge = "A" * 200_000 + "THE END"
    requests, _ = judge.plan(JudgeSample("big", response=huge))
    (content,) = prompt_hygiene.blocks(requests[0].messages[1]["content"], "RESPONSE")
    assert "characters cut by the judge harness" in content
    assert content.endswith("THE END")  # the tail is kept
    assert len(content) < 1100


def test_non_english_text_is_judged_as_is():
    text = "Nous pouvons résilier votre compte à tout moment — 利用規約"
    requests, _ = rubric().plan(JudgeSample("fr", response=text))
    assert prompt_hygiene.blocks(requests[0].messages[1]["content"], "RESPONSE") == [text]


def probes():
    lines = (REPO / "tasks" / "probes" / "steering_probes.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def test_probe_set_ships_every_kind():
    kinds = {p["kind"] for p in probes()}
    assert {"ignore_instructions", "fake_verdict", "role_play", "delimiter_breakout"} <= kinds


@pytest.mark.parametrize("probe", probes(), ids=lambda p: p["id"])
@pytest.mark.parametrize("kind", ["rubric", "pairwise"])
def test_probe_cannot_leave_its_block(probe, kind):
    if kind == "rubric":
        judge = rubric()
        sample = JudgeSample("p", response=probe["text"], document=probe["text"], reference=probe["text"])
    else:
        judge = judge_from_config({"name": "pw", "kind": "pairwise"})
        sample = JudgeSample("p", response=probe["text"], other="A plain answer.", document=probe["text"])
    requests, _ = judge.plan(sample)
    for request in requests:
        prompt = "\n".join(m["content"] for m in request.messages)
        found = prompt_hygiene.markers(prompt)
        # every block opens and closes exactly once, in order, with the nonce of its own content
        assert len(found) % 2 == 0
        for opened, closed in zip(found[::2], found[1::2], strict=True):
            assert opened.startswith("<<<BEGIN") and closed == opened.replace("BEGIN", "END")
        label = "RESPONSE" if kind == "rubric" else "OUTPUT"
        contents = prompt_hygiene.blocks(prompt, label)
        assert prompt_hygiene.defang(probe["text"]) in contents
        assert "<<<END" not in "".join(contents) and ">>>" not in "".join(contents)


def test_pairwise_both_orders_and_position_inconsistency():
    judge = judge_from_config({"name": "pw", "kind": "pairwise"})
    assert isinstance(judge, PairwiseJudge)
    sample = JudgeSample("p", response="first answer", other="second answer", document="Say hi.")
    (ab, ba), _ = judge.plan(sample)
    assert ab.part == "ab" and ba.part == "ba"
    assert ab.messages[1]["content"].index("first answer") < ab.messages[1]["content"].index("second answer")
    assert ba.messages[1]["content"].index("second answer") < ba.messages[1]["content"].index("first answer")

    def combine(text_ab, text_ba):
        return judge.combine(sample, [judge.parse(ab, JudgeReply(text=text_ab)),
                                      judge.parse(ba, JudgeReply(text=text_ba))])

    win = combine('{"winner": "A"}', '{"winner": "B"}')  # A both times, once shown second
    assert (win.values["pair_win"], win.values["pair_consistent"]) == (1.0, 1.0)
    biased = combine('{"winner": "A"}', '{"winner": "A"}')  # always the first shown
    assert biased.values["pair_tie"] == 1.0 and biased.values["pair_consistent"] == 0.0
    assert biased.values["pair_prefers_first"] == 1.0 and biased.details["winner"] == "tie"
    loss = combine("[[B]]", "Final answer: A")
    assert loss.values["pair_loss"] == 1.0
    unread = combine('{"winner": "A and B"}', '{"winner": "B"}')
    assert "pair_win" not in unread.values and unread.values["pair_score"] == 0.5
    assert unread.values["judge_parse_error"] == 1.0


def test_scale_judge_means_over_comments():
    judge = judge_from_config({"name": "sc", "kind": "scale", "dimensions": [
        {"name": "g", "question": "grounded?"}, {"name": "a", "question": "actionable?"}]})
    assert isinstance(judge, ScaleJudge)
    response = json.dumps({"comments": [{"text_excerpt": "x"}, {"text_excerpt": "y"}]})
    sample = JudgeSample("s", response=response)
    (request,), _ = judge.plan(sample)
    assert request.schema["properties"]["scores"]["minItems"] == 2
    reply = '{"justification": "j", "scores": [{"comment": 1, "g": 5, "a": 3}, {"comment": 2, "g": 1, "a": 1}]}'
    score = judge.combine(sample, [judge.parse(request, JudgeReply(text=reply))])
    assert score.values["judge_scale_sum"] == pytest.approx(4 + 1)
    assert score.values["judge_scale_comments"] == 2.0
    assert score.values["judge_score"] == pytest.approx((2.5 - 1) / 4)
    twice = ('{"scores": [{"comment": 1, "g": 5, "a": 3}, {"comment": 1, "g": 2, "a": 3}, '
             '{"comment": 2, "g": 1, "a": 1}]}')
    assert judge.parse(request, JudgeReply(text=twice)).reason == "two_verdicts"
    missing = '{"scores": [{"comment": 1, "g": 5, "a": 3}]}'
    assert judge.parse(request, JudgeReply(text=missing)).reason == "no_verdict"
    out_of_range = '{"scores": [{"comment": 1, "g": 9, "a": 3}, {"comment": 2, "g": 1, "a": 1}]}'
    assert not judge.parse(request, JudgeReply(text=out_of_range)).ok
    empty, decided = judge.plan(JudgeSample("e", response=""))
    assert empty == [] and judge.combine(sample, decided).values["judge_score"] == 0.0
    none, decided = judge.plan(JudgeSample("n", response='{"comments": []}'))
    assert none == [] and judge.combine(sample, decided).values["judge_scale_comments"] == 0.0


def test_stdlib_runner_reasks_once_and_isolates_call_failures():
    judge = rubric()
    calls = []

    def call(request):
        calls.append(request)
        if request.sample_id == "boom":
            raise TimeoutError("bedrock timed out")
        if request.attempt == 0 and request.sample_id == "retry":
            return "I think it passes."  # no JSON: re-asked
        return GOOD

    samples = [JudgeSample("ok", response="x"), JudgeSample("retry", response="y"), JudgeSample("boom", response="z")]
    results = {r.sample_id: r for r in run_judge(judge, samples, call, max_workers=3)}
    assert results["ok"].calls == 1 and results["ok"].score.values["judge/grounding"] == 1.0
    assert results["retry"].reasked == 1 and results["retry"].score.values["judge/actionability"] == 0.0
    assert "NOTE: an earlier reply" in [c for c in calls if c.attempt == 1][0].messages[-1]["content"]
    boom = results["boom"].score
    assert results["boom"].reasked == 0 and boom.values["judge_score"] == 0.5
    assert boom.values["judge_error"] == 1.0 and boom.errors[0].kind is ErrorKind.JUDGE


def test_judges_import_only_the_standard_library():
    import subprocess
    import sys

    code = ("import sys, metrics.judges.config, metrics.judges.runner; "
            "bad = [m for m in sys.modules if m.split('.')[0] in "
            "('numpy', 'evals', 'mlflow', 'sklearn', 'datasets', 'hydra', 'boto3', 'omegaconf')]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert out.stdout.strip() == "[]"
