"""Every runtime that serves the reward, by name, each reduced to one comparable shape: for a list of answers
(output text + reference), the reward score, the components it reports and whether the score is the neutral
fallback. tests/test_parity_matrix.py holds a parity case per name and fails for a runtime without one: a new
trainer adapter is registered here and proven identical there.

    RUNTIMES["trl"](bundle, answers) -> [Scored(score, components, neutral), ...]"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from metrics.reward.bundle import RewardBundle


@dataclass(frozen=True)
class Answer:
    id: str
    output: str
    reference: Any  # as the runtime receives it: an object, or its JSON text


@dataclass(frozen=True)
class Scored:
    score: float | None
    components: Mapping[str, float] = field(default_factory=dict)
    neutral: bool = False


Runtime = Callable[[RewardBundle, Sequence[Answer]], list[Scored]]


def scored_from_lambda(result: Mapping[str, Any]) -> Scored:
    """A Lambda result ({id, aggregate_reward_score, metrics_list}) as Scored: its metrics minus the
    `neutral` flag and the `error/<kind>` counters are the components."""
    metrics = {m["name"]: m["value"] for m in result["metrics_list"]}
    components = {k: v for k, v in metrics.items() if k != "neutral" and not k.startswith("error/")}
    return Scored(result["aggregate_reward_score"], components, metrics.get("neutral") == 1.0)


def lambda_event(answers: Sequence[Answer]) -> list[dict[str, Any]]:
    return [{"id": a.id, "messages": [{"role": "assistant", "content": a.output}], "reference_answer": a.reference}
            for a in answers]


def _lambda(bundle: RewardBundle, answers: Sequence[Answer]) -> list[Scored]:
    import io

    from metrics.reward.lambda_handler import build_judge, handle

    class Context:
        def get_remaining_time_in_millis(self) -> int:
            return 600_000

    results = handle(lambda_event(answers), Context(), bundle, build_judge(bundle), log_stream=io.StringIO())
    return [scored_from_lambda(r) for r in results]


def _evaluation(bundle: RewardBundle, answers: Sequence[Answer]) -> list[Scored]:
    from metrics.reward.lambda_handler import build_judge
    from metrics.reward.reference import reference_from
    from metrics.reward.sample import reward_for_sample

    judge = build_judge(bundle)
    out = []
    for a in answers:
        _, reward = reward_for_sample(a.output, reference_from({"reference_answer": a.reference}), bundle.score,
                                      bundle.reward, judge)
        out.append(Scored(reward.score, {c.name: c.value for c in reward.components}, reward.neutral))
    return out


def _trl(bundle: RewardBundle, answers: Sequence[Answer]) -> list[Scored]:
    from metrics.reward.trl import make_trl_reward

    extra: dict[str, list[Any]] = {}
    reward = make_trl_reward(bundle)
    scores = reward(prompts=[[{"role": "user", "content": "?"}]] * len(answers),
                    completions=[[{"role": "assistant", "content": a.output}] for a in answers],
                    reference_answer=[a.reference for a in answers], log_extra=extra.__setitem__)
    prefix = f"{bundle.reward.name}/"
    out = []
    for i, score in enumerate(scores):  # the components and the neutral flag come per completion via log_extra
        columns = {k[len(prefix):]: v[i] for k, v in extra.items() if v[i] is not None}
        neutral = columns.pop("neutral", 0.0) == 1.0
        out.append(Scored(score, columns, neutral))
    return out


def _verl(bundle: RewardBundle, answers: Sequence[Answer]) -> list[Scored]:
    from metrics.reward.verl import compute_score

    out = []
    for a in answers:
        result = compute_score("rft-evals", a.output, a.reference, {}, reward_bundle=bundle)
        components = {k: v for k, v in result.items() if k not in ("score", "neutral") and not math.isnan(v)}
        out.append(Scored(result["score"], components, result["neutral"] == 1.0))
    return out


RUNTIMES: dict[str, Runtime] = {
    "evaluation": _evaluation,  # metrics.reward.sample.reward_for_sample: what `rft-evals run` records
    "lambda": _lambda,  # metrics.reward.lambda_handler: the Nova RFT reward Lambda
    "trl": _trl,  # metrics.reward.trl.make_trl_reward: TRL GRPOTrainer reward_funcs
    "verl": _verl,  # metrics.reward.verl.compute_score: verl custom_reward_function
}
