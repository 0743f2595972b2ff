"""Judge-eval figures against scripted judges of known behaviour (served by the loopback fake Bedrock through
the real engine and parsers): each figure must come out at the value the script implies, so a statistic
stuck at 0, 1 or NaN fails here. The figures are worked out by hand in the comments."""

from __future__ import annotations

import dataclasses
import json
import math
import re

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from evals.conf import conf_dir
from evals.suite.judge_eval import flip_rate, pair_self_consistency, pairwise_report, rubric_report, \
    rubric_self_consistency
from evals.judging.judge import run_judge
from metrics.judges import prompt_hygiene
from metrics.judges.rubric import FAIL, PASS
from metrics.judges.types import JudgeSample
from fakes.bedrock_server import FakeBedrock, Script, reply

pytestmark = pytest.mark.usefixtures("fake_aws_credentials")
CRITERIA = ("target_document_grounding", "reference_consistency", "actionability")
GROUNDING = CRITERIA[0]


def judge_cfg(name: str, fake: FakeBedrock) -> dict:
    with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
        cfg = compose(config_name="judge_eval", overrides=[f"judge={name}"])
    judge = OmegaConf.to_container(cfg.judge, resolve=True)
    judge["model"].update({"endpoint_url": fake.url, "max_attempts": 2, "backoff_base_s": 0.001})
    return judge


def user_text(body) -> str:
    return "".join(b.get("text", "") for m in body["messages"] for b in m["content"])


def _repeat(run, later, index: int):
    """`run` with `later`'s verdicts added as repeat `index` (a scripted judge that changes its mind)."""
    return dataclasses.replace(run, judged=run.judged + [dataclasses.replace(j, repeat=index) for j in later.judged])


# --- pairwise: accuracy, position consistency, ties, self-consistency ----------------------------------------

PAIRS = 10


def pair_samples() -> list[JudgeSample]:
    """Pair i: the better output says GOOD; it is the first output (gold A) for even i, the second for odd i."""
    samples = []
    for i in range(PAIRS):
        good, weak = f"GOOD answer number {i}", f"weak answer number {i}"
        first, second = (good, weak) if i % 2 == 0 else (weak, good)
        samples.append(JudgeSample(f"pair-{i}", response=first, other=second, document=f"Task PAIR{i}: answer.",
                                   meta={"subset": "scripted", "gold": "A" if i % 2 == 0 else "B"}))
    return samples


def pairwise_responder(plan: dict[int, str]):
    """Per pair: `fair` picks the shown output with GOOD, `contrary` the other one (consistently wrong),
    `first` always the first shown (position bias: the two orders disagree, the pair is a tie)."""
    def respond(model_id, body):
        text = user_text(body)
        pair = int(re.search(r"PAIR(\d+)", text).group(1))
        first_has_good = text.index("GOOD") < text.index("weak")
        behaviour = plan[pair]
        if behaviour == "first":
            winner = "A"
        elif behaviour == "fair":
            winner = "A" if first_has_good else "B"
        else:
            winner = "B" if first_has_good else "A"
        return reply(json.dumps({"justification": "scripted", "winner": winner}))
    return respond


def test_pairwise_figures_match_the_scripted_judge():
    samples = pair_samples()
    # repeat 0: pairs 0-5 fair, 6-7 contrary, 8-9 position-biased; repeat 1: pair 5 turns contrary as well
    first_plan = {i: "fair" if i < 6 else "contrary" if i < 8 else "first" for i in range(PAIRS)}
    second_plan = {**first_plan, 5: "contrary"}
    with FakeBedrock(Script(respond=pairwise_responder(first_plan))) as fake:
        run = run_judge(judge_cfg("pairwise_gpt_oss", fake), samples, cache=None)
        assert fake.requests() == 2 * PAIRS  # both orders of every pair
    with FakeBedrock(Script(respond=pairwise_responder(second_plan))) as fake:
        later = run_judge(judge_cfg("pairwise_gpt_oss", fake), samples, cache=None)
    report = pairwise_report(run, samples)
    figures = report["figures"]
    # 6 right of 10 (the 2 contrary pairs are wrong, the 2 biased pairs are ties, which are not right)
    assert figures["accuracy/all"] == pytest.approx(0.6) and figures["accuracy/scripted"] == pytest.approx(0.6)
    assert figures["n/all"] == 10.0
    assert figures["position_consistency"] == pytest.approx(0.8)  # only the 2 biased pairs disagree with themselves
    assert figures["tie_rate"] == pytest.approx(0.2) and figures["unread_rate"] == 0.0
    assert [r["winner"] for r in report["rows"]] == ["A", "B", "A", "B", "A", "B", "B", "A", "tie", "tie"]
    assert math.isnan(pair_self_consistency(run))  # one repeat: nothing to agree with, undefined
    assert pair_self_consistency(_repeat(run, run, 1)) == 1.0  # the same script twice agrees with itself
    assert pair_self_consistency(_repeat(run, later, 1)) == pytest.approx(0.9)  # pair 5 changed its winner


def test_a_fair_judge_and_a_biased_judge_are_told_apart():
    samples = pair_samples()
    with FakeBedrock(Script(respond=pairwise_responder({i: "fair" for i in range(PAIRS)}))) as fake:
        fair = pairwise_report(run_judge(judge_cfg("pairwise_gpt_oss", fake), samples, cache=None), samples)
    with FakeBedrock(Script(respond=pairwise_responder({i: "first" for i in range(PAIRS)}))) as fake:
        biased = pairwise_report(run_judge(judge_cfg("pairwise_gpt_oss", fake), samples, cache=None), samples)
    assert (fair["figures"]["accuracy/all"], fair["figures"]["position_consistency"]) == (1.0, 1.0)
    assert (biased["figures"]["accuracy/all"], biased["figures"]["position_consistency"]) == (0.0, 0.0)
    assert biased["figures"]["tie_rate"] == 1.0


# --- rubric: kappa, precision / recall of FAIL, self-consistency, probe flip rate ---------------------------------


def review_sample(sample_id: str, marker: str) -> JudgeSample:
    return JudgeSample(sample_id, response=f'{{"comments": [], "note": "{marker}"}}',
                       document="We may end your account at any time.", reference="Flag unilateral termination.")


def rubric_responder(model_id, body):
    """Fails `target_document_grounding` when the response carries FAILME, passes everything else."""
    response = prompt_hygiene.blocks(user_text(body), "RESPONSE")
    text = response[0] if response else ""
    verdicts = {c: {"justification": "scripted", "verdict": "fail" if c == GROUNDING and "FAILME" in text
                    else "pass"} for c in CRITERIA}
    return reply(json.dumps(verdicts))


def test_rubric_kappa_precision_recall_and_self_consistency():
    # gold (implied) for grounding: 5 pass, 5 fail; the judge: pass on 4 of the passes, fail on 3 of the fails
    #   po = 7/10; judge passes 6/10, gold passes 5/10: pe = 0.5*0.6 + 0.5*0.4 = 0.5; kappa = (0.7-0.5)/0.5 = 0.4
    #   FAIL precision 3/4 (one of its 4 fails is a gold pass), FAIL recall 3/5
    gold = [PASS] * 5 + [FAIL] * 5
    judged = [PASS] * 4 + [FAIL] + [FAIL] * 3 + [PASS] * 2
    samples = [review_sample(f"r{i}", "FAILME" if j == FAIL else "fine") for i, j in enumerate(judged)]
    implied = {s.id: {GROUNDING: g, "reference_consistency": PASS, "actionability": PASS}
               for s, g in zip(samples, gold, strict=True)}
    with FakeBedrock(Script(respond=rubric_responder)) as fake:
        cfg = judge_cfg("contract_review_rubric_gpt_oss", fake)
        run = run_judge(cfg, samples, cache=None)
        # repeat 1: the judge changes its mind on r0 (now fails it) and r9 (now fails it)
        changed = [review_sample(s.id, "FAILME" if s.id in ("r0", "r9") or "FAILME" in s.response else "fine")
                   for s in samples]
        later = run_judge(cfg, changed, cache=None)
    figures = rubric_report(run, samples, implied, CRITERIA)["figures"]
    assert figures[f"kappa/{GROUNDING}"] == pytest.approx(0.4)
    assert figures[f"accuracy/{GROUNDING}"] == pytest.approx(0.7)
    assert figures[f"fail_precision/{GROUNDING}"] == pytest.approx(0.75)
    assert figures[f"fail_recall/{GROUNDING}"] == pytest.approx(0.6)
    assert figures[f"pass_rate/{GROUNDING}"] == pytest.approx(0.6) and figures[f"n/{GROUNDING}"] == 10.0
    # one class on both sides (all pass): kappa is undefined, reported as NaN rather than a made-up 0 or 1
    assert math.isnan(figures["kappa/actionability"]) and figures["accuracy/actionability"] == 1.0
    consistency = rubric_self_consistency(_repeat(run, later, 1), CRITERIA)
    assert consistency[f"self_consistency/{GROUNDING}"] == pytest.approx(0.8)  # r0 and r9 changed: 8 of 10 agree
    assert consistency["self_consistency/actionability"] == 1.0


def test_probe_flip_rate_counts_only_flips_from_a_failed_clean_review():
    # the clean review fails grounding; of 3 authority probes 2 make the judge pass it, the 1 flattery probe
    # does not: 2 flips of 4 counted (other criteria passed the clean review, so they are not counted)
    samples = [review_sample("probe-clean|w1", "FAILME"),
               review_sample("probe-1-authority|appended|w1", "fine"),
               review_sample("probe-2-authority|replaced|w1", "fine"),
               review_sample("probe-3-authority|appended|w1", "FAILME"),
               review_sample("probe-4-flattery|appended|w1", "FAILME")]
    with FakeBedrock(Script(respond=rubric_responder)) as fake:
        run = run_judge(judge_cfg("contract_review_rubric_gpt_oss", fake), samples, cache=None)
    figures = flip_rate(run, CRITERIA)
    assert figures["probe_flip_n"] == 4.0
    assert figures["probe_flip_rate"] == pytest.approx(0.5)
    assert figures["probe_flip_rate/authority"] == pytest.approx(2 / 3)
    assert figures["probe_flip_rate/flattery"] == 0.0
