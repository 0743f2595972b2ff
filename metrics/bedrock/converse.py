"""The one Converse request builder and reply reader, for the engine's provider, batch inference (whose
records are these requests without modelId) and the reward judge: the same messages give the same body.

Every value is built with its wire type (int maxTokens, float temperature and topP) because the engine's
client switches botocore's parameter validation off, and because the reward judge and the engine's judge
must send identical bytes for identical requests.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

ASSISTANT_ROLES = ("assistant", "nova_assistant")  # nova_assistant: the RFT dataset's name for the model turn


class ConverseInputError(ValueError):
    """A message cannot be sent (no string role or content): a fault of that one request."""


class MalformedReply(ValueError):
    """A reply without an output message or a stop reason (botocore's reading of a body that is not JSON)."""


def _checked(messages: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    out = list(messages)
    for message in out:
        if not isinstance(message.get("content"), str) or not isinstance(message.get("role"), str):
            raise ConverseInputError(f"every message needs a string role and content, got {sorted(message)} "
                                     f"with content {type(message.get('content')).__name__}")
    return out


def converse_request(model_id: str, messages: Iterable[Mapping[str, Any]], *, max_tokens: int,
                     temperature: float | None = None, top_p: float | None = None, stop: Sequence[str] = (),
                     schema: Mapping[str, Any] | None = None,
                     additional_fields: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Converse keyword arguments. System turns go to `system` (empty ones dropped: Bedrock rejects a blank
    text block); every other turn is a user or an assistant message. `schema` asks for native structured
    output (outputConfig.textFormat); leave it None when the prompt carries the schema."""
    checked = _checked(messages)
    system = [{"text": m["content"]} for m in checked if m["role"] == "system" and m["content"]]
    turns = [{"role": "assistant" if m["role"] in ASSISTANT_ROLES else "user", "content": [{"text": m["content"]}]}
             for m in checked if m["role"] != "system"]
    inference: dict[str, Any] = {"maxTokens": int(max_tokens)}
    if temperature is not None:
        inference["temperature"] = float(temperature)
    if top_p is not None:
        inference["topP"] = float(top_p)
    if stop:
        inference["stopSequences"] = list(stop)
    # Key order is the body's byte order (botocore serialises the arguments as given).
    kwargs: dict[str, Any] = {"modelId": model_id, "messages": turns, "inferenceConfig": inference}
    if system:
        kwargs["system"] = system
    if schema is not None:
        kwargs["outputConfig"] = {"textFormat": {
            "type": "json_schema",
            "structure": {"jsonSchema": {"schema": json.dumps(schema), "name": "output"}},
        }}
    if additional_fields:
        kwargs["additionalModelRequestFields"] = dict(additional_fields)
    return kwargs


@dataclass(frozen=True)
class ConverseReply:
    text: str
    stop_reason: str
    input_tokens: int
    output_tokens: int
    latency_ms: float | None  # Bedrock's own figure, when it sent one


def read_reply(response: Mapping[str, Any]) -> ConverseReply:
    """The text blocks of a Converse reply joined (GPT OSS sends a reasoningContent block first: skipped),
    its stop reason, usage and latency; MalformedReply when it has no output message or stop reason."""
    message = (response.get("output") or {}).get("message")
    if not isinstance(message, Mapping) or "stopReason" not in response:
        keys = sorted(k for k in response if k != "ResponseMetadata")
        raise MalformedReply(f"malformed Converse response (no output message); keys: {keys}")
    text = "".join(block["text"] for block in message.get("content", []) if "text" in block)
    usage = response.get("usage") or {}
    latency = (response.get("metrics") or {}).get("latencyMs")
    return ConverseReply(text, str(response["stopReason"]), int(usage.get("inputTokens", 0)),
                         int(usage.get("outputTokens", 0)), float(latency) if latency is not None else None)
