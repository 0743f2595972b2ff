"""Case-study scale judge: each comment of a review is scored 1-5 on each dimension (by default TargetDocument
grounding, Reference consistency, Actionability); a comment's score is the mean of its dimensions, and the
run's score is the mean over all comments (a ratio aggregate: sum of comment scores / number of comments).
`judge_score` is the sample's mean comment score mapped to [0, 1] ((s - 1) / 4), for rewards.

Defined outcomes: an empty response scores 1 everywhere without a call; an answer that is not JSON with a
`comments` list is judged as one comment holding its raw text; an answer with no comments has nothing to
score (no call, judge_score = neutral, 0 comments). Standard library only."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from metrics import aggregates as agg
from metrics.aggregates import Aggregate
from metrics.errors import ErrorKind
from metrics.judges import base, prompt_hygiene, verdict_parsing
from metrics.judges.base import JudgeConfigError, JudgeSettings
from metrics.judges.types import JudgeReply, JudgeRequest, JudgeSample, Verdict
from metrics.judges.verdict_parsing import NoVerdict, TwoVerdicts
from metrics.parsing import parse_json_output
from metrics.types import SampleScore

LOW, HIGH = 1, 5
MAX_COMMENTS = 16  # a response with more comments is judged on its first 16 (noted in the details)

SYSTEM = """{instructions}

{notice}

Score every numbered comment of the RESPONSE from 1 (worst) to 5 (best) on each dimension:
{dimensions}

Answer with JSON only, matching this schema (one entry per comment, in order):
{schema}

The Reference the comments must follow:
{reference}"""

USER = """The TargetDocument under review:
{document}

The RESPONSE, as numbered comments:
{response}"""


@dataclass(frozen=True)
class Dimension:
    name: str
    question: str

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any], judge: str) -> Dimension:
        if not isinstance(cfg, Mapping):
            raise JudgeConfigError(f"judge {judge!r}: each dimension must be a mapping {{name, question}}")
        name = str(cfg.get("name") or "")
        if not name.isidentifier() or not cfg.get("question"):
            raise JudgeConfigError(f"judge {judge!r}: each dimension needs an identifier `name` and a `question`")
        return cls(name, str(cfg["question"]))


def comments_of(response: Any) -> tuple[list[Any], str]:
    """The comments to score, and how they were found: json | raw | empty | none."""
    text = prompt_hygiene.as_text(response)
    if not text.strip():
        return [], "empty"
    parsed = parse_json_output(text)
    comments = parsed.value.get("comments") if parsed.ok and isinstance(parsed.value, Mapping) else None
    if isinstance(comments, list):
        return comments, ("json" if comments else "none")
    return [text], "raw"


class ScaleJudge:
    kind = "scale"

    def __init__(self, settings: JudgeSettings, dimensions: Sequence[Dimension], instructions: str = ""):
        if not dimensions:
            raise JudgeConfigError(f"judge {settings.name!r}: a scale judge needs at least one dimension")
        self.settings = settings
        self.dimensions = tuple(dimensions)
        self.instructions = instructions.strip()

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> ScaleJudge:
        settings = JudgeSettings.from_config(cfg)
        raw = cfg.get("dimensions") or ()
        if not isinstance(raw, (list, tuple)):
            raise JudgeConfigError(f"judge {settings.name!r}: dimensions must be a list of {{name, question}}")
        dims = [Dimension.from_config(d, settings.name) for d in raw]
        return cls(settings, dims, str(cfg.get("instructions") or ""))

    def schema(self, n: int) -> dict[str, Any]:
        entry = {"type": "object",
                 "properties": {"comment": {"type": "integer", "enum": list(range(1, n + 1))},
                                **{d.name: {"type": "integer", "enum": list(range(LOW, HIGH + 1))}
                                   for d in self.dimensions}},
                 "required": ["comment", *[d.name for d in self.dimensions]], "additionalProperties": False}
        return {"type": "object",
                "properties": {"justification": {"type": "string", "maxLength": self.settings.max_justification},
                               "scores": {"type": "array", "items": entry, "minItems": n, "maxItems": n}},
                "required": ["justification", "scores"], "additionalProperties": False}

    def template_hash(self) -> str:
        return base.hash_parts(SYSTEM, USER, self.instructions, [d.__dict__ for d in self.dimensions],
                               prompt_hygiene.DATA_NOTICE, base.REASK_NOTE)

    def plan(self, sample: JudgeSample, repeat: int = 0) -> tuple[list[JudgeRequest], list[Verdict]]:
        comments, found = comments_of(sample.response)
        if found == "empty":
            return [], [Verdict("all", value=[{d.name: LOW for d in self.dimensions}], decided_without_call=True,
                                justification="empty response")]
        if found == "none":
            return [], [Verdict("all", value=[], decided_without_call=True, justification="no comments")]
        comments = comments[:MAX_COMMENTS]
        n = len(comments)
        numbered = "\n".join(f"Comment {i + 1}: " + (c if isinstance(c, str) else json.dumps(c, ensure_ascii=False))
                             for i, c in enumerate(comments))
        s = self.settings
        system = SYSTEM.format(
            instructions=self.instructions, notice=prompt_hygiene.DATA_NOTICE,
            dimensions="\n".join(f"- {d.name}: {d.question}" for d in self.dimensions),
            schema=json.dumps(self.schema(n), separators=(",", ":")),
            reference=prompt_hygiene.delimit("REFERENCE", sample.reference, s.max_reference_chars).text)
        user = USER.format(document=prompt_hygiene.delimit("TARGET_DOCUMENT", sample.document,
                                                           s.max_document_chars).text,
                           response=prompt_hygiene.delimit("RESPONSE", numbered, s.max_response_chars).text)
        return [base.request(s, sample, f"all:{n}", system, user, self.schema(n), repeat)], []

    def _extract(self, n: int):
        def extract(value: Any) -> tuple[Any, str]:
            entries = verdict_parsing.field(value, "scores")
            if not isinstance(entries, list):
                raise NoVerdict("scores is not a list")
            table: dict[int, dict[str, int]] = {}
            for entry in entries:
                if not isinstance(entry, Mapping):
                    continue
                try:
                    index = int(verdict_parsing.field(entry, "comment"))
                    row = {d.name: _score(verdict_parsing.field(entry, d.name)) for d in self.dimensions}
                except (NoVerdict, TypeError, ValueError, OverflowError):  # OverflowError: int(Infinity)
                    continue
                if index in table and table[index] != row:
                    raise TwoVerdicts(f"comment {index} is scored twice, differently")
                table[index] = row
            if sorted(table) != list(range(1, n + 1)):
                raise NoVerdict(f"scores for comments {sorted(table)}, expected 1..{n}")
            return [table[i] for i in range(1, n + 1)], verdict_parsing.text_field(value, "justification")
        return extract

    def parse(self, request: JudgeRequest, reply: JudgeReply) -> Verdict:
        n = int(request.part.split(":", 1)[1])
        return verdict_parsing.read_verdict(reply, request.part, self._extract(n))

    def reask(self, request: JudgeRequest, reply: JudgeReply, verdict: Verdict) -> JudgeRequest:
        return base.reask_request(request, reply, verdict)

    def combine(self, sample: JudgeSample, verdicts: Sequence[Verdict]) -> SampleScore:
        errors = [v.error for v in verdicts if v.error is not None]
        values = {"judge_parse_error": float(any(e.kind is ErrorKind.JUDGE_PARSE for e in errors)),
                  "judge_error": float(any(e.kind is ErrorKind.JUDGE for e in errors))}
        rows = [row for v in verdicts if v.ok for row in v.value]
        details: dict[str, Any] = {"judge": self.settings.name, "scores": rows,
                                   "reasons": [v.reason for v in verdicts if not v.ok],
                                   "decided_without_call": any(v.decided_without_call for v in verdicts)}
        if errors or not rows:
            values["judge_score"] = self.settings.neutral_score
            if not errors:
                values["judge_scale_comments"] = 0.0
            return SampleScore(values=values, errors=errors, details=details)
        comment_scores = [sum(row.values()) / len(row) for row in rows]
        values["judge_scale_sum"] = sum(comment_scores)
        values["judge_scale_comments"] = float(len(rows))
        for d in self.dimensions:
            values[f"judge_scale/{d.name}_sum"] = float(sum(row[d.name] for row in rows))
        mean = values["judge_scale_sum"] / len(rows)
        values["judge_score"] = (mean - LOW) / (HIGH - LOW)
        return SampleScore(values=values, errors=errors, details=details)

    def aggregates(self) -> list[Aggregate]:
        per = [agg.ratio(f"judge_scale/{d.name}", f"judge_scale/{d.name}_sum", "judge_scale_comments",
                         f"mean 1-5 over comments: {d.question}") for d in self.dimensions]
        return [agg.ratio("judge_scale", "judge_scale_sum", "judge_scale_comments",
                          "mean over comments of the mean of the dimensions (1-5)"), *per,
                agg.mean("judge_score"), agg.mean("judge_parse_error", higher_is_better=False),
                agg.mean("judge_error", higher_is_better=False)]


def _score(raw: Any) -> int:
    if isinstance(raw, bool):
        raise ValueError("a boolean is not a score")
    value = float(raw)
    if not value.is_integer() or not LOW <= value <= HIGH:
        raise ValueError(f"score {raw!r} outside {LOW}-{HIGH}")
    return int(value)
