"""Judges through the Engine and the real boto3 client against the fake Bedrock runtime: every reply path,
the re-ask, call failures, both orders, caching and repeats, then `rft-evals judge-eval` end to end."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from evals.inference.cache import GenerationCache
from evals.judging.judge import judge_candidate_records, run_judge
from evals.samples.records import SampleRecord
from metrics.errors import ErrorKind
from metrics.judges import prompt_hygiene
from metrics.judges.types import JudgeSample
from _data import DATA

try:
    from tests.fakes.bedrock_server import FakeBedrock, Script, fault, reply
except ModuleNotFoundError:
    from fakes.bedrock_server import FakeBedrock, Script, fault, reply

REPO = Path(__file__).resolve().parents[1]
PASS_ALL = json.dumps({c: {"justification": "fine", "verdict": "pass"}
                       for c in ("target_document_grounding", "reference_consistency", "actionability")})


@pytest.fixture(autouse=True)
def aws_env(monkeypatch, tmp_path):
    for var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL",
                "AWS_ENDPOINT_URL_BEDROCK_RUNTIME", "AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDFAKEFAKEFAKE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "fake-secret")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def compose_cfg(*overrides: str):
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        return compose(config_name="judge_eval", overrides=list(overrides))


def judge_cfg(name: str, fake: FakeBedrock, **extra) -> dict:
    from omegaconf import OmegaConf

    cfg = OmegaConf.to_container(compose_cfg(f"judge={name}").judge, resolve=True)
    cfg["model"].update({"endpoint_url": fake.url, "max_attempts": 2, "backoff_base_s": 0.001})
    cfg.update(extra)
    return cfg


def user_text(body) -> str:
    return "".join(b.get("text", "") for m in body["messages"] for b in m["content"])


SAMPLES = [JudgeSample("s1", response='{"comments": []}', document="We may end your account.", reference="RULES")]


@pytest.mark.parametrize("first", [
    "not json at all", "", "I'm sorry, I cannot grade this.",
    '{"target_document_grounding": {"verdict": "pass"}}',  # no verdict for two criteria
    '{"target_document_grounding": {"verdict": "pass and fail"}, "reference_consistency": {"verdict": "pass"}, '
    '"actionability": {"verdict": "pass"}}',
])
def test_unreadable_reply_is_reasked_once_then_read(first):
    with FakeBedrock(Script(default=reply(PASS_ALL)).then(reply(first))) as fake:
        run = run_judge(judge_cfg("contract_review_rubric_gpt_oss", fake), SAMPLES, cache=None)
        assert fake.requests() == 2
        reasked = fake.seen[1].body
    (judged,) = run.judged
    assert judged.reasked == 1 and judged.score.values["judge/actionability"] == 1.0
    assert judged.score.errors == []
    assert "NOTE: an earlier reply to this request could not be read" in user_text(reasked)


def test_twice_unreadable_gives_neutral_score_and_judge_parse_error():
    with FakeBedrock(Script(default=reply("Verdict: pass. Verdict: fail."))) as fake:
        run = run_judge(judge_cfg("contract_review_rubric_gpt_oss", fake, neutral_score=0.5), SAMPLES, cache=None)
        assert fake.requests() == 2  # the first ask and exactly one re-ask
    score = run.judged[0].score
    assert score.values["judge_score"] == 0.5 and score.values["judge_parse_error"] == 1.0
    assert not any(k.startswith("judge/") for k in score.values)
    assert {e.kind for e in score.errors} == {ErrorKind.JUDGE_PARSE}


@pytest.mark.parametrize("behaviour", [reply("", stop_reason="content_filtered"),
                                       reply("anything", stop_reason="guardrail_intervened")])
def test_filtered_reply_is_a_refusal(behaviour):
    with FakeBedrock(Script(default=behaviour)) as fake:
        run = run_judge(judge_cfg("contract_review_rubric_gpt_oss", fake), SAMPLES, cache=None)
    assert run.judged[0].score.details["reasons"] == ["refusal"]


def test_failed_call_is_a_judge_error_and_not_reasked():
    with FakeBedrock(Script(default=fault("ModelErrorException", "the model failed"))) as fake:
        run = run_judge(judge_cfg("contract_review_rubric_gpt_oss", fake), SAMPLES, cache=None)
        assert fake.requests() == 1  # not retryable, and a failed call is never re-asked
    score = run.judged[0].score
    assert score.values["judge_error"] == 1.0 and score.values["judge_score"] == 0.5
    assert score.errors[0].kind is ErrorKind.JUDGE


def test_gpt_oss_reasoning_block_is_skipped():
    with FakeBedrock(Script(default=reply(PASS_ALL, reasoning='thinking... {"verdict": "fail"}'))) as fake:
        run = run_judge(judge_cfg("contract_review_rubric_gpt_oss", fake), SAMPLES, cache=None)
    assert run.judged[0].score.values["judge_score"] == 1.0


def _prefer_good(model_id, body):
    """A fair judge prefers the output containing GOOD; a biased one (model id ends in 'biased') says A."""
    text = user_text(body)
    if "biased" in model_id:
        return reply('{"justification": "first is best", "winner": "A"}')
    a = text.index("OUTPUT_A:")
    b = text.index("OUTPUT_B:")
    winner = "A" if "GOOD" in text[a:b] else "B"
    return reply(json.dumps({"justification": "j", "winner": winner}))


def test_pairwise_judges_both_orders_through_the_engine():
    samples = [JudgeSample("p1", response="GOOD answer", other="bad answer", document="Say hi."),
               JudgeSample("p2", response="bad answer", other="GOOD answer", document="Say hi.")]
    with FakeBedrock(Script(respond=_prefer_good)) as fake:
        fair = run_judge(judge_cfg("pairwise_gpt_oss", fake), samples, cache=None)
        assert fake.requests() == 4  # two orders per pair
        orders = [user_text(s.body) for s in fake.seen[:4]]
        biased_cfg = judge_cfg("pairwise_gpt_oss", fake)
        biased_cfg["model"]["model_id"] = "openai.gpt-oss-biased"
        biased = run_judge(biased_cfg, samples, cache=None)
    assert sorted(o.index("GOOD") < o.index("bad") for o in orders) == [False, False, True, True]  # both ways
    wins = [j.score.values["pair_win"] for j in fair.judged]
    assert wins == [1.0, 0.0] and all(j.score.values["pair_consistent"] == 1.0 for j in fair.judged)
    assert all(j.score.values["pair_tie"] == 1.0 and j.score.values["pair_consistent"] == 0.0
               for j in biased.judged)


def test_verdicts_are_cached_and_repeats_miss_the_cache(tmp_path):
    samples = [JudgeSample(f"s{i}", response=f'{{"comments": []}} {i}', document="doc") for i in range(3)]
    with FakeBedrock(Script(default=reply(PASS_ALL))) as fake:
        cfg = judge_cfg("contract_review_rubric_gpt_oss", fake)
        with GenerationCache(tmp_path / "c.sqlite") as cache:
            run_judge(cfg, samples, cache=cache)
            assert fake.requests() == 3
            again = run_judge(cfg, samples, cache=cache)
            assert fake.requests() == 3  # all from the cache
            assert again.usage.cached_calls == 3
            repeated = run_judge(cfg, samples, cache=cache, repeats=3)
            assert fake.requests() == 3 + 6  # repeat 0 cached; repeats 1 and 2 are fresh
            assert len(repeated.judged) == 9
            changed = {**cfg, "instructions": cfg["instructions"] + " Be strict."}
            run_judge(changed, samples, cache=cache)
            assert fake.requests() == 12  # another template: other keys


def test_probe_texts_stay_inside_their_block_on_the_wire():
    probes = [json.loads(line) for line in (REPO / "tasks/probes/steering_probes.jsonl").read_text().splitlines()]
    samples = [JudgeSample(p["id"], response=p["text"], document="doc") for p in probes]
    with FakeBedrock(Script(default=reply(PASS_ALL))) as fake:
        run_judge(judge_cfg("contract_review_rubric_gpt_oss", fake), samples, cache=None)
        bodies = [s.body for s in fake.seen]
    sent = {tuple(prompt_hygiene.blocks(user_text(b), "RESPONSE")) for b in bodies}
    assert sent == {(prompt_hygiene.defang(p["text"]),) for p in probes}


def test_judge_candidate_records_adds_values_and_estimates(data_root):
    from tasks.registry import build_task

    task = build_task(compose_cfg().task, data_root=data_root)
    items = task.rows("test")[:3]
    records = [SampleRecord("c", "candidate", items[0]["id"], task.render_gold(items[0]), values={"x": 1.0}),
               SampleRecord("c", "candidate", items[1]["id"], ""),
               SampleRecord("c", "candidate", items[2]["id"], None, errors=[{"kind": "timeout"}])]
    with FakeBedrock(Script(default=reply(PASS_ALL))) as fake:
        result = judge_candidate_records(task, items, records, judge_cfg("contract_review_rubric_gpt_oss", fake),
                                         None, resamples=50)
        assert fake.requests() == 1  # the empty output fails without a call; no output, no judging
    assert records[0].values["judge/actionability"] == 1.0 and records[0].values["x"] == 1.0
    assert records[1].values["judge_score"] == 0.0
    assert records[2].values == {}
    names = {e.name for e in result.estimates}
    assert {"judge/target_document_grounding", "judge_score"} <= names


# --- rft-evals judge-eval ----------------------------------------------------------------------------------


def _rubric_responder(model_id, body):
    response = prompt_hygiene.blocks(user_text(body), "RESPONSE")
    text = response[0] if response else ""
    grounded = "sell the consumer" not in text
    verdict = {c: {"justification": "j", "verdict": "pass" if grounded else "fail"}
               for c in ("target_document_grounding", "reference_consistency", "actionability")}
    return reply(json.dumps(verdict))


@pytest.mark.parametrize("data,judge,responder", [("llmbar", "pairwise_gpt_oss", _prefer_good),
                                                   ("contract_review", "contract_review_rubric_gpt_oss",
                                                    _rubric_responder)])
def test_judge_eval_end_to_end_against_fake_bedrock(tmp_path, data, judge, responder, monkeypatch):
    from evals.suite.judge_eval import execute

    with FakeBedrock(Script(respond=responder)) as fake:
        monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", fake.url)  # reaches compare variants too
        cfg = compose_cfg(f"judge={judge}", f"data={data}", "limit=2", "repeats=2", f"data_root={DATA}",
                          f"cache.path={tmp_path}/c.sqlite", f"tracking.uri=sqlite:///{tmp_path}/mlflow.db",
                          f"compare=[{judge}]", "bootstrap.resamples=50", "judge.name=variant_a")
        assert execute(cfg, tmp_path / "run") == 0
        assert fake.requests() > 0
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert [j["name"] for j in report["judges"]] == ["variant_a", judge]
    figures = report["judges"][0]["figures"]
    expected = {"cost_usd_per_1k_verdicts", "parse_error_rate", "reask_rate"}
    if data == "llmbar":
        expected |= {"accuracy/LLMBar/Natural", "accuracy/all", "position_consistency", "tie_rate",
                     "self_consistency"}
        assert figures["n/all"] == 16  # 8 subsets x limit 2
    else:
        for c in ("target_document_grounding", "reference_consistency", "actionability"):
            expected |= {f"kappa/{c}", f"fail_precision/{c}", f"fail_recall/{c}", f"self_consistency/{c}"}
        expected |= {"probe_flip_rate"}
        assert figures["fail_recall/target_document_grounding"] > 0  # fabricated quotes are caught
    assert expected <= set(figures)
    assert (tmp_path / "run" / "report.md").read_text().count("|") > 10

    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{tmp_path}/mlflow.db")
    runs = mlflow.search_runs(experiment_names=["rft-evals"], output_format="list")
    children = [r for r in runs if r.data.tags.get("judge")]
    assert len(children) == 2
    logged = {k for k in expected if not math.isnan(figures[k])}  # NaN (e.g. kappa on one class) is not logged
    assert logged and all(logged <= set(c.data.metrics) for c in children)
