"""The bridge from the reward to the production rubric judge (metrics/judges/rubric.py): the reward's judge
prompt, verdict parsing and re-ask ARE RubricJudge's, so the reward and `rft-evals judge-eval` / `run
judge=...` cannot drift apart. This module only maps a part's verdict to scores (pass 1.0, fail 0.0) and an
unreadable verdict to a JudgeFailure (judge_parse_error, hence the neutral reward). It serves the rubric kind
of metrics/reward/judge_kinds/ (scale and preference are kinds of their own there). Standard library only."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from metrics.errors import ClassifiedError, ErrorKind
from metrics.judges.base import JudgeConfigError
from metrics.judges.rubric import PASS, RubricJudge
from metrics.judges.types import JudgeReply, JudgeRequest, JudgeSample, Verdict
from metrics.reward.judge import JudgeFailure

SAMPLE_ID = "reward"  # one answer per plan: the id only names the request


def rubric_judge(config: Mapping[str, Any], source: str = "<reward config>") -> RubricJudge:
    """The rubric judge of a reward config's `judge:` section; raises ValueError naming the key."""
    kind = config.get("kind", "rubric")
    if kind != "rubric":
        raise ValueError(f"{source}: key judge.kind: a rubric judge reads pass/fail criteria; got kind {kind!r} "
                         "(scale and preference judges: metrics/reward/judge_kinds/)")
    criteria = config.get("criteria")
    if not isinstance(criteria, list) or not all(isinstance(c, Mapping) for c in criteria):
        raise ValueError(f"{source}: key judge.criteria: must be a list of {{name, question, passes, fails}} "
                         "as in conf/judge/contract_review_rubric.yaml")
    try:
        return RubricJudge.from_config({"name": "reward_judge", **config})
    except JudgeConfigError as exc:
        raise ValueError(f"{source}: key judge: {exc}") from None


def parts_for(judge: RubricJudge, criteria: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(criteria) if judge.mode == "per_criterion" else ("all",)


def part_judges(judge: RubricJudge) -> dict[str, RubricJudge]:
    """part -> the judge that plans it alone. In per_criterion mode a one-criterion RubricJudge builds the
    very request the full judge builds for that criterion (same system prompt, schema and user turn; a test
    checks it), without building the other criteria's prompts on every call."""
    if judge.mode != "per_criterion":
        return {"all": judge}
    return {c.name: RubricJudge(judge.settings, (c,), judge.instructions, judge.mode) for c in judge.criteria}


def plan(judge: RubricJudge, part: str, output_text: str, document: str,
         reference_text: str) -> tuple[JudgeRequest | None, Verdict | None]:
    """The request for one part, or the verdict decided without a call (an empty answer fails)."""
    requests, decided = judge.plan(JudgeSample(SAMPLE_ID, output_text, document, reference_text))
    if decided:
        return None, decided[0]
    for request in requests:
        if request.part == part:
            return request, None
    raise JudgeFailure(ClassifiedError(ErrorKind.INPUT, f"judge part {part!r} is not one the rubric judge plans "
                                       f"(mode {judge.mode})", "judge"))


def parse(judge: RubricJudge, request: JudgeRequest, text: str, stop_reason: str = "end_turn") -> Verdict:
    return judge.parse(request, JudgeReply(text=text, stop_reason=stop_reason))


def needs_reask(judge: RubricJudge, verdict: Verdict) -> bool:
    return not verdict.ok and judge.settings.reask and verdict.reason != "call_failed"


def reask(judge: RubricJudge, request: JudgeRequest, text: str, verdict: Verdict,
          stop_reason: str = "end_turn") -> JudgeRequest:
    return judge.reask(request, JudgeReply(text=text, stop_reason=stop_reason), verdict)


def scores(part: str, verdict: Verdict) -> dict[str, float]:
    """criterion -> 1.0 (pass) / 0.0 (fail) for the criteria the part decides (every criterion for part
    "all"); raises JudgeFailure when the verdict could not be read (judge_parse_error: neutral reward)."""
    if not verdict.ok or not isinstance(verdict.value, Mapping):
        raise JudgeFailure(verdict.error or ClassifiedError(ErrorKind.JUDGE_PARSE, f"judge part {part}: no "
                                                            "verdict", "judge"))
    out = {str(name): (1.0 if label == PASS else 0.0) for name, (label, _) in verdict.value.items()}
    if part == "all":
        return out
    if part not in out:
        raise JudgeFailure(ClassifiedError(ErrorKind.JUDGE_PARSE, f"judge part {part}: the verdict is for "
                                           f"{sorted(out)}", "judge"))
    return {part: out[part]}
