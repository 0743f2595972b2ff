"""`judge.kind: rubric`: boolean criteria (metrics/judges/rubric.py); each criterion's score is 1.0 (pass) or
0.0 (fail). `mode: per_criterion` makes one part (one call) per criterion, `mode: all` one call for all.
An empty answer fails every criterion without a call. Standard library only."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from metrics.judges.rubric import RubricJudge
from metrics.reward import rubric_adapter
from metrics.reward.judge_kinds.base import Send, ask


class RubricKind:
    kind = "rubric"

    def __init__(self, judge: RubricJudge):
        self.judge = judge
        self._part_judges = rubric_adapter.part_judges(judge)

    @classmethod
    def from_config(cls, config: Mapping[str, Any], source: str = "<reward config>") -> RubricKind:
        return cls(rubric_adapter.rubric_judge({**config, "kind": "rubric"}, source))

    @property
    def criteria(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.judge.criteria)

    def parts_for(self, criteria: tuple[str, ...]) -> tuple[str, ...]:
        return rubric_adapter.parts_for(self.judge, criteria)

    def score_part(self, part: str, output_text: str, reference: Any, document: str, reference_text: str,
                   send: Send) -> dict[str, float]:
        from metrics.reward.judge_kinds.base import unknown_part

        judge = self._part_judges.get(part)
        if judge is None:
            raise unknown_part(part, f"rubric (mode {self.judge.mode})", list(self._part_judges))
        request, decided = rubric_adapter.plan(judge, part, output_text, document, reference_text)
        if request is None:
            return rubric_adapter.scores(part, decided)
        return rubric_adapter.scores(part, ask(judge, request, send))
