"""The reward of one sample, from the metric values the scorer produced and (when the config has judge
components) the judge's criterion scores. Pure: evaluation (`rft-evals run`) and the Lambda call this same
function on the same inputs, so the same judge replies give bit-identical rewards.

Order: no values (the sample could not be scored) -> neutral; deterministic components; gates (a failed gate
sets the reward and the judge is never called); judge components (a judge error -> neutral); weighted mean or
formula in [0, 1], mapped linearly onto the configured range."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from metrics.errors import ClassifiedError, ErrorKind
from metrics.reward.components import MissingValueError, compute_component
from metrics.reward.config import RewardConfig
from metrics.reward.formula import FormulaEvaluationError

ErrorLike = ClassifiedError | Mapping[str, Any]


@dataclass(frozen=True)
class Component:
    name: str
    value: float
    type: str  # "Reward" | "Metric"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value, "type": self.type}


@dataclass(frozen=True)
class RewardResult:
    score: float
    components: tuple[Component, ...] = ()
    error: ClassifiedError | None = None
    gate: str | None = None  # the component whose gate failed
    neutral: bool = False  # True when the score is the neutral value because of an error

    def to_dict(self) -> dict[str, Any]:
        return {"score": self.score, "components": [c.to_dict() for c in self.components],
                "error": self.error.to_dict() if self.error else None, "gate": self.gate, "neutral": self.neutral}


def as_error(error: ErrorLike) -> ClassifiedError:
    """A ClassifiedError from a record's error dict (records store errors as dicts)."""
    if isinstance(error, ClassifiedError):
        return error
    kind = error.get("kind", ErrorKind.INPUT)
    try:
        kind = ErrorKind(kind)
    except ValueError:
        kind = ErrorKind.INPUT
    return ClassifiedError(kind, str(error.get("message", "")), str(error.get("stage", "")))


def _neutral(config: RewardConfig, error: ClassifiedError, components: Sequence[Component] = ()) -> RewardResult:
    return RewardResult(config.neutral, tuple(components), error, neutral=True)


def _deterministic(values: Mapping[str, float], config: RewardConfig) -> dict[str, float]:
    return {c.name: compute_component(c.metric, values, c.empty, c.costs, c.budget)
            for c in config.deterministic_components if c.metric is not None}


def _failed_gate(computed: Mapping[str, float], config: RewardConfig):
    return next((g for g in config.gates if computed[g.component] < g.min), None)


def needs_judge(values: Mapping[str, float], errors: Sequence[ErrorLike], config: RewardConfig) -> bool:
    """True when the reward will read judge scores: the config has judge components, the sample has values,
    and no gate fails. Call it before spending a judge call."""
    if not config.criteria or not values:
        return False
    try:
        computed = _deterministic(values, config)
    except MissingValueError:
        return False
    return _failed_gate(computed, config) is None


def _report(config: RewardConfig, computed: Mapping[str, float]) -> list[Component]:
    by_name = {c.name: c for c in config.components}
    return [Component(name, value, by_name[name].report) for name, value in computed.items()]


def _combine(computed: Mapping[str, float], config: RewardConfig) -> float:
    if config.formula is not None:
        unit = config.formula(computed)
    else:
        total = sum(c.weight for c in config.components)
        unit = sum(c.weight * computed[c.name] for c in config.components if c.weight > 0) / total
    unit = min(1.0, max(0.0, unit))
    return config.low + (config.high - config.low) * unit


def compute_reward(
    values: Mapping[str, float],
    errors: Sequence[ErrorLike],
    judge_scores: Mapping[str, float] | None,
    judge_error: ClassifiedError | None,
    config: RewardConfig,
) -> RewardResult:
    if not values:
        first = as_error(errors[0]) if errors else ClassifiedError(ErrorKind.INPUT, "no metric values", "reward")
        return _neutral(config, first)
    try:
        computed = _deterministic(values, config)
    except MissingValueError as exc:
        return _neutral(config, ClassifiedError(ErrorKind.INPUT, str(exc), "reward"))
    gate = _failed_gate(computed, config)
    if gate is not None:
        return RewardResult(config.gate_score(gate), tuple(_report(config, computed)), gate=gate.component)
    if config.criteria:
        if judge_error is not None:
            return _neutral(config, judge_error, _report(config, computed))
        if judge_scores is None:
            return _neutral(config, ClassifiedError(ErrorKind.JUDGE, "no judge scores were supplied", "reward"),
                            _report(config, computed))
        missing = [c for c in config.criteria if c not in judge_scores]
        if missing:
            return _neutral(config, ClassifiedError(ErrorKind.JUDGE, f"the judge gave no score for {missing}",
                                                    "reward"), _report(config, computed))
        for spec in config.judge_components:
            computed[spec.name] = min(1.0, max(0.0, float(judge_scores[spec.criterion])))
    try:
        score = _combine(computed, config)
    except FormulaEvaluationError as exc:
        return _neutral(config, ClassifiedError(ErrorKind.INPUT, str(exc), "reward"), _report(config, computed))
    return RewardResult(score, tuple(_report(config, computed)))
