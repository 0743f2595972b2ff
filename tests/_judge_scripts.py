"""Scripted judges for the scale and preference reward kinds: fake Bedrock responders whose replies depend
only on the request, so the expected reward can be computed by hand (or two runs get the same replies)."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from typing import Any

from fakes.bedrock_server import Behaviour, reply
from metrics.judges import prompt_hygiene

DIMENSIONS = ("target_document_grounding", "reference_consistency", "actionability")
REASKED = "could not be read"  # in the user turn of a re-ask (metrics/judges/base.REASK_NOTE)
_COMMENT = re.compile(r"^Comment (\d+): ", re.MULTILINE)


def user_text(body: Any) -> str:
    return "".join(b.get("text", "") for m in (body or {}).get("messages", []) for b in m.get("content", []))


def comment_count(body: Any) -> int:
    return len(_COMMENT.findall(user_text(body)))


def scale_reply(rows: list[dict[str, int]]) -> str:
    return json.dumps({"justification": "scored", "scores": [{"comment": i + 1, **row} for i, row in enumerate(rows)]})


def scale_by_index(scores: Callable[[int], dict[str, int]]) -> Callable[[str, Any], Behaviour]:
    """A scale judge giving comment i (1-based) the scores `scores(i)`."""
    def respond(model_id: str, body: Any) -> Behaviour:
        return reply(scale_reply([scores(i) for i in range(1, comment_count(body) + 1)]))
    return respond


def _digest(*parts: str) -> int:
    return int(hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:8], 16)


def scale_by_content(model_id: str, body: Any) -> Behaviour:
    """Scores that depend only on each comment's text and the dimension."""
    text = user_text(body)
    comments = re.findall(r"^Comment \d+: (.*)$", text, re.MULTILINE)
    return reply(scale_reply([{d: 1 + _digest(c, d) % 5 for d in DIMENSIONS} for c in comments]))


def outputs(body: Any) -> list[str]:
    """The two outputs of a pairwise request, in the order shown (A, then B)."""
    return prompt_hygiene.blocks(user_text(body), "OUTPUT")


def winner_reply(winner: str) -> str:
    return json.dumps({"justification": "compared", "winner": winner})


def preference_by_content(model_id: str, body: Any) -> Behaviour:
    """A verdict that depends only on the two outputs in their shown order (so it may follow the order)."""
    first, second = outputs(body)
    return reply(winner_reply(("A", "B", "tie")[_digest(first, second) % 3]))
