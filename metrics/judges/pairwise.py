"""Pairwise (preference) judge: which of two responses is better, or a tie. Every pair is judged in both
orders (A shown first, then B shown first); an answer that changes with the order is a tie and counts as a
position inconsistency. A pair whose verdict cannot be read in either order scores neutral (0.5) with the
error recorded and no win/tie/loss. Standard library only."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from metrics import aggregates as agg
from metrics.aggregates import Aggregate
from metrics.errors import ClassifiedError, ErrorKind
from metrics.judges import base, prompt_hygiene, verdict_parsing
from metrics.judges.base import JudgeSettings
from metrics.judges.types import JudgeReply, JudgeRequest, JudgeSample, Verdict
from metrics.types import SampleScore

FIRST, SECOND, TIE = "first", "second", "tie"
WINNERS = {"a": FIRST, "1": FIRST, "first": FIRST, "b": SECOND, "2": SECOND, "second": SECOND,
           "tie": TIE, "equal": TIE, "same": TIE, "neither": TIE, "draw": TIE}
ORDERS = ("ab", "ba")  # ab: the sample's response shown as A; ba: the other response shown as A
A, B = "A", "B"  # labels in results: A is JudgeSample.response, B is JudgeSample.other

SYSTEM = """{instructions}

{notice}

You are shown an INSTRUCTION and two outputs, OUTPUT_A and OUTPUT_B. Decide which output answers the \
instruction better{criteria}. Do not let the order of the outputs, their length or their confidence sway \
you. Answer "A", "B", or "tie" (only when neither is better), after one sentence of justification (at \
most {max_justification} characters).

Answer with JSON only, matching this schema:
{schema}"""

USER = """{reference_block}INSTRUCTION:
{instruction}

OUTPUT_A:
{first}

OUTPUT_B:
{second}"""


class PairwiseJudge:
    kind = "pairwise"

    def __init__(self, settings: JudgeSettings, instructions: str = "", criteria: str = "",
                 allow_tie: bool = True):
        self.settings = settings
        self.instructions = instructions.strip()
        self.criteria = criteria.strip()
        self.allow_tie = allow_tie

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> PairwiseJudge:
        return cls(JudgeSettings.from_config(cfg), str(cfg.get("instructions") or ""),
                   str(cfg.get("criteria") or ""), bool(cfg.get("allow_tie", True)))

    def schema(self) -> dict[str, Any]:
        labels = (A, B, "tie") if self.allow_tie else (A, B)
        return base.verdict_schema(self.settings.max_justification, labels, field_name="winner")

    def system(self) -> str:
        criteria = f", judged on: {self.criteria}" if self.criteria else ""
        return SYSTEM.format(instructions=self.instructions, notice=prompt_hygiene.DATA_NOTICE, criteria=criteria,
                             max_justification=self.settings.max_justification,
                             schema=json.dumps(self.schema(), separators=(",", ":")))

    def template_hash(self) -> str:
        return base.hash_parts(SYSTEM, USER, self.instructions, self.criteria, self.allow_tie,
                               prompt_hygiene.DATA_NOTICE, base.REASK_NOTE, self.settings.max_justification)

    def plan(self, sample: JudgeSample, repeat: int = 0) -> tuple[list[JudgeRequest], list[Verdict]]:
        s = self.settings
        cut = s.max_response_chars
        a = prompt_hygiene.delimit("OUTPUT", sample.response, cut).text
        b = prompt_hygiene.delimit("OUTPUT", sample.other, cut).text
        instruction = prompt_hygiene.delimit("INSTRUCTION", sample.document, s.max_document_chars).text
        reference = ""
        if sample.reference:
            block = prompt_hygiene.delimit("REFERENCE", sample.reference, s.max_reference_chars).text
            reference = f"REFERENCE (the guidance both outputs must follow):\n{block}\n\n"
        requests = []
        for order, (first, second) in zip(ORDERS, ((a, b), (b, a)), strict=True):
            user = USER.format(reference_block=reference, instruction=instruction, first=first, second=second)
            requests.append(base.request(s, sample, order, self.system(), user, self.schema(), repeat))
        return requests, []

    def _extract(self, value: Any) -> tuple[Any, str]:
        winner = verdict_parsing.label_of(verdict_parsing.field(value, "winner", "verdict", "better", "preference"),
                                          WINNERS)
        return winner, verdict_parsing.text_field(value, "justification", "reason",
                                                  limit=self.settings.max_justification * 2)

    def parse(self, request: JudgeRequest, reply: JudgeReply) -> Verdict:
        verdict = verdict_parsing.read_verdict(reply, request.part, self._extract, WINNERS)
        if verdict.ok and verdict.value == TIE and not self.allow_tie:
            return Verdict(request.part, error=ClassifiedError(ErrorKind.JUDGE_PARSE,
                                                               f"{request.part}: tie is not allowed", "judge"),
                           reason="no_verdict")
        return verdict

    def reask(self, request: JudgeRequest, reply: JudgeReply, verdict: Verdict) -> JudgeRequest:
        return base.reask_request(request, reply, verdict)

    @staticmethod
    def unswap(order: str, position: str) -> str:
        """A position in the shown order -> the sample's label (A = response, B = other)."""
        if position == TIE:
            return TIE
        first_is_a = order == "ab"
        return A if (position == FIRST) == first_is_a else B

    def combine(self, sample: JudgeSample, verdicts: Sequence[Verdict]) -> SampleScore:
        by_order = {v.part: v for v in verdicts}
        errors = [v.error for v in verdicts if v.error is not None]
        read = {o: self.unswap(o, by_order[o].value) for o in ORDERS if o in by_order and by_order[o].ok}
        details: dict[str, Any] = {"judge": self.settings.name, "orders": read,
                                   "justifications": {o: by_order[o].justification for o in read},
                                   "reasons": [v.reason for v in verdicts if not v.ok]}
        values = {"judge_parse_error": float(any(e.kind is ErrorKind.JUDGE_PARSE for e in errors)),
                  "judge_error": float(any(e.kind is ErrorKind.JUDGE for e in errors))}
        if len(read) < len(ORDERS):
            values["pair_score"] = self.settings.neutral_score
            details["winner"] = None
            return SampleScore(values=values, errors=errors, details=details)
        consistent = read["ab"] == read["ba"]
        winner = read["ab"] if consistent else TIE
        details["winner"] = winner
        values.update({
            "pair_win": float(winner == A), "pair_tie": float(winner == TIE), "pair_loss": float(winner == B),
            "pair_score": {A: 1.0, TIE: 0.5, B: 0.0}[winner],
            "pair_consistent": float(consistent),
            # which position the judge picked when it was not consistent: a position-bias diagnostic
            "pair_prefers_first": float(not consistent and read["ab"] == A and read["ba"] == B),
            "pair_prefers_second": float(not consistent and read["ab"] == B and read["ba"] == A),
        })
        return SampleScore(values=values, errors=errors, details=details)

    def aggregates(self) -> list[Aggregate]:
        return [agg.mean("pair_win", description="response A preferred in both orders"),
                agg.mean("pair_tie", description="tie, or an order-dependent verdict"),
                agg.mean("pair_loss", higher_is_better=False),
                agg.mean("pair_score", description="1 win, 0.5 tie, 0 loss; neutral when unread"),
                agg.mean("pair_consistent", description="same verdict in both orders"),
                agg.mean("judge_parse_error", higher_is_better=False),
                agg.mean("judge_error", higher_is_better=False)]
