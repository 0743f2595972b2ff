"""The majority-class floor: every request is answered with the task's `majority_answer(item)` (the most
common gold label, or a prior the task states), rendered as the task's JSON answer. A candidate that does not
beat it on macro-F1 has learned nothing about the minority classes, whatever its accuracy."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from evals.providers.base import Generation, GenerationRequest, ProviderError, Usage
from metrics.errors import ErrorKind
from tasks.capabilities import AnswersMajority, FingerprintsMajority

DEFAULT_SOURCE = "conf/model/majority_baseline.yaml"


class MajorityProvider:
    def __init__(self, name: str, answer: Callable[[Mapping[str, Any]], str], fingerprint: str, task_name: str,
                 *, model_id: str = "majority-class", max_concurrency: int = 4):
        self.name = name
        self.answer = answer
        self.fingerprint = fingerprint
        self.task_name = task_name
        self.model_id = model_id
        self.max_concurrency = max_concurrency

    def identity(self) -> Mapping[str, Any]:
        # The fingerprint changes when the answer would (another prior, other training labels), so a stale
        # cached answer is never replayed.
        return {"provider": "majority", "model_id": self.model_id, "task": self.task_name,
                "fingerprint": self.fingerprint}

    def generate(self, request: GenerationRequest) -> Generation:
        try:
            text = self.answer(request.context)
        except (KeyError, TypeError, ValueError) as exc:  # one bad item must not sink the batch
            raise ProviderError(ErrorKind.INPUT, f"item {request.item_id}: no majority answer ({exc})") from exc
        if not isinstance(text, str):
            raise ProviderError(ErrorKind.INPUT, f"item {request.item_id}: majority_answer returned "
                                                 f"{type(text).__name__}, not the answer text")
        return Generation(text=text, stop_reason="end_turn", usage=Usage(), model_id=self.model_id)


def build(config: Mapping[str, Any], context: Any) -> MajorityProvider:
    task = context.task
    source = config.get("_source", DEFAULT_SOURCE)
    if not isinstance(task, AnswersMajority):
        raise ValueError(f"{source}: task {getattr(task, 'name', task)!r} has no majority_answer(item) "
                         "(tasks.capabilities.AnswersMajority), so the "
                         f"majority baseline cannot answer it; use it with a classification task (unfair_tos, or "
                         f"a config task with a label) or drop it from the candidates (e.g. '~candidates.<name>')")
    # the prior, when the task can say what it is; else everything in the prompt
    fingerprint = str(task.majority_fingerprint() if isinstance(task, FingerprintsMajority)
                      else task.prompt_template_hash())  # type: ignore[attr-defined]
    return MajorityProvider(name=str(config.get("name") or "majority-class"), answer=task.majority_answer,
                            fingerprint=fingerprint,
                            task_name=str(getattr(task, "name", "?")),
                            model_id=str(config.get("model_id") or "majority-class"),
                            max_concurrency=int(config.get("max_concurrency") or 4))
