"""THE ONE PLACE that knows the judge's prompt and verdict format (an interim rubric).

It builds the request for one criterion and reads the verdict. When metrics/judges (the sans-I/O rubric
judge) lands, replace the two functions below by calls into it; nothing else in metrics/reward changes.
Standard library only."""

from __future__ import annotations

from dataclasses import dataclass

from metrics.errors import ClassifiedError, ErrorKind
from metrics.parsing import parse_json_output
from metrics.reward.judge import JudgeFailure

SYSTEM = ("You grade one answer of a contract reviewer against one criterion. Read the Reference (the review "
          "playbook), the TargetDocument and the answer. Reply with JSON only: "
          '{"verdict": "pass" or "fail", "reason": "<one sentence>"}.')

USER = """CRITERION {name}: {criterion}

=== REFERENCE ===
{reference}
=== TARGET DOCUMENT ===
{document}
=== ANSWER ===
{answer}
=== END ===
Does the answer pass the criterion?"""

_VERDICTS = {"pass": 1.0, "fail": 0.0}


@dataclass(frozen=True)
class JudgeRequest:
    system: str
    user: str


def build_request(name: str, criterion: str, answer: str, document: str, reference_text: str) -> JudgeRequest:
    return JudgeRequest(SYSTEM, USER.format(name=name, criterion=criterion, reference=reference_text,
                                            document=document, answer=answer))


def parse_verdict(name: str, text: str) -> float:
    """1.0 for pass, 0.0 for fail; raises JudgeFailure(judge_parse_error) when no verdict can be read."""
    parsed = parse_json_output(text)
    verdict = parsed.value.get("verdict") if parsed.ok and isinstance(parsed.value, dict) else None
    if isinstance(verdict, str) and verdict.strip().lower() in _VERDICTS:
        return _VERDICTS[verdict.strip().lower()]
    raise JudgeFailure(ClassifiedError(ErrorKind.JUDGE_PARSE, f"criterion {name}: no pass/fail verdict in the "
                                       f"judge's reply {text[:120]!r}", "judge"))
