"""The reward config (conf/reward/*.yaml, or the JSON the Lambda build writes): which components make the
reward, the gates that cut it short, the weights or a formula, the output range, the neutral value on error,
and how each component is reported (Reward or Metric). Validated once at load time; every error names the
config file and the key. Standard library only: the Lambda reads the resolved JSON, never YAML."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from metrics.reward.components import COST_CREDIT, DETERMINISTIC
from metrics.reward.formula import Formula, FormulaError, compile_formula

REPORT_TYPES = ("Reward", "Metric")
_TOP_KEYS = {"name", "description", "range", "neutral", "components", "formula", "gates", "judge", "lambda",
             "audit"}
_COMPONENT_KEYS = {"metric", "judge", "weight", "report", "empty", "description", "costs", "budget"}
_AUDIT_KEYS = {"min_kendall", "quality_floor", "min_margin", "min_baseline_margin", "paired_confidence"}


class RewardConfigError(ValueError):
    """The reward config is invalid; the message names the file, the key and the fix."""


@dataclass(frozen=True)
class ComponentSpec:
    name: str
    metric: str | None = None  # a deterministic component (metrics.reward.components.DETERMINISTIC)
    criterion: str | None = None  # a judge criterion, scored in [0, 1] by the judge
    weight: float = 0.0
    report: str = "Metric"
    empty: float | None = None  # overrides the deterministic component's vacuous value
    costs: Mapping[str, float] | None = None  # cost_credit only: value name -> cost per unit
    budget: float | None = None  # cost_credit only: the cost at which the credit reaches 0

    @property
    def is_judge(self) -> bool:
        return self.criterion is not None


@dataclass(frozen=True)
class AuditThresholds:
    """What `rft-evals reward audit` demands of the reward (the `audit:` key; docs/reward_design.md).
    Across answer policies: Kendall tau between mean reward and the headline production metric over the
    honest policies and baselines; every degenerate policy earns less than every honest policy whose metric
    is at least `quality_floor` (by `min_margin`) and less than the best baseline (by `min_baseline_margin`).
    With `paired_confidence` > 0 the margins must hold on the lower confidence bound of each paired per-item
    difference (honest or baseline minus degenerate, on the same items), not only on the means."""

    min_kendall: float = 0.9
    quality_floor: float = 0.25
    min_margin: float = 0.0
    min_baseline_margin: float = 0.0
    paired_confidence: float = 0.95


@dataclass(frozen=True)
class Gate:
    component: str
    min: float = 1.0  # the component must reach this value, else the gate fails
    score: str | float = "min"  # what the reward becomes: "min" of the range, "neutral", or a number


@dataclass(frozen=True)
class RewardConfig:
    name: str
    source: str  # where it was read from, for messages
    components: tuple[ComponentSpec, ...]
    low: float = 0.0
    high: float = 1.0
    neutral: float = 0.5
    formula: Formula | None = None
    gates: tuple[Gate, ...] = ()
    judge: Mapping[str, Any] = field(default_factory=dict)  # judge settings, read by the judge client
    audit: AuditThresholds = field(default_factory=AuditThresholds)
    lambda_settings: Mapping[str, Any] = field(default_factory=dict)
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)  # the mapping it was built from

    @property
    def judge_components(self) -> tuple[ComponentSpec, ...]:
        return tuple(c for c in self.components if c.is_judge)

    @property
    def deterministic_components(self) -> tuple[ComponentSpec, ...]:
        return tuple(c for c in self.components if not c.is_judge)

    @property
    def criteria(self) -> tuple[str, ...]:
        """The judge criteria the reward needs, in config order, each once."""
        return tuple(dict.fromkeys(c.criterion for c in self.judge_components if c.criterion))

    def gate_score(self, gate: Gate) -> float:
        if gate.score == "min":
            return self.low
        if gate.score == "neutral":
            return self.neutral
        return float(gate.score)

    def to_dict(self) -> dict[str, Any]:
        return json.loads(json.dumps(self.raw))

    @classmethod
    def from_mapping(cls, data: Any, source: str = "<reward config>") -> RewardConfig:
        return _parse(data, source)


def load_reward_config_json(path: Path | str) -> RewardConfig:
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RewardConfigError(f"reward config {path} does not exist") from None
    except json.JSONDecodeError as exc:
        raise RewardConfigError(f"reward config {path} is not valid JSON: {exc}") from None
    return RewardConfig.from_mapping(data, str(path))


# --- parsing ---------------------------------------------------------------------------------------


def _error(source: str, key: str, message: str) -> RewardConfigError:
    return RewardConfigError(f"{source}: key {key}: {message}")


def _number(value: Any, source: str, key: str) -> float:
    try:
        number = float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else math.nan
    except OverflowError:  # an integer beyond float range
        number = math.nan
    if not math.isfinite(number):
        raise _error(source, key, f"must be a finite number, got {value!r}")
    return number


def _names(keys: Any) -> list[str]:
    """Keys for a message, sortable whatever their types (YAML allows integer keys)."""
    return sorted(str(k) for k in keys)


def _component(name: str, data: Any, source: str, has_formula: bool) -> ComponentSpec:
    key = f"components.{name}"
    if not isinstance(data, Mapping):
        raise _error(source, key, "must be a mapping with `metric:` or `judge:`")
    unknown = set(data) - _COMPONENT_KEYS
    if unknown:
        raise _error(source, key, f"unknown keys {_names(unknown)}; use {sorted(_COMPONENT_KEYS)}")
    metric, criterion = data.get("metric"), data.get("judge")
    if (metric is None) == (criterion is None):
        raise _error(source, key, "set exactly one of `metric:` (a deterministic check) or `judge:` (a criterion)")
    if metric is not None and (not isinstance(metric, str) or metric not in (*DETERMINISTIC, COST_CREDIT)):
        raise _error(source, f"{key}.metric",
                     f"unknown metric {metric!r}; known: {sorted((*DETERMINISTIC, COST_CREDIT))}")
    if criterion is not None and (not isinstance(criterion, str) or not criterion):
        raise _error(source, f"{key}.judge", "must be the name of a judge criterion")
    if has_formula and "weight" in data:
        raise _error(source, f"{key}.weight", "weights and `formula` exclude each other; drop one")
    weight = _number(data.get("weight", 0.0 if has_formula else 1.0), source, f"{key}.weight")
    if weight < 0:
        raise _error(source, f"{key}.weight", f"must be >= 0, got {weight}")
    report = data.get("report")
    if report is not None and report not in REPORT_TYPES:
        raise _error(source, f"{key}.report", f"must be one of {REPORT_TYPES}, got {report!r}")
    empty = data.get("empty")
    if empty is not None:
        empty = _number(empty, source, f"{key}.empty")
        if not 0.0 <= empty <= 1.0:
            raise _error(source, f"{key}.empty", f"must be in [0, 1], got {empty}")
    costs, budget = _costs(data, metric, source, key)
    return ComponentSpec(name, metric, criterion, weight, report or "", empty, costs, budget)


def _costs(data: Mapping[str, Any], metric: Any, source: str, key: str) -> tuple[dict[str, float] | None,
                                                                                  float | None]:
    """`costs` and `budget`: required by cost_credit, refused elsewhere."""
    if metric != COST_CREDIT:
        extra = [k for k in ("costs", "budget") if k in data]
        if extra:
            raise _error(source, f"{key}.{extra[0]}", f"only the `{COST_CREDIT}` metric takes costs and budget")
        return None, None
    raw = data.get("costs")
    if not isinstance(raw, Mapping) or not raw:
        raise _error(source, f"{key}.costs", "must be a non-empty mapping of scorer value name -> cost per unit, "
                     "e.g. {risk_fn: 1.0, risk_fp: 0.35}")
    costs = {}
    for name, cost in raw.items():
        costs[str(name)] = _number(cost, source, f"{key}.costs.{name}")
        if costs[str(name)] < 0:
            raise _error(source, f"{key}.costs.{name}", f"must be >= 0, got {cost}")
    budget = _number(data.get("budget"), source, f"{key}.budget")
    if budget <= 0:
        raise _error(source, f"{key}.budget", f"must be > 0 (the cost at which the credit reaches 0), got {budget}")
    return costs, budget


def _audit(data: Any, source: str) -> AuditThresholds:
    if data is None:
        return AuditThresholds()
    if not isinstance(data, Mapping):
        raise _error(source, "audit", f"must be a mapping with keys {sorted(_AUDIT_KEYS)}")
    unknown = set(data) - _AUDIT_KEYS
    if unknown:
        raise _error(source, "audit", f"unknown keys {_names(unknown)}; use {sorted(_AUDIT_KEYS)}")
    values = {k: _number(v, source, f"audit.{k}") for k, v in data.items()}
    for k in ("min_kendall", "quality_floor"):
        if k in values and not -1.0 <= values[k] <= 1.0:
            raise _error(source, f"audit.{k}", f"must be in [-1, 1], got {values[k]}")
    if "paired_confidence" in values and not 0.0 <= values["paired_confidence"] < 1.0:
        raise _error(source, "audit.paired_confidence",
                     f"must be in [0, 1) (0 turns the paired check off), got {values['paired_confidence']}")
    return AuditThresholds(**values)


def _gate(i: int, data: Any, components: Mapping[str, ComponentSpec], source: str) -> Gate:
    key = f"gates[{i}]"
    if isinstance(data, str):
        data = {"component": data}
    if not isinstance(data, Mapping) or "component" not in data:
        raise _error(source, key, "must be a component name or {component, min, score}")
    unknown = set(data) - {"component", "min", "score"}
    if unknown:
        raise _error(source, key, f"unknown keys {_names(unknown)}; use component, min, score")
    name = data["component"]
    if not isinstance(name, str) or name not in components:
        raise _error(source, f"{key}.component", f"{name!r} is not a component; known: {sorted(components)}")
    if components[name].is_judge:
        raise _error(source, f"{key}.component", f"{name!r} is a judge criterion; gates run before the judge "
                     "and may only use deterministic components")
    score = data.get("score", "min")
    if score not in ("min", "neutral"):
        score = _number(score, source, f"{key}.score")
    return Gate(name, _number(data.get("min", 1.0), source, f"{key}.min"), score)


def _range(data: Any, source: str) -> tuple[float, float]:
    if not isinstance(data, (list, tuple)) or len(data) != 2:
        raise _error(source, "range", f"must be [low, high], e.g. [0, 1] or [-1, 1]; got {data!r}")
    low, high = (_number(v, source, "range") for v in data)
    if not low < high:
        raise _error(source, "range", f"low must be below high, got {data!r}")
    return low, high


def _parse(data: Any, source: str) -> RewardConfig:
    if not isinstance(data, Mapping):
        raise RewardConfigError(f"{source}: the reward config must be a mapping, got {type(data).__name__}")
    unknown = set(data) - _TOP_KEYS
    if unknown:
        raise _error(source, ", ".join(_names(unknown)), f"unknown; known keys are {sorted(_TOP_KEYS)}")
    low, high = _range(data.get("range", [0.0, 1.0]), source)
    neutral = _number(data.get("neutral", 0.5), source, "neutral")
    if not low <= neutral <= high:
        raise _error(source, "neutral", f"{neutral} is outside the range [{low}, {high}]")
    raw_components = data.get("components")
    if not isinstance(raw_components, Mapping) or not raw_components:
        raise _error(source, "components", "must be a non-empty mapping of name -> {metric: ...} or {judge: ...}")
    formula_text = data.get("formula")
    components = {str(n): _component(str(n), c, source, formula_text is not None)
                  for n, c in raw_components.items()}
    formula = None
    if formula_text is not None:
        try:
            formula = compile_formula(formula_text, components)
        except FormulaError as exc:
            raise _error(source, "formula", str(exc)) from None
    used = formula.names if formula else {n for n, c in components.items() if c.weight > 0}
    if not used:
        raise _error(source, "components", "no component counts towards the reward: give one a weight > 0 "
                     "or write a formula")
    # Components that make the reward are reported as Reward unless the config says otherwise.
    resolved = tuple(
        ComponentSpec(c.name, c.metric, c.criterion, c.weight, c.report or ("Reward" if c.name in used else "Metric"),
                      c.empty, c.costs, c.budget)
        for c in components.values()
    )
    for section in ("judge", "lambda"):
        if not isinstance(data.get(section) or {}, Mapping):
            raise _error(source, section, f"must be a mapping, got {type(data[section]).__name__}")
    raw_gates = data.get("gates") or []
    if not isinstance(raw_gates, list):
        raise _error(source, "gates", "must be a list of component names or {component, min, score}")
    gates = tuple(_gate(i, g, components, source) for i, g in enumerate(raw_gates))
    config = RewardConfig(
        name=str(data.get("name") or Path(source).stem), source=source, components=resolved, low=low, high=high,
        neutral=neutral, formula=formula, gates=gates, judge=dict(data.get("judge") or {}),
        audit=_audit(data.get("audit"), source),
        lambda_settings=dict(data.get("lambda") or {}), raw=json.loads(json.dumps(dict(data))),
    )
    for i, gate in enumerate(gates):
        if not low <= config.gate_score(gate) <= high:
            raise _error(source, f"gates[{i}].score", f"{config.gate_score(gate)} is outside [{low}, {high}]")
    if config.criteria:
        _check_judge(config, source)
    return config


def _check_judge(config: RewardConfig, source: str) -> None:
    """The `judge:` section is a judge config of one reward judge kind (metrics/reward/judge_kinds/: rubric,
    scale, preference; the format of conf/judge/*.yaml) that gives every score a component reads."""
    from metrics.reward.calibration import calibration_bar
    from metrics.reward.judge_kinds import kind_name, reward_judge

    if kind_name(config.judge) == "rubric" and not isinstance(config.judge.get("criteria"), list):
        raise _error(source, "judge.criteria", "judge components need their criteria defined here, as a list of "
                     "{name, question, passes, fails} (the format of conf/judge/*.yaml); missing for "
                     f"{list(config.criteria)}")
    try:
        judge = reward_judge(config.judge, source)
        calibration_bar(config.judge, source)
    except ValueError as exc:
        raise RewardConfigError(str(exc)) from None
    missing = [c for c in config.criteria if c not in judge.criteria]
    if missing:
        what = "criteria" if judge.kind == "rubric" else "scores"
        raise _error(source, "judge.criteria" if judge.kind == "rubric" else "components",
                     f"{what} {missing} are used by components but the {judge.kind} judge gives only "
                     f"{list(judge.criteria)}")
