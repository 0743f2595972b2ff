"""The settings of one training stage (conf/train/<stage>.yaml, the keys `sft` and `rft` of conf/train.yaml) as typed,
checked values. Every error names the key and the fix."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, Self


class TrainConfigError(ValueError):
    """A bad training setting; the message names the key."""


def _from_mapping(cls: type, data: Mapping[str, Any] | None, where: str) -> Any:
    values = dict(data or {})
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise TrainConfigError(f"{where}: unknown keys {unknown}; known keys are {sorted(known)}")
    return cls(**values)


@dataclass(frozen=True)
class LoraSettings:
    r: int = 16
    alpha: int = 32
    dropout: float = 0.0
    target_modules: str | list[str] = "all-linear"


class _StageSettings:
    """What SFT and RFT settings share: `from_mapping` builds one from its config key (nested `lora` block
    included), rejects unknown keys and checks that the counts in POSITIVE are positive integers."""

    KEY: ClassVar[str]
    POSITIVE: ClassVar[tuple[str, ...]]

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None, where: str | None = None) -> Self:
        where = where or cls.KEY
        values = dict(data or {})
        lora = _from_mapping(LoraSettings, values.pop("lora", None), f"{where}.lora")
        settings = _from_mapping(cls, {**values, "lora": lora}, where)
        _check_positive(settings, where, cls.POSITIVE)
        settings._check(where)
        return settings

    def _check(self, where: str) -> None:
        """Stage-specific checks beyond positive counts."""


@dataclass(frozen=True)
class SftSettings(_StageSettings):
    KEY: ClassVar[str] = "sft"
    POSITIVE: ClassVar[tuple[str, ...]] = ("examples", "batch_size", "grad_accum", "max_length")

    examples: int = 80  # train windows used (seeded sample)
    risky_share: float | None = 0.5  # share of them with at least one risk; None = the data's own share
    epochs: float = 1.0
    batch_size: int = 2
    grad_accum: int = 2
    learning_rate: float = 2e-4
    max_length: int = 4096  # tokens per example; longer prompts are an error (they would lose the answer)
    dtype: str = "bfloat16"  # the dtype the model is trained in (bf16 trains ~1.7x faster on this CPU)
    lora: LoraSettings = field(default_factory=LoraSettings)
    logging_steps: int = 1


@dataclass(frozen=True)
class RftSettings(_StageSettings):
    KEY: ClassVar[str] = "rft"
    POSITIVE: ClassVar[tuple[str, ...]] = ("prompts", "steps", "num_generations", "prompts_per_step",
                                           "max_completion_length", "save_steps")

    prompts: int = 40  # train windows used as GRPO prompts
    risky_share: float | None = 0.75  # riskless windows mostly give every sampled answer the same reward
    # Windows whose gold answer is longer than this many tokens are not used as prompts: sampled answers to them
    # run past max_completion_length, are cut, fail the format gate and give the group no reward variance.
    max_gold_tokens: int | None = 144
    steps: int = 4
    num_generations: int = 4
    prompts_per_step: int = 1  # prompts per optimizer step (each sampled num_generations times)
    max_completion_length: int = 192
    temperature: float = 0.7
    learning_rate: float = 1e-4
    beta: float = 0.02  # KL penalty towards the SFT model (0 = none and no reference model)
    dtype: str = "float32"
    save_steps: int = 2  # a checkpoint every this many steps: the sweep evaluates each of them
    lora: LoraSettings = field(default_factory=LoraSettings)
    logging_steps: int = 1

    def _check(self, where: str) -> None:
        if self.num_generations < 2:
            raise TrainConfigError(f"{where}.num_generations: GRPO compares answers within a group; use >= 2")
        if self.max_gold_tokens is not None and (not isinstance(self.max_gold_tokens, int) or self.max_gold_tokens < 1):
            raise TrainConfigError(f"{where}.max_gold_tokens: must be a positive integer (a few dozen tokens below "
                                   f"max_completion_length) or null for no limit, got {self.max_gold_tokens!r}")


def _check_positive(settings: Any, where: str, names: tuple[str, ...]) -> None:
    for name in names:
        value = getattr(settings, name)
        if not isinstance(value, int) or value < 1:
            raise TrainConfigError(f"{where}.{name}: must be a positive integer, got {value!r}")
