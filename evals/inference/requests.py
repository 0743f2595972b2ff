"""The generation requests of a task's items: messages (with few-shot examples) and the output schema from the
task, sampling settings from the typed model config. Shared by the runner and Bedrock batch inference, so a batch job
asks exactly what an online run would."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from evals.inference.model_config import ModelConfig
from evals.providers.base import GenerationRequest
from tasks.base import Item, Task


def build_requests(
    task: Task, items: Sequence[Item], model_cfg: ModelConfig | Mapping[str, Any], seed: int
) -> list[GenerationRequest]:
    model = ModelConfig.of(model_cfg)
    examples = task.few_shot_examples(model.few_shot, seed) if model.few_shot else []
    schema = task.output_schema()
    return [
        GenerationRequest(
            item_id=str(item["id"]),
            messages=tuple(task.messages(item, examples)),
            schema=schema,
            max_tokens=model.max_tokens,
            temperature=model.temperature,
            top_p=model.top_p,
            seed=model.request_seed(seed),
            context=dict(item),
        )
        for item in items
    ]
