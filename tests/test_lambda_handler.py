"""The reward Lambda handler: the event contract, judge errors, the deadline, logs."""

from __future__ import annotations

import io
import json
import time

import pytest

from metrics.reward.batch import MalformedEventError
from metrics.reward.lambda_handler import build_judge, handle
from _reward_helpers import bundle_for, check_contract, load_task, rubric_reply, sample, verdict_by_content
from fakes.bedrock_server import FakeBedrock, Script, fault, reply


pytestmark = pytest.mark.usefixtures("fake_aws_credentials")

class Context:
    def __init__(self, seconds: float):
        self.deadline = time.monotonic() + seconds
        self.aws_request_id = "test"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


@pytest.fixture(scope="module")
def task():
    return load_task()


@pytest.fixture(scope="module")
def rows(task):
    risky = [r for r in task.rows("test") if r["gold"]][:4]
    clean = [r for r in task.rows("test") if not r["gold"]][:2]
    return risky + clean




def _run(event, bundle, seconds=60.0):
    log = io.StringIO()
    results = handle(event, Context(seconds), bundle, build_judge(bundle), log_stream=log)
    return results, json.loads(log.getvalue())


def _scores(results):
    return {r["id"]: r["aggregate_reward_score"] for r in results}


def _metric(result, name):
    return {m["name"]: m["value"] for m in result["metrics_list"]}.get(name)


def test_both_reference_placements_and_nova_assistant(task, rows):
    bundle = bundle_for(task, "contract_review_deterministic")
    answers = [task.render_gold(r) for r in rows]
    top = [sample(task, r, a) for r, a in zip(rows, answers, strict=True)]
    meta = [sample(task, r, a, where="metadata", role="nova_assistant") for r, a in zip(rows, answers, strict=True)]
    as_string = [{**s, "reference_answer": json.dumps(s["reference_answer"])} for s in top]
    results, log = _run(top, bundle)
    check_contract(results, top)
    assert all(score == 1.0 for score in _scores(results).values())  # gold answers earn the maximum
    assert _scores(_run(meta, bundle)[0]) == _scores(results) == _scores(_run(as_string, bundle)[0])
    assert log["samples"] == len(rows) and log["neutral"] == 0 and log["judge_calls"] == 0


def test_bad_samples_get_neutral_rewards_and_error_metrics(task, rows):
    bundle = bundle_for(task, "contract_review_deterministic")
    good = sample(task, rows[0], task.render_gold(rows[0]))
    no_assistant = {**good, "id": "no-assistant", "messages": good["messages"][:-1]}
    no_reference = {"id": "no-ref", "messages": good["messages"]}
    bad_reference = {**good, "id": "bad-ref", "reference_answer": {"sentences": []}}
    image = {**good, "id": "image", "messages": [{"role": "assistant", "content": [{"image": "..."}]}]}
    event = [good, no_assistant, no_reference, bad_reference, image]
    results, log = _run(event, bundle)
    check_contract(results, event)
    assert results[0]["aggregate_reward_score"] == 1.0
    for result in results[1:]:
        assert result["aggregate_reward_score"] == 0.5
        assert _metric(result, "error/input_error") == 1.0 and _metric(result, "neutral") == 1.0
    assert log["errors"] == {"input_error": 4} and log["neutral"] == 4


@pytest.mark.parametrize("event, fragment", [
    ({"id": "a", "messages": []}, "wrap it in a list"),
    ("[]", "JSON list"),
])
def test_malformed_event_gets_a_clear_error(task, event, fragment):
    with pytest.raises(MalformedEventError, match=fragment):
        _run(event, bundle_for(task, "contract_review_deterministic"))


def test_a_sample_without_a_usable_id_costs_only_itself(task, rows):
    bundle = bundle_for(task, "contract_review_deterministic")
    good = [sample(task, row, task.render_gold(row)) for row in rows[:2]]
    no_id = {k: v for k, v in good[0].items() if k != "id"}
    event = [good[0], no_id, {**good[1], "id": {"nested": 1}}, 7, good[1]]
    results, log = _run(event, bundle)
    assert [r["id"] for r in results] == [good[0]["id"], None, None, None, good[1]["id"]]
    assert [r["aggregate_reward_score"] for r in results] == [1.0, 0.5, 0.5, 0.5, 1.0]  # neutral in their places
    for result in results[1:4]:
        assert _metric(result, "error/input_error") == 1.0 and _metric(result, "neutral") == 1.0
    assert log["id_violations"] == 3 and log["errors"] == {"input_error": 3} and log["neutral"] == 3


def test_a_scorer_exception_is_reported_as_ours_not_as_bad_input(task, rows):
    from types import SimpleNamespace

    from metrics.reward.batch import score_event

    bundle = bundle_for(task, "contract_review_deterministic")
    calls = []

    def flaky_score(output, reference):
        calls.append(output)
        if len(calls) == 2:
            raise KeyError("risk")  # a bug in the scorer, on a perfectly good sample
        return bundle.score(output, reference)

    event = [sample(task, row, task.render_gold(row)) for row in rows[:3]]
    report = score_event(event, SimpleNamespace(score=flaky_score, reward=bundle.reward), None)
    scores = [r["aggregate_reward_score"] for r in report.results]
    assert scores == [1.0, 0.5, 1.0]
    assert _metric(report.results[1], "error/scorer_error") == 1.0
    assert not [m for m in report.results[1]["metrics_list"] if m["name"] == "error/input_error"]
    assert report.log["errors"] == {"scorer_error": 1}


def test_judge_rewards_retries_and_errors(task, rows):
    script = Script(respond=verdict_by_content)
    with FakeBedrock(script) as fake:
        bundle = bundle_for(task, "contract_review", endpoint_url=fake.url, backoff_base_s=0.01, backoff_max_s=0.05)
        event = [sample(task, r, task.render_gold(r)) for r in rows]
        event.append(sample(task, rows[0], "not json at all") | {"id": "gated"})
        # two throttles, then a model id the service rejects for the rest of the first sample's criteria
        script.then(fault("ThrottlingException"), fault("ThrottlingException"))
        results, log = _run(event, bundle)
        check_contract(results, event)
        gated = results[-1]
        assert gated["aggregate_reward_score"] == 0.0 and _metric(gated, "judge_grounding") is None
        assert log["judge_calls"] == 3 * len(rows)  # the gated sample never reached the judge
        assert fake.requests() == 3 * len(rows) + 2  # the two throttled calls were retried
        assert log["neutral"] == 0
        judged = [r for r in results[:-1]]
        assert all(_metric(r, "judge_grounding") in (0.0, 1.0) for r in judged)

        script.then(*[fault("ValidationException", "bad input")] * 3)
        failed, log = _run(event[:1], bundle)
        assert failed[0]["aggregate_reward_score"] == 0.5
        assert _metric(failed[0], "error/validation_error") == 1.0 and log["neutral"] == 1


def test_judge_down_returns_neutral_before_the_deadline(task, rows):
    with FakeBedrock(Script(default=fault("ServiceUnavailableException"))) as fake:
        bundle = bundle_for(task, "contract_review", endpoint_url=fake.url, backoff_base_s=0.2, backoff_max_s=1.0,
                            max_attempts=50)
        event = [sample(task, r, task.render_gold(r)) for r in rows]
        started = time.monotonic()
        results, log = _run(event, bundle, seconds=3.0)
        elapsed = time.monotonic() - started
    assert elapsed < 3.0
    assert all(r["aggregate_reward_score"] == 0.5 for r in results) and log["neutral"] == len(rows)


def test_slow_judge_is_cut_at_the_deadline(task, rows):
    with FakeBedrock(Script(default=reply('{"verdict": "pass"}', latency_s=5.0))) as fake:
        bundle = bundle_for(task, "contract_review", endpoint_url=fake.url)
        event = [sample(task, r, task.render_gold(r)) for r in rows[:2]]
        started = time.monotonic()
        results, log = _run(event, bundle, seconds=2.0)
        elapsed = time.monotonic() - started
    assert elapsed < 2.0
    assert all(_metric(r, "error/timeout") == 1.0 for r in results) and log["errors"] == {"timeout": 2}


def test_unreadable_verdict_is_reasked_once_then_neutral(task, rows):
    """The reward takes RubricJudge's re-ask: an unreadable reply gets one second request (carrying the
    re-ask note); a reply still unreadable after it makes the sample neutral with judge_parse_error."""
    good = rubric_reply({"target_document_grounding": "pass"})
    script = Script(default=reply(good))
    with FakeBedrock(script) as fake:
        bundle = bundle_for(task, "contract_review", endpoint_url=fake.url, max_concurrency=1)
        event = [sample(task, rows[0], task.render_gold(rows[0]))]
        # criterion 1: prose, then a readable re-ask; criteria 2, 3: readable at once
        script.then(reply("I think it is fine overall."), reply(rubric_reply({"target_document_grounding": "fail"})),
                    reply(rubric_reply({"reference_consistency": "pass"})),
                    reply(rubric_reply({"actionability": "pass"})))
        results, log = _run(event, bundle)
        assert fake.requests() == 4 and log["neutral"] == 0
        assert _metric(results[0], "judge_grounding") == 0.0 and _metric(results[0], "judge_actionable") == 1.0
        reasked = fake.seen[1].body["messages"][-1]["content"][0]["text"]
        assert "could not be read" in reasked and "I think it is fine" in reasked

        script.then(reply("no idea"), reply("still no idea"))
        failed, log = _run(event, bundle)
        assert failed[0]["aggregate_reward_score"] == 0.5 and log["neutral"] == 1
        assert _metric(failed[0], "error/judge_parse_error") == 1.0


def test_all_in_one_mode_judges_every_criterion_in_one_call(task, rows):
    with FakeBedrock(Script(respond=verdict_by_content)) as fake:
        bundle = bundle_for(task, "contract_review", endpoint_url=fake.url, mode="all", max_tokens=320)
        event = [sample(task, r, task.render_gold(r)) for r in rows]
        results, log = _run(event, bundle)
        assert fake.requests() == len(rows) == log["judge_calls"] and log["neutral"] == 0
        assert all(_metric(r, name) in (0.0, 1.0) for r in results
                   for name in ("judge_grounding", "judge_consistency", "judge_actionable"))


@pytest.mark.parametrize("mode", ["per_criterion", "all"])
def test_reward_requests_are_the_rubric_judges_requests(task, rows, mode):
    """What the reward sends for a part is exactly what RubricJudge (as `rft-evals judge-eval` runs it) plans."""
    from metrics.judges.types import JudgeSample
    from metrics.reward import rubric_adapter
    from metrics.reward.judge import document_of

    bundle = bundle_for(task, "contract_review", mode=mode)
    full = rubric_adapter.rubric_judge(bundle.reward.judge)
    reference = task.reference(rows[0])
    answer = task.render_gold(rows[0])
    planned, _ = full.plan(JudgeSample("s", answer, document_of(reference), bundle.reference_text))
    judges = rubric_adapter.part_judges(full)
    assert sorted(judges) == sorted(r.part for r in planned)
    for expected in planned:
        got, decided = rubric_adapter.plan(judges[expected.part], expected.part, answer, document_of(reference),
                                           bundle.reference_text)
        assert decided is None and got.messages == expected.messages and got.schema == expected.schema
