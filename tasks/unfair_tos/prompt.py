"""Chat messages for one UNFAIR-ToS sentence. The system message (classes + answer format) is the same for
every item, so a local model reuses its prompt-prefix cache. Standard library only."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from tasks.unfair_tos.classes import CLASSES, ClauseClass

SYSTEM_TEMPLATE = """You classify single sentences taken from consumer Terms of Service. Put each sentence in \
exactly one of these classes:
{classes}

Choose the class the sentence itself establishes; a sentence that only mentions a topic without setting such a \
rule is Other. Answer with JSON only, matching this schema, the class name written exactly as above:
{schema}"""

USER_TEMPLATE = """Sentence: {sentence}"""


def class_lines(classes: Sequence[ClauseClass] = CLASSES) -> str:
    return "\n".join(f"- {c.label}: {c.description}" for c in classes)


def system_message(schema: Mapping[str, Any]) -> str:
    return SYSTEM_TEMPLATE.format(classes=class_lines(), schema=json.dumps(schema, separators=(",", ":")))


def user_message(sentence: str) -> str:
    return USER_TEMPLATE.format(sentence=sentence)


def build_messages(schema: Mapping[str, Any], sentence: str,
                   examples: Sequence[tuple[str, str]] = ()) -> list[dict[str, str]]:
    """System, then each example as a user/assistant pair (sentence, ideal answer), then the sentence."""
    messages = [{"role": "system", "content": system_message(schema)}]
    for example_sentence, example_answer in examples:
        messages.append({"role": "user", "content": user_message(example_sentence)})
        messages.append({"role": "assistant", "content": example_answer})
    messages.append({"role": "user", "content": user_message(sentence)})
    return messages


def template_hash(schema: Mapping[str, Any]) -> str:
    """Short sha256 over everything in the prompt that is not the item."""
    digest = hashlib.sha256()
    for part in (SYSTEM_TEMPLATE, USER_TEMPLATE, class_lines(), json.dumps(schema, sort_keys=True)):
        digest.update(part.encode("utf-8"))
        digest.update(b"\x00")
    return digest.hexdigest()[:12]
