"""`judge.kind: preference`: the pairwise judge (metrics/judges/pairwise.py) compares the policy's answer
with a reference answer, in both orders (the answer shown first, then the reference shown first).

    verdicts (answer vs reference)         preference   position_consistency
    wins in both orders                    1.0          1.0
    tie in both orders                     0.5          1.0
    split (the verdict follows the order)  0.5          0.0
    loses in both orders                   0.0          1.0
    an order unreadable after its re-ask   the sample gets the reward's neutral value (judge_parse_error)

These are the pairwise judge's own pair_score and pair_consistent, as `judge-eval data=llmbar` measures them.
The reference answer is `reference_answer[<reference_key>]` (default "gold_answer": the gold answer the task
renders into every reference it exports). The two orders of one answer are sent one after the other; the
Lambda runs the answers of a batch in parallel.

Group mode (`group_win_rates`): the answers to one prompt are compared with each other, every pair in both
orders, and each answer gets its mean pair score against the others (its win rate, ties counting half).
Standard library only."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import combinations
from typing import Any

from metrics.errors import ClassifiedError, ErrorKind
from metrics.judges.base import JudgeConfigError
from metrics.judges.pairwise import PairwiseJudge
from metrics.judges.types import JudgeSample
from metrics.reward.judge import JudgeFailure
from metrics.reward.judge_kinds.base import SAMPLE_ID, Send, ask_all, unknown_part

PREFERENCE, CONSISTENCY = "preference", "position_consistency"
PART = "pair"
DEFAULT_REFERENCE_KEY = "gold_answer"


def reference_answer_of(reference: Any, key: str) -> str:
    """The reference answer the policy's answer is compared with; raises JudgeFailure (input_error)."""
    value = reference.get(key) if isinstance(reference, Mapping) else None
    if not isinstance(value, str) or not value.strip():
        raise JudgeFailure(ClassifiedError(
            ErrorKind.INPUT, f"reference_answer has no {key!r} text to compare the answer with; export the data "
            "again (task.reference() renders it) or set judge.reference_key", "judge"))
    return value


class PreferenceKind:
    kind = "preference"

    def __init__(self, judge: PairwiseJudge, reference_key: str = DEFAULT_REFERENCE_KEY):
        self.judge = judge
        self.reference_key = reference_key

    @classmethod
    def from_config(cls, config: Mapping[str, Any], source: str = "<reward config>") -> PreferenceKind:
        key = config.get("reference_key", DEFAULT_REFERENCE_KEY)
        if not isinstance(key, str) or not key:
            raise ValueError(f"{source}: key judge.reference_key: must name the reference_answer field holding "
                             f"the reference answer, got {key!r}")
        try:
            judge = PairwiseJudge.from_config({"name": "reward_judge", **config, "kind": "pairwise"})
        except JudgeConfigError as exc:
            raise ValueError(f"{source}: key judge: {exc}") from None
        return cls(judge, key)

    @property
    def criteria(self) -> tuple[str, ...]:
        return (PREFERENCE, CONSISTENCY)

    def parts_for(self, criteria: tuple[str, ...]) -> tuple[str, ...]:
        return (PART,)

    def compare(self, first: str, second: str, document: str, reference_text: str,
                send: Send) -> dict[str, float]:
        """The pairwise judge's values for `first` (A) against `second` (B), both orders."""
        sample = JudgeSample(SAMPLE_ID, response=first, other=second, document=document, reference=reference_text)
        requests, decided = self.judge.plan(sample)
        return self.judge.combine(sample, [*decided, *ask_all(self.judge, requests, send)]).values

    def score_part(self, part: str, output_text: str, reference: Any, document: str, reference_text: str,
                   send: Send) -> dict[str, float]:
        if part != PART:
            raise unknown_part(part, self.kind, [PART])
        values = self.compare(output_text, reference_answer_of(reference, self.reference_key), document,
                              reference_text, send)
        return {PREFERENCE: values["pair_score"], CONSISTENCY: values["pair_consistent"]}


def group_win_rates(kind: PreferenceKind, answers: Sequence[str], document: str, reference_text: str,
                    send: Send) -> list[float | None]:
    """Each answer's mean pair score against the other answers to the same prompt (n(n-1) calls); a pair
    whose verdict stays unreadable counts for neither answer; None for an answer with no readable pair."""
    totals = [0.0] * len(answers)
    counts = [0] * len(answers)
    for i, j in combinations(range(len(answers)), 2):
        try:
            score = kind.compare(answers[i], answers[j], document, reference_text, send)["pair_score"]
        except JudgeFailure:
            continue
        totals[i] += score
        totals[j] += 1.0 - score
        counts[i] += 1
        counts[j] += 1
    return [t / c if c else None for t, c in zip(totals, counts, strict=True)]
