"""The reward as a TRL reward function: `GRPOTrainer(reward_funcs=[make_trl_reward("reward_bundle.json")])`.

The function scores each completion with the bundle's scorer and compute_reward, through the reward Lambda's
own batch code (metrics/reward/batch.score_event): the same answer and reference give the same float in
TRL, in the Lambda and in evaluation. No torch / trl import: it takes and returns plain Python values.

TRL calls it as `f(prompts=..., completions=..., completion_ids=..., **columns)`: every other dataset column
arrives as a list, one value per completion, plus `trainer_state`, `log_extra` and `log_metric`.
- completions: text, or conversational (a list of messages; the last assistant message is scored);
- the reference: the column `reference_column` (a JSON string, as `rft-evals export-rft format=trl` writes
  it, or an object), read by metrics/reward/reference.py like every runtime;
- returns one float per completion, or None where the reward does not apply: the row's reference is null,
  or a `task` column names another task than the bundle's;
- errors (unparsable reference, scorer or judge failure) get the reward's neutral value, as in the Lambda;
- `log_metric("<reward>/<component>", mean)` gets each component's batch mean (over the rows that computed
  it) and `<reward>/neutral` the share of neutral rewards; `log_extra("<reward>/<component>", values)` gets
  each component per completion (None where not computed) for TRL's completions table."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from metrics.reward.batch import score_event
from metrics.reward.bundle import RewardBundle
from metrics.reward.compute import RewardResult
from metrics.reward.judge import JudgeClient
from metrics.reward.reference import REFERENCE_KEY

TASK_COLUMN = "task"  # an optional dataset column: rows of other tasks get None from this function

RewardFunc = Callable[..., list[float | None]]
_built: dict[int, tuple[RewardBundle, JudgeClient | None]] = {}


def load_bundle(bundle: RewardBundle | str | os.PathLike[str]) -> tuple[RewardBundle, JudgeClient | None]:
    """The bundle and its judge client (None without judge components); a path is read once per process."""
    from metrics.reward.lambda_handler import build_judge, load_state

    if isinstance(bundle, RewardBundle):
        if id(bundle) not in _built:  # the bundle is kept in the entry, so its id stays its own
            _built[id(bundle)] = (bundle, build_judge(bundle))
        return _built[id(bundle)]
    return load_state(os.fspath(bundle))


def completion_messages(completion: Any) -> list[Mapping[str, Any]]:
    """A completion as chat messages: conversational completions are already a list of messages."""
    if isinstance(completion, list):
        return completion
    return [{"role": "assistant", "content": completion}]


def components_of(result: RewardResult) -> dict[str, float]:
    return {c.name: c.value for c in result.components}


def _log(result_rows: Sequence[RewardResult | None], names: Sequence[str], prefix: str, log_metric: Any,
         log_extra: Any) -> None:
    scored = [r for r in result_rows if r is not None]
    if callable(log_metric) and scored:
        for name in names:
            values = [v for r in scored if (v := components_of(r).get(name)) is not None]
            if values:
                log_metric(f"{prefix}/{name}", sum(values) / len(values))
        log_metric(f"{prefix}/neutral", sum(r.neutral for r in scored) / len(scored))
    if callable(log_extra):
        for name in names:
            log_extra(f"{prefix}/{name}", [None if r is None else components_of(r).get(name) for r in result_rows])
        log_extra(f"{prefix}/neutral", [None if r is None else float(r.neutral) for r in result_rows])


def make_trl_reward(bundle: RewardBundle | str | os.PathLike[str], *,
                    reference_column: str = REFERENCE_KEY) -> RewardFunc:
    loaded, judge = load_bundle(bundle)
    names = [c.name for c in loaded.reward.components]

    def reward(prompts: Sequence[Any], completions: Sequence[Any], completion_ids: Any = None,
               **kwargs: Any) -> list[float | None]:
        references = kwargs.get(reference_column)
        if references is None:
            raise ValueError(f"the TRL reward of task {loaded.task!r} reads the dataset column {reference_column!r}, "
                             f"which the trainer did not pass (columns: {sorted(kwargs)}); add it to the dataset "
                             "(rft-evals export-rft format=trl writes it) or pass reference_column=")
        tasks = kwargs.get(TASK_COLUMN)
        event, rows = [], []
        for i, completion in enumerate(completions):
            if references[i] is None or (tasks is not None and tasks[i] not in (None, loaded.task)):
                continue  # the reward does not apply to this row
            event.append({"id": str(i), "messages": completion_messages(completion), REFERENCE_KEY: references[i]})
            rows.append(i)
        results: list[RewardResult | None] = [None] * len(completions)
        if event:
            report = score_event(event, loaded, judge)
            for i, result in zip(rows, report.rewards, strict=True):
                results[i] = result
        _log(results, names, loaded.reward.name, kwargs.get("log_metric"), kwargs.get("log_extra"))
        return [None if r is None else r.score for r in results]

    reward.__name__ = loaded.reward.name  # TRL logs rewards/<__name__>/mean
    reward.__qualname__ = loaded.reward.name
    return reward
