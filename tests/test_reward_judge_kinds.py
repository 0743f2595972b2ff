"""Every judge kind drives the reward (metrics/reward/judge_kinds/): scale and preference judges scripted
through the loopback Bedrock server and the real boto3 client; each reward equals the value computed by hand
from the scripted verdicts, in both orders; unreadable verdicts give the neutral reward, are counted, and
never fail the batch."""

from __future__ import annotations

import io
import json

import pytest
import yaml

from metrics.reward.judge_kinds import REWARD_JUDGE_KINDS, reward_judge
from metrics.reward.judge_kinds.preference import PreferenceKind, group_win_rates
from metrics.reward.judge_kinds.scale import ScaleKind, unit
from metrics.reward.lambda_handler import build_judge, handle
from _judge_scripts import (REASKED, outputs, scale_by_index, scale_reply, winner_reply)
from _reward_helpers import ROOT, bundle_for, check_contract, load_task, sample
from fakes.bedrock_server import FakeBedrock, Script, reply

pytestmark = pytest.mark.usefixtures("fake_aws_credentials")

def gold_like(judge: float, share: float = 0.15) -> float:
    """The reward of an answer the deterministic checks score as gold (review credit, length and language at
    1.0), by the configs' formula: 0.9 * review * (1 - share + share * judge) + 0.05 + 0.05 (share 0.15 for
    the scale and the preference reward)."""
    return 0.9 * (1 - share + share * judge) + 0.05 + 0.05


class Context:
    aws_request_id = "test"

    def get_remaining_time_in_millis(self) -> int:
        return 600_000


@pytest.fixture(scope="module")
def task():
    return load_task()


@pytest.fixture(scope="module")
def risky(task):
    return [r for r in task.rows("test") if len(r["gold"]) >= 2][:2]


@pytest.fixture(scope="module")
def clean(task):
    return next(r for r in task.rows("test") if not r["gold"])


def _run(event, bundle):
    log = io.StringIO()
    results = handle(event, Context(), bundle, build_judge(bundle), log_stream=log)
    check_contract(results, event)
    return results, json.loads(log.getvalue())


def _metrics(result):
    return {m["name"]: m["value"] for m in result["metrics_list"]}


def _policy_answer(task, row) -> str:
    """The gold review with other rationales: the deterministic checks score it as gold, the judge can tell."""
    answer = json.loads(task.render_gold(row))
    for comment in answer["comments"]:
        comment["rationale"] = "POLICY: the playbook criterion for this category applies."
    return json.dumps(answer)


def test_registry_names_every_kind_and_reward_configs_match_the_production_judges():
    assert set(REWARD_JUDGE_KINDS) == {"rubric", "scale", "preference"}
    scale = yaml.safe_load((ROOT / "conf/reward/contract_review_scale.yaml").read_text())
    production = yaml.safe_load((ROOT / "conf/judge/contract_review_scale.yaml").read_text())
    assert scale["judge"]["dimensions"] == production["dimensions"]
    assert isinstance(reward_judge(scale["judge"]), ScaleKind)
    preference = yaml.safe_load((ROOT / "conf/reward/contract_review_preference.yaml").read_text())
    assert isinstance(reward_judge(preference["judge"]), PreferenceKind)
    assert isinstance(reward_judge({**preference["judge"], "kind": "pairwise"}), PreferenceKind)  # alias


# --- scale ---------------------------------------------------------------------------------------------


def _by_comment(i: int) -> dict[str, int]:
    return {"target_document_grounding": 5 if i == 1 else 3, "reference_consistency": 3, "actionability": 2}


def test_scale_reward_equals_the_hand_computed_mapping(task, risky, clean):
    with FakeBedrock(Script(respond=scale_by_index(_by_comment))) as fake:
        bundle = bundle_for(task, "contract_review_scale", endpoint_url=fake.url)
        event = [sample(task, r, task.render_gold(r)) for r in risky]
        event.append(sample(task, clean, '{"comments": []}'))  # nothing to score: no call, neutral judge score
        results, log = _run(event, bundle)
        assert fake.requests() == len(risky)  # one call per answer with comments
    for row, result in zip(risky, results[:len(risky)], strict=True):
        n = len(row["gold"])
        grounding = unit((5 + 3 * (n - 1)) / n)
        consistency, actionability = unit(3), unit(2)  # 0.5, 0.25
        overall = unit(sum((_by_comment(i)["target_document_grounding"] + 3 + 2) / 3 for i in range(1, n + 1)) / n)
        metrics = _metrics(result)
        assert metrics["judge_scale"] == pytest.approx(overall, abs=1e-12)
        assert metrics["judge_grounding"] == pytest.approx(grounding, abs=1e-12)
        assert (metrics["judge_consistency"], metrics["judge_actionable"]) == (consistency, actionability)
        assert result["aggregate_reward_score"] == pytest.approx(gold_like(overall), abs=1e-12)
        assert metrics["neutral"] == 0.0
    assert _metrics(results[-1])["judge_scale"] == 0.5
    assert log["errors"] == {} and log["neutral"] == 0


def test_scale_unreadable_verdict_is_reasked_once_then_neutral_and_counted(task, risky):
    def respond(model_id, body):
        text = json.dumps(body)
        if "GARBLED" in text:
            return reply("I would rather not give numbers.")  # unreadable, and again after the re-ask
        if REASKED not in text and "SECOND" in text:
            return reply("scores: fine")  # unreadable once; the re-ask is answered
        return scale_by_index(lambda i: {"target_document_grounding": 4, "reference_consistency": 4,
                                         "actionability": 4})(model_id, body)

    def tagged(row, tag):
        answer = json.loads(task.render_gold(row))
        answer["comments"][0]["rationale"] = f"{tag}: the playbook criterion applies."
        return json.dumps(answer)

    with FakeBedrock(Script(respond=respond)) as fake:
        bundle = bundle_for(task, "contract_review_scale", endpoint_url=fake.url)
        event = [sample(task, risky[0], tagged(risky[0], "GARBLED")),
                 sample(task, risky[1], tagged(risky[1], "SECOND"))]
        results, log = _run(event, bundle)
        assert fake.requests() == 4  # each answer asked twice: re-asked once, never more
    garbled, second = (_metrics(r) for r in results)
    assert results[0]["aggregate_reward_score"] == 0.5 and garbled["neutral"] == 1.0
    assert garbled["error/judge_parse_error"] == 1.0
    assert second["judge_scale"] == unit(4) and second["neutral"] == 0.0
    assert log["errors"] == {"judge_parse_error": 1} and log["neutral"] == 1 and log["samples"] == 2


# --- preference ----------------------------------------------------------------------------------------


def _preferring(policy: str, rule: str):
    """A pairwise judge scripted by `rule`, from where the policy's answer is shown (A or B)."""
    def respond(model_id, body):
        first, second = outputs(body)
        policy_at = "A" if policy in first else "B"
        other = "B" if policy_at == "A" else "A"
        if rule == "policy":
            return reply(winner_reply(policy_at))
        if rule == "reference":
            return reply(winner_reply(other))
        if rule == "first":  # pure position bias
            return reply(winner_reply("A"))
        if rule == "tie":
            return reply(winner_reply("tie"))
        if rule == "unreadable_when_second":
            return reply("hmm" if policy_at == "B" else winner_reply(policy_at))
        if rule == "reask_then_policy":
            return reply(winner_reply(policy_at) if REASKED in json.dumps(body) else "no idea")
        raise AssertionError(rule)
    return respond


@pytest.mark.parametrize("rule, preference, consistent, requests", [
    ("policy", 1.0, 1.0, 2),  # wins in both orders
    ("reference", 0.0, 1.0, 2),  # loses in both orders
    ("first", 0.5, 0.0, 2),  # split: the verdict follows the order
    ("tie", 0.5, 1.0, 2),
    ("reask_then_policy", 1.0, 1.0, 4),  # each order unreadable once, read after its re-ask
])
def test_preference_reward_from_both_orders(task, risky, rule, preference, consistent, requests):
    row = risky[0]
    answer = _policy_answer(task, row)
    with FakeBedrock(Script(respond=_preferring("POLICY:", rule))) as fake:
        bundle = bundle_for(task, "contract_review_preference", endpoint_url=fake.url)
        results, log = _run([sample(task, row, answer)], bundle)
        shown = [outputs(s.body) for s in fake.seen]
        assert fake.requests() == requests
    # both orders were asked: the policy's answer once first, once second; the other output is the gold answer
    assert {"POLICY:" in pair[0] for pair in shown} == {True, False}
    assert all(task.render_gold(row) in (pair[0] + pair[1]) for pair in shown)
    metrics = _metrics(results[0])
    assert (metrics["judge_preference"], metrics["judge_position_consistency"]) == (preference, consistent)
    assert results[0]["aggregate_reward_score"] == pytest.approx(gold_like(preference), abs=1e-12)
    assert log["errors"] == {}


def test_preference_unreadable_order_gives_neutral_and_is_counted(task, risky):
    rows = risky[:2]
    answers = [_policy_answer(task, r) for r in rows]
    with FakeBedrock(Script(respond=_preferring("POLICY:", "unreadable_when_second"))) as fake:
        bundle = bundle_for(task, "contract_review_preference", endpoint_url=fake.url)
        results, log = _run([sample(task, r, a) for r, a in zip(rows, answers, strict=True)], bundle)
        assert fake.requests() == 2 * 3  # per answer: order ab read, order ba asked and re-asked
    for result in results:
        metrics = _metrics(result)
        assert result["aggregate_reward_score"] == 0.5 and metrics["error/judge_parse_error"] == 1.0
    assert log["errors"] == {"judge_parse_error": 2} and log["neutral"] == 2


def test_preference_without_a_reference_answer_is_an_input_error_not_a_crash(task, risky):
    row = risky[0]
    event = [sample(task, row, _policy_answer(task, row))]
    del event[0]["reference_answer"]["gold_answer"]
    with FakeBedrock(Script(respond=_preferring("POLICY:", "policy"))) as fake:
        bundle = bundle_for(task, "contract_review_preference", endpoint_url=fake.url)
        results, log = _run(event, bundle)
        assert fake.requests() == 0
    assert results[0]["aggregate_reward_score"] == 0.5 and _metrics(results[0])["error/input_error"] == 1.0


def test_group_mode_gives_each_answer_its_win_rate():
    kind = reward_judge({"kind": "preference", "name": "g", "model_id": "m"})
    rank = {"alpha": 0, "beta": 1, "gamma": 2}

    def ranked(request):
        first, second = outputs({"messages": [{"content": [{"text": m["content"]}]} for m in request.messages]})
        return winner_reply("A" if rank[first] > rank[second] else "B"), "end_turn"

    assert group_win_rates(kind, list(rank), "doc", "", ranked) == [0.0, 0.5, 1.0]
    biased = lambda request: (winner_reply("A"), "end_turn")  # noqa: E731 - a judge that always says A
    assert group_win_rates(kind, list(rank), "doc", "", biased) == [0.5, 0.5, 0.5]
    unreadable = lambda request: ("?", "end_turn")  # noqa: E731
    assert group_win_rates(kind, list(rank), "doc", "", unreadable) == [None, None, None]


def test_scale_reply_helper_matches_the_judge_schema():
    kind = reward_judge(yaml.safe_load((ROOT / "conf/reward/contract_review_scale.yaml").read_text())["judge"])
    from metrics.judges.types import JudgeReply, JudgeSample

    (request,), _ = kind.judge.plan(JudgeSample("s", '{"comments": [{"text_excerpt": "x"}]}', "doc", "ref"))
    verdict = kind.judge.parse(request, JudgeReply(scale_reply([_by_comment(1)])))
    assert verdict.ok
