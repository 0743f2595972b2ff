"""Chat messages for a comment review. The system message (the task's instructions + the Reference) is the same
for every item, so a local model reuses its prompt-prefix cache; the item only appears in the last user turn,
between delimiter lines. Each task writes its own system template; the user turn is shared.
Standard library only."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

DOC_BEGIN = "<<<TARGET_DOCUMENT"
DOC_END = "TARGET_DOCUMENT>>>"

USER_TEMPLATE = """Review this TargetDocument; quote excerpts only from it.

{begin}
{document}
{end}"""


def _limits(schema: Mapping[str, Any]) -> dict[str, int]:
    comments = schema["properties"]["comments"]
    fields = comments["items"]["properties"]
    return {"max_comments": comments["maxItems"], "max_excerpt": fields["text_excerpt"]["maxLength"],
            "max_rationale": fields["rationale"]["maxLength"]}


@dataclass(frozen=True)
class ReviewPrompt:
    """A system template with the fields {reference}, {schema}, {begin}, {end}, {max_comments}, {max_excerpt}
    and {max_rationale}, and the user template around the TargetDocument."""

    system_template: str
    user_template: str = USER_TEMPLATE

    def system_message(self, reference: str, schema: Mapping[str, Any]) -> str:
        return self.system_template.format(reference=reference, schema=json.dumps(schema, separators=(",", ":")),
                                           begin=DOC_BEGIN, end=DOC_END, **_limits(schema))

    def user_message(self, document: str) -> str:
        return self.user_template.format(document=document, begin=DOC_BEGIN, end=DOC_END)

    def build_messages(self, reference: str, schema: Mapping[str, Any], document: str,
                       examples: Sequence[tuple[str, str]] = ()) -> list[dict[str, str]]:
        """System (instructions + Reference), then each example as a user/assistant pair (document, ideal
        answer), then the TargetDocument."""
        messages = [{"role": "system", "content": self.system_message(reference, schema)}]
        for example_document, example_answer in examples:
            messages.append({"role": "user", "content": self.user_message(example_document)})
            messages.append({"role": "assistant", "content": example_answer})
        messages.append({"role": "user", "content": self.user_message(document)})
        return messages

    def template_hash(self, reference: str, schema: Mapping[str, Any]) -> str:
        """Short sha256 over everything in the prompt that is not the item (it keys caches: keep it stable)."""
        digest = hashlib.sha256()
        for part in (self.system_template, self.user_template, reference, json.dumps(schema, sort_keys=True)):
            digest.update(part.encode("utf-8"))
            digest.update(b"\x00")
        return digest.hexdigest()[:12]
