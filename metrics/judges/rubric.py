"""Rubric judge: boolean pass/fail per criterion, each with a one-sentence justification; all criteria in one
structured call (`mode: all`) or one call per criterion (`mode: per_criterion`). Score = weighted pass
fraction. An empty response fails every criterion without a call. A criterion whose verdict cannot be read
(after the re-ask) counts as `neutral_score` in the score and has no pass value: pass rates are over the
verdicts actually read. Standard library only."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from metrics import aggregates as agg
from metrics.aggregates import Aggregate
from metrics.errors import ClassifiedError, ErrorKind
from metrics.judges import base, prompt_hygiene, verdict_parsing
from metrics.judges.base import JudgeConfigError, JudgeSettings
from metrics.judges.types import JudgeReply, JudgeRequest, JudgeSample, Verdict
from metrics.judges.verdict_parsing import NoVerdict, TwoVerdicts
from metrics.types import SampleScore

PASS, FAIL = "pass", "fail"
PASS_FAIL = {"pass": PASS, "passes": PASS, "passed": PASS, "yes": PASS, "true": PASS,
             "fail": FAIL, "fails": FAIL, "failed": FAIL, "no": FAIL, "false": FAIL}
MODES = ("all", "per_criterion")

SYSTEM = """{instructions}

{notice}

Judge the RESPONSE on each criterion below, independently. Give each criterion a verdict, "pass" or "fail", \
and one sentence of justification (at most {max_justification} characters). When in doubt, fail.

Criteria:
{criteria}

Answer with JSON only, matching this schema:
{schema}

The Reference the response must follow:
{reference}"""

USER = """The TargetDocument under review:
{document}

The RESPONSE to judge:
{response}"""


@dataclass(frozen=True)
class Criterion:
    name: str
    question: str
    passes: str = ""
    fails: str = ""
    edge_cases: tuple[str, ...] = ()
    weight: float = 1.0

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any], judge: str) -> Criterion:
        if not isinstance(cfg, Mapping):
            raise JudgeConfigError(f"judge {judge!r}: each criterion must be a mapping {{name, question, ...}}, "
                                   f"got {cfg!r}")
        name = str(cfg.get("name") or "")
        if not name.isidentifier():
            raise JudgeConfigError(f"judge {judge!r}: criterion name {name!r} must be an identifier "
                                   "(letters, digits, underscores)")
        if not cfg.get("question"):
            raise JudgeConfigError(f"judge {judge!r}: criterion {name!r} needs a `question`")
        weight = cfg.get("weight", 1.0)
        if not base.is_finite_number(weight) or weight < 0:
            raise JudgeConfigError(f"judge {judge!r}: criterion {name!r} weight must be a number >= 0, "
                                   f"got {weight!r}")
        edge_cases = cfg.get("edge_cases") or ()
        if not isinstance(edge_cases, (list, tuple)):
            raise JudgeConfigError(f"judge {judge!r}: criterion {name!r} edge_cases must be a list of strings")
        return cls(name, str(cfg["question"]), str(cfg.get("passes") or ""), str(cfg.get("fails") or ""),
                   tuple(str(e) for e in edge_cases), float(weight))

    def render(self, number: int) -> str:
        lines = [f"{number}. {self.name}: {self.question}"]
        if self.passes:
            lines.append(f"   Passes when: {self.passes}")
        if self.fails:
            lines.append(f"   Fails when: {self.fails}")
        lines += [f"   Edge case: {edge}" for edge in self.edge_cases]
        return "\n".join(lines)


class RubricJudge:
    kind = "rubric"

    def __init__(self, settings: JudgeSettings, criteria: Sequence[Criterion], instructions: str,
                 mode: str = "all"):
        if not criteria:
            raise JudgeConfigError(f"judge {settings.name!r}: a rubric judge needs at least one criterion")
        if len({c.name for c in criteria}) != len(criteria):
            raise JudgeConfigError(f"judge {settings.name!r}: criterion names must be unique")
        if mode not in MODES:
            raise JudgeConfigError(f"judge {settings.name!r}: mode {mode!r} is not known; use one of {MODES}")
        self.settings = settings
        self.criteria = tuple(criteria)
        self.instructions = instructions.strip()
        self.mode = mode

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> RubricJudge:
        settings = JudgeSettings.from_config(cfg)
        raw = cfg.get("criteria") or ()
        if not isinstance(raw, (list, tuple)):
            raise JudgeConfigError(f"judge {settings.name!r}: criteria must be a list of {{name, question, ...}}")
        criteria = [Criterion.from_config(c, settings.name) for c in raw]
        return cls(settings, criteria, str(cfg.get("instructions") or ""), str(cfg.get("mode") or "all"))

    # --- prompts -----------------------------------------------------------------------------------

    def schema(self, criteria: Sequence[Criterion]) -> dict[str, Any]:
        one = base.verdict_schema(self.settings.max_justification, (PASS, FAIL))
        if self.mode == "per_criterion":
            return one
        return {"type": "object", "properties": {c.name: one for c in criteria},
                "required": [c.name for c in criteria], "additionalProperties": False}

    def system(self, criteria: Sequence[Criterion], reference: str) -> str:
        s = self.settings
        return SYSTEM.format(
            instructions=self.instructions, notice=prompt_hygiene.DATA_NOTICE,
            max_justification=s.max_justification,
            criteria="\n".join(c.render(i + 1) for i, c in enumerate(criteria)),
            schema=json.dumps(self.schema(criteria), separators=(",", ":")),
            reference=prompt_hygiene.delimit("REFERENCE", reference, s.max_reference_chars).text)

    def template_hash(self) -> str:
        return base.hash_parts(SYSTEM, USER, self.instructions, self.mode, [c.__dict__ for c in self.criteria],
                               prompt_hygiene.DATA_NOTICE, base.REASK_NOTE, self.settings.max_justification)

    def _groups(self) -> list[tuple[str, tuple[Criterion, ...]]]:
        if self.mode == "per_criterion":
            return [(c.name, (c,)) for c in self.criteria]
        return [("all", self.criteria)]

    def plan(self, sample: JudgeSample, repeat: int = 0) -> tuple[list[JudgeRequest], list[Verdict]]:
        response = prompt_hygiene.as_text(sample.response)
        if not response.strip():
            decided = {c.name: (FAIL, "The response is empty.") for c in self.criteria}
            return [], [Verdict("all", value=decided, justification="empty response", decided_without_call=True)]
        s = self.settings
        user = USER.format(document=prompt_hygiene.delimit("TARGET_DOCUMENT", sample.document,
                                                           s.max_document_chars).text,
                           response=prompt_hygiene.delimit("RESPONSE", response, s.max_response_chars).text)
        requests = [base.request(s, sample, part, self.system(group, sample.reference), user,
                                 self.schema(group), repeat) for part, group in self._groups()]
        return requests, []

    # --- replies -----------------------------------------------------------------------------------

    def _one(self, value: Any) -> tuple[str, str]:
        label = verdict_parsing.label_of(verdict_parsing.field(value, "verdict", "result", "decision", "pass"),
                                         PASS_FAIL)
        return label, verdict_parsing.text_field(value, "justification", "reason", "rationale",
                                                 limit=self.settings.max_justification * 2)

    def _extract(self, part: str):
        def extract(value: Any) -> tuple[Any, str]:
            if part != "all":
                try:
                    label, why = self._one(value)
                except NoVerdict:  # {"<criterion>": {...}} is also accepted for a single criterion
                    label, why = self._one(verdict_parsing.field(value, part))
                return {part: (label, why)}, why
            if not isinstance(value, Mapping):
                raise NoVerdict("not an object")
            out: dict[str, tuple[str, str]] = {}
            missing = []
            for criterion in self.criteria:
                try:
                    out[criterion.name] = self._one(verdict_parsing.field(value, criterion.name))
                except NoVerdict:
                    missing.append(criterion.name)
            if missing:
                raise NoVerdict(f"no verdict for {missing}")
            return out, ""
        return extract

    def parse(self, request: JudgeRequest, reply: JudgeReply) -> Verdict:
        synonyms = PASS_FAIL if request.part != "all" or len(self.criteria) == 1 else None
        verdict = verdict_parsing.read_verdict(reply, request.part, self._extract(request.part), synonyms)
        if verdict.ok and request.part != "all" and not isinstance(verdict.value, dict):
            return Verdict(request.part, value={request.part: (verdict.value, verdict.justification)},
                           justification=verdict.justification, repaired=verdict.repaired)
        if verdict.ok and request.part == "all" and len(self.criteria) == 1 and not isinstance(verdict.value, dict):
            name = self.criteria[0].name
            return Verdict("all", value={name: (verdict.value, verdict.justification)}, repaired=True)
        return verdict

    def reask(self, request: JudgeRequest, reply: JudgeReply, verdict: Verdict) -> JudgeRequest:
        return base.reask_request(request, reply, verdict)

    # --- scores ------------------------------------------------------------------------------------

    def combine(self, sample: JudgeSample, verdicts: Sequence[Verdict]) -> SampleScore:
        labels: dict[str, tuple[str, str]] = {}
        errors: list[ClassifiedError] = []
        for verdict in verdicts:
            if verdict.ok:
                labels.update(verdict.value)
            elif verdict.error is not None:
                errors.append(verdict.error)
        values: dict[str, float] = {}
        weighted = total = 0.0
        for criterion in self.criteria:
            total += criterion.weight
            if criterion.name in labels:
                passed = labels[criterion.name][0] == PASS
                values[f"judge/{criterion.name}"] = float(passed)
                weighted += criterion.weight * float(passed)
            else:
                weighted += criterion.weight * self.settings.neutral_score
        values["judge_score"] = weighted / total if total > 0 else self.settings.neutral_score
        values["judge_parse_error"] = float(any(e.kind is ErrorKind.JUDGE_PARSE for e in errors))
        values["judge_error"] = float(any(e.kind is ErrorKind.JUDGE for e in errors))
        details = {"judge": self.settings.name, "verdicts": {k: {"verdict": v, "justification": j}
                                                             for k, (v, j) in labels.items()},
                   "decided_without_call": any(v.decided_without_call for v in verdicts),
                   "reasons": [v.reason for v in verdicts if not v.ok]}
        return SampleScore(values=values, errors=errors, details=details)

    def aggregates(self) -> list[Aggregate]:
        per = [agg.mean(f"judge/{c.name}", description=f"pass rate: {c.question}") for c in self.criteria]
        return [*per, agg.mean("judge_score", description="weighted pass fraction (neutral when unread)"),
                agg.mean("judge_parse_error", higher_is_better=False),
                agg.mean("judge_error", higher_is_better=False)]


def labels_of(score: SampleScore) -> dict[str, str]:
    """criterion -> "pass"/"fail" for the criteria whose verdict was read."""
    return {k.split("/", 1)[1]: (PASS if v == 1.0 else FAIL) for k, v in score.values.items()
            if k.startswith("judge/")}


__all__ = ["Criterion", "RubricJudge", "labels_of", "PASS", "FAIL", "TwoVerdicts"]
