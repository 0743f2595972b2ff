"""A benchmark and test provider that answers at once, in process: with the item's gold answer rendered by
the task (`answer: gold`, needs `task.render_gold(item)`), or with one fixed text (`answer: fixed`, `text:`).

It measures what the harness itself costs per item (prompting, cache keys, scoring, records, statistics) with
no model in the way; scripts/bench_scale.py runs 100,000 items through it. Not a baseline: its gold answers
score perfectly by construction."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from evals.providers.base import Generation, GenerationRequest, ProviderError, Usage
from metrics.errors import ErrorKind
from tasks.capabilities import RendersGold

ANSWERS = ("gold", "fixed")


class InstantProvider:
    def __init__(self, name: str, answer: Callable[[Mapping[str, Any]], str], mode: str, fingerprint: str,
                 *, model_id: str = "instant", max_concurrency: int = 1):
        self.name = name
        self.answer = answer
        self.mode = mode
        self.fingerprint = fingerprint
        self.model_id = model_id
        self.max_concurrency = max_concurrency

    def identity(self) -> Mapping[str, Any]:
        return {"provider": "instant", "model_id": self.model_id, "answer": self.mode,
                "fingerprint": self.fingerprint}

    def generate(self, request: GenerationRequest) -> Generation:
        try:
            text = self.answer(request.context)
        except (KeyError, TypeError, ValueError, IndexError) as exc:  # one bad item must not sink the batch
            raise ProviderError(ErrorKind.INPUT, f"item {request.item_id}: no instant answer ({exc!r})") from exc
        return Generation(text=text, stop_reason="end_turn", usage=Usage(), model_id=self.model_id)


def build(config: Mapping[str, Any], context: Any) -> InstantProvider:
    source = config.get("_source", "the instant model config")
    mode = str(config.get("answer") or "gold")
    if mode not in ANSWERS:
        raise ValueError(f"{source}: answer must be one of {list(ANSWERS)}, got {mode!r}")
    task = getattr(context, "task", None)
    if mode == "gold":
        if not isinstance(task, RendersGold):
            raise ValueError(f"{source}: task {getattr(task, 'name', task)!r} has no render_gold(item) "
                             "(tasks.capabilities.RendersGold); use answer: fixed with a text")
        answer: Callable[[Mapping[str, Any]], str] = task.render_gold
        fingerprint = str(task.prompt_template_hash())  # type: ignore[attr-defined] - every task has it
    else:
        text = config.get("text")
        if not isinstance(text, str):
            raise ValueError(f"{source}: answer: fixed needs a `text` string, got {text!r}")
        answer = lambda _item: text  # noqa: E731 - the whole answer
        fingerprint = text
    return InstantProvider(name=str(config.get("name") or "instant"), answer=answer, mode=mode,
                           fingerprint=fingerprint, model_id=str(config.get("model_id") or "instant"),
                           max_concurrency=int(config.get("max_concurrency") or 1))
