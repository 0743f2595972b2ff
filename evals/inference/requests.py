"""The generation requests of a task's items: messages (with few-shot examples) and the output schema from the
task, sampling settings from the model config. Shared by the runner and Bedrock batch inference, so a batch job
asks exactly what an online run would."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from evals.providers.base import GenerationRequest
from tasks.base import Item, Task


def build_requests(
    task: Task, items: Sequence[Item], model_cfg: Mapping[str, Any], seed: int
) -> list[GenerationRequest]:
    few_shot = int(model_cfg.get("few_shot") or 0)
    examples = task.few_shot_examples(few_shot, seed) if few_shot else []
    schema = task.output_schema()
    return [
        GenerationRequest(
            item_id=str(item["id"]),
            messages=tuple(task.messages(item, examples)),
            schema=schema,
            max_tokens=int(model_cfg.get("max_tokens") or 512),
            temperature=float(model_cfg.get("temperature") or 0.0),
            top_p=model_cfg.get("top_p"),
            seed=model_cfg.get("seed", seed),
            context=dict(item),
        )
        for item in items
    ]
