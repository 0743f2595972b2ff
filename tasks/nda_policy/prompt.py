"""Chat prompts for NDA policy review. The system message holds the instructions and the Reference (the
policy); the user message holds the TargetDocument (the NDA, or the part of it that fits) between
delimiters. The full answer schema repeats one rule schema 17 times, so the prompt shows that rule schema
once and the shape around it; the decoder still gets the full schema. Standard library only."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

DOC_BEGIN = "<<<TARGET_DOCUMENT"
DOC_END = "TARGET_DOCUMENT>>>"

SYSTEM_TEMPLATE = """You review non-disclosure agreements (NDAs) against the company's policy. Each user \
message holds a TargetDocument (an NDA, or a part of one) between a line {begin} and a line {end}.

For every rule of the Reference (the policy) below, decide:
- label: entailment if the TargetDocument agrees with the rule, contradiction if it says the opposite, \
not_mentioned if it does not settle the rule;
- evidence: for entailment or contradiction, up to {max_evidence} passages of the TargetDocument that show it, \
each quoted word for word (never from the Reference), at most {max_excerpt} characters; for not_mentioned, [];
- for a contradiction only: assessment, the one the rule gives, and action, one the rule allows.

Answer with JSON only: {{"rules": {{"<rule id>": <rule answer>, ...}}}} with one entry for every rule id, \
in the order of the Reference, each <rule answer> matching this schema:
{rule_schema}

=== REFERENCE ===
{reference}=== END OF REFERENCE ==="""

USER_TEMPLATE = """Check this TargetDocument against every rule; quote evidence only from it.

{begin}
{document}
{end}{note}"""

# Said after the document when its end was cut off, so the model does not read silence into the cut.
CUT_NOTE = "\nOnly the beginning of this NDA is shown; the rest was cut to fit the context."
CHUNK_NOTE = "\nThis is part {part} of {parts} of an NDA; judge the rules on this part only."


def _limits(schema: Mapping[str, Any]) -> tuple[Mapping[str, Any], int, int]:
    rules = schema["properties"]["rules"]["properties"]
    rule_schema = next(iter(rules.values()))
    evidence = rule_schema["properties"]["evidence"]
    return rule_schema, evidence["maxItems"], evidence["items"]["maxLength"]


def system_message(reference: str, schema: Mapping[str, Any]) -> str:
    rule_schema, max_evidence, max_excerpt = _limits(schema)
    return SYSTEM_TEMPLATE.format(reference=reference, rule_schema=json.dumps(rule_schema, separators=(",", ":")),
                                  begin=DOC_BEGIN, end=DOC_END, max_evidence=max_evidence, max_excerpt=max_excerpt)


def note(truncated: bool, segment: int, segments: int) -> str:
    if truncated:
        return CUT_NOTE
    if segments > 1:
        return CHUNK_NOTE.format(part=segment + 1, parts=segments)
    return ""


def user_message(document: str, note_text: str = "") -> str:
    return USER_TEMPLATE.format(document=document, begin=DOC_BEGIN, end=DOC_END, note=note_text)


def build_messages(reference: str, schema: Mapping[str, Any], document: str, note_text: str = "",
                   examples: Sequence[tuple[str, str, str]] = ()) -> list[dict[str, str]]:
    """System (instructions + Reference), then each example (document, note, ideal answer) as a
    user/assistant pair, then the TargetDocument."""
    messages = [{"role": "system", "content": system_message(reference, schema)}]
    for example_document, example_note, example_answer in examples:
        messages.append({"role": "user", "content": user_message(example_document, example_note)})
        messages.append({"role": "assistant", "content": example_answer})
    messages.append({"role": "user", "content": user_message(document, note_text)})
    return messages


def template_hash(reference: str, schema: Mapping[str, Any]) -> str:
    """Short sha256 over everything in the prompt that is not the item."""
    digest = hashlib.sha256()
    for part in (SYSTEM_TEMPLATE, USER_TEMPLATE, CUT_NOTE, CHUNK_NOTE, reference, json.dumps(schema, sort_keys=True)):
        digest.update(part.encode("utf-8"))
        digest.update(b"\x00")
    return digest.hexdigest()[:12]
