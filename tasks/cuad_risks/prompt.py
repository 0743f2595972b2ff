"""Chat messages for one commercial-contract review. As in contract_review, the system message (instructions +
Reference) is the same for every item, so a local model reuses its prompt-prefix cache, and the item only
appears in the last user turn between delimiter lines. Standard library only."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

DOC_BEGIN = "<<<TARGET_DOCUMENT"
DOC_END = "TARGET_DOCUMENT>>>"

SYSTEM_TEMPLATE = """You review commercial contracts for clauses that carry legal or business risk. Each user \
message holds a TargetDocument (consecutive sentences of one contract, one per line; the text comes from a PDF, \
so spacing and numbering may be untidy) between a line {begin} and a line {end}.

Follow the Reference (the review playbook) below. For every clause of the TargetDocument that falls in one of \
its risk categories, write one comment with:
- text_excerpt: the clause quoted word for word from the TargetDocument (never from the Reference), at most \
{max_excerpt} characters;
- risk: the category id from the Reference;
- assessment: the assessment the Reference gives that category;
- action: one of the actions the Reference allows;
- rationale: one or two sentences saying why, grounded in the Reference, at most {max_rationale} characters.
A clause in two categories gets two comments. Sentences outside the categories get no comment. If nothing in \
the TargetDocument falls in a category, answer with an empty list: {{"comments": []}}. At most {max_comments} \
comments.

Answer with JSON only, matching this schema:
{schema}

=== REFERENCE ===
{reference}=== END OF REFERENCE ==="""

USER_TEMPLATE = """Review this TargetDocument; quote excerpts only from it.

{begin}
{document}
{end}"""


def _limits(schema: Mapping[str, Any]) -> dict[str, int]:
    comments = schema["properties"]["comments"]
    fields = comments["items"]["properties"]
    return {"max_comments": comments["maxItems"], "max_excerpt": fields["text_excerpt"]["maxLength"],
            "max_rationale": fields["rationale"]["maxLength"]}


def system_message(reference: str, schema: Mapping[str, Any]) -> str:
    return SYSTEM_TEMPLATE.format(reference=reference, schema=json.dumps(schema, separators=(",", ":")),
                                  begin=DOC_BEGIN, end=DOC_END, **_limits(schema))


def user_message(document: str) -> str:
    return USER_TEMPLATE.format(document=document, begin=DOC_BEGIN, end=DOC_END)


def build_messages(reference: str, schema: Mapping[str, Any], document: str,
                   examples: Sequence[tuple[str, str]] = ()) -> list[dict[str, str]]:
    """System (instructions + Reference), each example as a user/assistant pair, then the TargetDocument."""
    messages = [{"role": "system", "content": system_message(reference, schema)}]
    for example_document, example_answer in examples:
        messages.append({"role": "user", "content": user_message(example_document)})
        messages.append({"role": "assistant", "content": example_answer})
    messages.append({"role": "user", "content": user_message(document)})
    return messages


def template_hash(reference: str, schema: Mapping[str, Any]) -> str:
    """Short sha256 over everything in the prompt that is not the item."""
    digest = hashlib.sha256()
    for part in (SYSTEM_TEMPLATE, USER_TEMPLATE, reference, json.dumps(schema, sort_keys=True)):
        digest.update(part.encode("utf-8"))
        digest.update(b"\x00")
    return digest.hexdigest()[:12]
