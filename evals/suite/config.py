"""A nightly suite (conf/suite/<name>.yaml) as a typed, checked value: which tasks run with which candidates,
how candidates map to the roles base / SFT / RFT, which pairs are compared, what agrees with what, what the
gate checks against which baseline. Every error names the suite file and the key."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

ROLES = ("base", "sft", "rft")
THRESHOLD_KINDS = ("absolute", "relative")
RUN_ID = re.compile(r"^[0-9a-f]{32}$")  # what MLflow run ids look like


class SuiteConfigError(ValueError):
    """A bad suite config; the message names conf/suite/<name>.yaml, the key and the fix."""


class BaselineKind(StrEnum):
    LATEST = "latest"  # the latest finished nightly of this suite whose gate did not fail
    PINNED = "pinned"  # one MLflow run id
    PATH = "path"  # a nightly (or plain run) folder on disk
    NONE = "none"  # no baseline: the gate has nothing to compare against and passes


@dataclass(frozen=True)
class BaselinePolicy:
    kind: BaselineKind
    value: str | None = None  # the run id or the path

    @classmethod
    def parse(cls, raw: Any, where: str) -> BaselinePolicy:
        if raw is None or str(raw).strip().lower() in ("none", "null", ""):
            return cls(BaselineKind.NONE)
        text = str(raw).strip()
        if text.lower() == "latest":
            return cls(BaselineKind.LATEST)
        if RUN_ID.match(text):
            return cls(BaselineKind.PINNED, text)
        if "/" in text or text.startswith("."):
            return cls(BaselineKind.PATH, text)
        raise SuiteConfigError(f"{where}: baseline {text!r} is not `latest`, `none`, a 32-hex MLflow run id or a "
                               "path to a nightly run folder (give a path with a '/', e.g. ./runs/...)")


@dataclass(frozen=True)
class TaskSpec:
    """One task of the suite; every field left unset takes the suite's value."""

    name: str  # a conf/task/<name>.yaml
    limit: int | None
    candidates: str  # a conf/candidates/<name>.yaml
    only: tuple[str, ...] | None  # a subset of that set's candidate names
    reward: str | None
    judge: str | None
    overrides: tuple[str, ...]  # more Hydra overrides for this task's run config
    # What differs per task (other metrics, other candidate sets); None / empty = the suite's.
    roles: dict[str, str] | None = None  # merged over the suite's roles
    agreement: AgreementSpec | None = None  # replaces the suite's agreement spec
    gate_metrics: dict[str, dict[str, float]] | None = None  # merged over the suite's gate.metrics


@dataclass(frozen=True)
class AgreementSpec:
    reward_metric: str = "reward"
    production: dict[str, float] = field(default_factory=dict)  # production metric -> its pass threshold
    reward_threshold: float = 0.5  # reward >= this counts as a reward pass
    top_k: int = 5  # disagreeing samples listed each way


@dataclass(frozen=True)
class GateSpec:
    alpha: float = 0.05
    candidates: tuple[str, ...] | None = None  # roles or candidate names; None = every candidate in both runs
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)  # metric -> {absolute|relative: x}
    # agreement statistic (spearman, kendall, kappa, auroc) -> threshold, checked per production metric
    agreement: dict[str, dict[str, float]] = field(default_factory=dict)


@dataclass(frozen=True)
class SuiteConfig:
    name: str
    source: str  # conf/suite/<name>.yaml, for messages
    description: str
    tasks: tuple[TaskSpec, ...]
    roles: dict[str, str]  # role -> candidate name
    pairs: tuple[tuple[str, str], ...]  # (a, b): a - b; roles or candidate names
    seed: int
    bootstrap_resamples: int
    pairwise_judge: str | None
    agreement: AgreementSpec
    gate: GateSpec
    baseline: BaselinePolicy
    # Why the roles are not real base / SFT / RFT models (a local suite has no fine-tuned model); the report
    # shows it as a banner above the verdict. None: the roles are the real thing.
    stand_ins: str | None = None
    # The checkpoint sweep (sweep.json of `rft-evals sweep`) to show in the report beside the verdict, for a
    # suite whose candidates are trained checkpoints. None: no sweep section.
    sweep: str | None = None

    @classmethod
    def from_mapping(cls, cfg: Mapping[str, Any], source: str | None = None) -> SuiteConfig:
        name = str(cfg.get("name") or "?")
        where = source or f"conf/suite/{name}.yaml"
        _no_unknown(cfg, SUITE_KEYS, where, "")
        candidates = _required_str(cfg, "candidates", where)
        defaults = {"limit": _limit(cfg.get("limit"), where, "limit"), "candidates": candidates,
                    "only": _names(cfg.get("only"), where, "only"), "reward": _opt_str(cfg.get("reward")),
                    "judge": _opt_str(cfg.get("judge"))}
        overrides = _strings(cfg.get("overrides"), where, "overrides")
        tasks = _tasks(cfg.get("tasks"), defaults, overrides, where)
        return cls(
            name=name, source=where, description=str(cfg.get("description") or ""), tasks=tasks,
            roles=_roles(cfg.get("roles"), where), pairs=_pairs(cfg.get("pairs"), where),
            seed=_int(cfg.get("seed", 0), where, "seed"),
            bootstrap_resamples=_int(cfg.get("bootstrap_resamples", 1000), where, "bootstrap_resamples", low=1),
            pairwise_judge=_opt_str(cfg.get("pairwise_judge")),
            agreement=_agreement(cfg.get("agreement") or {}, where),
            gate=_gate(cfg.get("gate") or {}, where),
            baseline=BaselinePolicy.parse(cfg.get("baseline", "latest"), where),
            stand_ins=_opt_str(cfg.get("stand_ins")),
            sweep=_opt_str(cfg.get("sweep")),
        )

    def task(self, name: str) -> TaskSpec:
        return next(spec for spec in self.tasks if spec.name == name)

    def for_task(self, name: str) -> SuiteConfig:
        """The suite as one task sees it: its roles, agreement spec and gate thresholds merged in."""
        spec = next((t for t in self.tasks if t.name == name), None)
        if spec is None:
            return self
        gate = replace(self.gate, metrics={**self.gate.metrics, **(spec.gate_metrics or {})})
        return replace(self, roles={**self.roles, **(spec.roles or {})}, agreement=spec.agreement or self.agreement,
                       gate=gate)

    def resolve(self, who: str) -> str:
        """A role name -> the candidate that plays it; a candidate name stays as it is."""
        return self.roles.get(who, who)

    def role_of(self, candidate: str) -> str | None:
        return next((role for role, name in self.roles.items() if name == candidate), None)

    def gated(self, candidate: str) -> bool:
        if self.gate.candidates is None:
            return True
        return candidate in {self.resolve(c) for c in self.gate.candidates}


SUITE_KEYS = {"name", "description", "candidates", "only", "limit", "seed", "reward", "judge", "pairwise_judge",
              "overrides", "tasks", "roles", "pairs", "agreement", "gate", "baseline", "bootstrap_resamples",
              "stand_ins", "sweep"}
TASK_KEYS = {"limit", "candidates", "only", "reward", "judge", "overrides", "roles", "agreement", "gate"}


# --- field parsers: each names the file and key it complains about ---------------------------------


def _no_unknown(cfg: Mapping[str, Any], known: set[str], where: str, prefix: str) -> None:
    unknown = sorted(set(cfg) - known)
    if unknown:
        raise SuiteConfigError(f"{where}: unknown key(s) {[prefix + k for k in unknown]}; known keys are "
                               f"{sorted(prefix + k for k in known)}")


def _required_str(cfg: Mapping[str, Any], key: str, where: str) -> str:
    value = cfg.get(key)
    if not value or not isinstance(value, str):
        raise SuiteConfigError(f"{where}: `{key}` must name a config (e.g. candidates: local); got {value!r}")
    return value


def _opt_str(value: Any) -> str | None:
    return None if value in (None, "", "none", "null") else str(value)


def _int(value: Any, where: str, key: str, low: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise SuiteConfigError(f"{where}: `{key}` must be an integer >= {low}; got {value!r}")
    return value


def _number(value: Any, where: str, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(float(value)):
        raise SuiteConfigError(f"{where}: `{key}` must be a number; got {value!r}")
    return float(value)


def _limit(value: Any, where: str, key: str) -> int | None:
    return None if value is None else _int(value, where, key, low=1)


def _strings(value: Any, where: str, key: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str) or not isinstance(value, Sequence) or not all(isinstance(v, str) for v in value):
        raise SuiteConfigError(f"{where}: `{key}` must be a list of strings; got {value!r}")
    return tuple(value)


def _names(value: Any, where: str, key: str) -> tuple[str, ...] | None:
    return None if value is None else _strings(value, where, key)


def _tasks(raw: Any, defaults: Mapping[str, Any], overrides: tuple[str, ...], where: str) -> tuple[TaskSpec, ...]:
    """`tasks:` as a mapping {task: {overrides}} or a list of names / {name: ..., ...} entries."""
    entries: list[tuple[str, Mapping[str, Any]]] = []
    if isinstance(raw, Mapping):
        entries = [(str(k), v or {}) for k, v in raw.items()]
    elif isinstance(raw, Sequence) and not isinstance(raw, str):
        for entry in raw:
            if isinstance(entry, str):
                entries.append((entry, {}))
            elif isinstance(entry, Mapping) and entry.get("name"):
                entries.append((str(entry["name"]), {k: v for k, v in entry.items() if k != "name"}))
            else:
                raise SuiteConfigError(f"{where}: each entry of `tasks` is a task name or a mapping with `name`; "
                                       f"got {entry!r}")
    if not entries:
        raise SuiteConfigError(f"{where}: `tasks` is empty; list at least one conf/task name, "
                               "e.g. tasks: {contract_review: {}}")
    specs = []
    for name, entry in entries:
        key = f"tasks.{name}"
        if not isinstance(entry, Mapping):
            raise SuiteConfigError(f"{where}: `{key}` must be a mapping of overrides ({sorted(TASK_KEYS)})")
        _no_unknown(entry, TASK_KEYS, where, key + ".")
        merged = {**defaults, **entry}
        specs.append(TaskSpec(
            name=name, limit=_limit(merged.get("limit"), where, f"{key}.limit"),
            candidates=str(merged["candidates"]), only=_names(merged.get("only"), where, f"{key}.only"),
            reward=_opt_str(merged.get("reward")), judge=_opt_str(merged.get("judge")),
            overrides=overrides + _strings(entry.get("overrides"), where, f"{key}.overrides"),
            roles=_roles(entry["roles"], where) if entry.get("roles") else None,
            agreement=_agreement(entry["agreement"], where) if entry.get("agreement") else None,
            gate_metrics=_thresholds(entry.get("gate"), where, f"{key}.gate") or None,
        ))
    return tuple(specs)


def _roles(raw: Any, where: str) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise SuiteConfigError(f"{where}: `roles` maps a role ({', '.join(ROLES)}) to a candidate name")
    unknown = sorted(set(raw) - set(ROLES))
    if unknown:
        raise SuiteConfigError(f"{where}: `roles` has unknown role(s) {unknown}; use {list(ROLES)}")
    return {str(k): str(v) for k, v in raw.items() if v}


def _pairs(raw: Any, where: str) -> tuple[tuple[str, str], ...]:
    """`pairs: [[rft, sft], ...]` or `["rft-sft", ...]`; each is (a, b), read as a minus b."""
    pairs = []
    for entry in raw or []:
        if isinstance(entry, str) and entry.count("-") == 1:
            a, b = entry.split("-")
        elif isinstance(entry, Sequence) and not isinstance(entry, str) and len(entry) == 2:
            a, b = entry
        else:
            raise SuiteConfigError(f"{where}: each entry of `pairs` is [a, b] or 'a-b' (roles or candidate "
                                   f"names); got {entry!r}")
        if a == b:
            raise SuiteConfigError(f"{where}: `pairs` entry {entry!r} compares a candidate with itself")
        pairs.append((str(a), str(b)))
    return tuple(pairs)


def _agreement(raw: Any, where: str) -> AgreementSpec:
    if not isinstance(raw, Mapping):
        raise SuiteConfigError(f"{where}: `agreement` must be a mapping (reward_metric, production, ...)")
    _no_unknown(raw, {"reward_metric", "production", "reward_threshold", "top_k"}, where, "agreement.")
    production = raw.get("production") or {}
    if not isinstance(production, Mapping):
        raise SuiteConfigError(f"{where}: `agreement.production` maps a production metric to its pass threshold, "
                               "e.g. {risk_f1: 0.5}")
    return AgreementSpec(
        reward_metric=str(raw.get("reward_metric") or "reward"),
        production={str(k): _number(v, where, f"agreement.production.{k}") for k, v in production.items()},
        reward_threshold=_number(raw.get("reward_threshold", 0.5), where, "agreement.reward_threshold"),
        top_k=_int(raw.get("top_k", 5), where, "agreement.top_k"),
    )


def _thresholds(raw: Any, where: str, key: str) -> dict[str, dict[str, float]]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise SuiteConfigError(f"{where}: `{key}` maps a metric to a threshold, e.g. {{risk_f1: {{absolute: 0.05}}}}")
    out = {}
    for metric, spec in raw.items():
        path = f"{key}.{metric}"
        if not isinstance(spec, Mapping) or len(spec) != 1 or next(iter(spec)) not in THRESHOLD_KINDS:
            raise SuiteConfigError(f"{where}: `{path}` must be {{absolute: x}} or {{relative: x}} (a drop larger "
                                   f"than x, in the metric's units or as a fraction of the baseline); got {spec!r}")
        kind, value = next(iter(spec.items()))
        number = _number(value, where, f"{path}.{kind}")
        if number < 0:
            raise SuiteConfigError(f"{where}: `{path}.{kind}` must be >= 0 (the size of a drop); got {value!r}")
        out[str(metric)] = {str(kind): number}
    return out


def _gate(raw: Any, where: str) -> GateSpec:
    if not isinstance(raw, Mapping):
        raise SuiteConfigError(f"{where}: `gate` must be a mapping (alpha, candidates, metrics, agreement)")
    _no_unknown(raw, {"alpha", "candidates", "metrics", "agreement"}, where, "gate.")
    alpha = _number(raw.get("alpha", 0.05), where, "gate.alpha")
    if not 0 < alpha < 1:
        raise SuiteConfigError(f"{where}: `gate.alpha` must be between 0 and 1; got {alpha}")
    return GateSpec(alpha=alpha, candidates=_names(raw.get("candidates"), where, "gate.candidates"),
                    metrics=_thresholds(raw.get("metrics"), where, "gate.metrics"),
                    agreement=_thresholds(raw.get("agreement"), where, "gate.agreement"))
