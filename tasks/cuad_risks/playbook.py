"""The commercial-contract playbook: the CUAD categories the review looks for, how serious each is, and the
actions a reviewer may take. The playbook text is the project's own (playbook.json); each category's
description is CUAD's (category_descriptions.csv, CC BY 4.0), read from the data root at run time.

How `assessment` works here: CUAD labels where a clause of a category is, not how unfair it is, so the
playbook rates each category once (`severity`: review_required, level 2, or high_risk, level 3) and the gold
assessment of a clause is its category's severity. Assessment accuracy thus measures whether a reviewer
applies the playbook's rating; the allowed actions depend on the assessment given (as in contract_review), so
a wrong rating costs assessment accuracy, not action compliance as well.

Standard library only: the reward path may load it."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from metrics.review_spec import ReviewSpec

PACKAGED_PLAYBOOK = Path(__file__).with_name("playbook.json")


class PlaybookError(ValueError):
    """The playbook file, or the category selection, is malformed."""


@dataclass(frozen=True)
class Assessment:
    id: str  # "review_required" | "high_risk"
    level: int  # the gold level it stands for (2 or 3, the levels metrics/review_reference counts as risks)
    description: str


@dataclass(frozen=True)
class ActionRule:
    default: str
    allowed: tuple[str, ...]  # always contains `default`


@dataclass(frozen=True)
class Category:
    id: str  # risk id used in answers, e.g. "uncapped_liability"
    cuad: str  # the CUAD category (master_clauses.csv column), e.g. "Uncapped Liability"
    name: str
    severity: str  # assessment id: the gold assessment of every clause of this category
    why: str  # the project's reason the clause matters (gold rationales use it)
    actions: Mapping[str, ActionRule]  # assessment id -> the actions allowed with that assessment
    description: str = ""  # CUAD's description, attached from category_descriptions.csv


@dataclass(frozen=True)
class Playbook:
    name: str
    version: str
    purpose: str
    assessments: Mapping[str, Assessment]
    actions: Mapping[str, str]  # action id -> meaning
    categories: tuple[Category, ...]
    source: str = ""
    assessment_actions: Mapping[str, ActionRule] = field(default_factory=dict)  # level-wide allowed actions
    _by_id: Mapping[str, Category] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {c.id: c for c in self.categories})

    @property
    def category_ids(self) -> tuple[str, ...]:
        return tuple(c.id for c in self.categories)

    @property
    def assessment_ids(self) -> tuple[str, ...]:
        return tuple(self.assessments)

    @property
    def action_ids(self) -> tuple[str, ...]:
        return tuple(self.actions)

    def category(self, risk: str) -> Category:
        try:
            return self._by_id[risk]
        except KeyError:
            raise KeyError(f"risk {risk!r} is not in playbook {self.name!r}: {list(self._by_id)}") from None

    def cuad_names(self) -> dict[str, str]:
        """CUAD category -> risk id, for the categories of this playbook."""
        return {c.cuad: c.id for c in self.categories}

    def severity(self, risk: str) -> str:
        return self.category(risk).severity

    def level(self, risk: str) -> int:
        return self.assessments[self.severity(risk)].level

    def levels(self) -> dict[str, int]:
        return {c.id: self.level(c.id) for c in self.categories}

    def default_action(self, risk: str, assessment: str) -> str:
        return self.category(risk).actions[assessment].default

    def rationale(self, risk: str) -> str:
        return self.category(risk).why

    def allowed_actions(self) -> dict[tuple[str, str], frozenset[str]]:
        return {(c.id, a): frozenset(rule.allowed) for c in self.categories for a, rule in c.actions.items()}

    def review_spec(self, schema: Mapping[str, Any]) -> ReviewSpec:
        return ReviewSpec(categories=self.category_ids,
                          assessments={a.id: a.level for a in self.assessments.values()},
                          allowed_actions=self.allowed_actions(), output_schema=schema)

    def select(self, risks: Sequence[str] | None) -> Playbook:
        """The playbook restricted to `risks` (in the given order); None keeps every category."""
        if risks is None:
            return self
        unknown = [r for r in risks if r not in self._by_id]
        if unknown:
            raise PlaybookError(f"task config categories: {unknown} are not in playbook {self.source or self.name}; "
                                f"use ids from {list(self._by_id)}")
        if len(set(risks)) != len(risks) or not risks:
            raise PlaybookError(f"task config categories must be a non-empty list without repeats, got {list(risks)}")
        return replace(self, categories=tuple(self._by_id[r] for r in risks))

    def with_descriptions(self, descriptions: Mapping[str, str], where: str = "category_descriptions.csv") -> Playbook:
        """Attach CUAD's description to every category (by its CUAD name)."""
        missing = [c.cuad for c in self.categories if c.cuad not in descriptions]
        if missing:
            raise PlaybookError(f"{where}: no description for CUAD categories {missing} used by playbook "
                                f"{self.source or self.name}; check the categories' 'cuad' names")
        return replace(self, categories=tuple(replace(c, description=descriptions[c.cuad]) for c in self.categories))

    def render_reference(self) -> str:
        """The Reference as the model and the judge read it."""
        lines = [f"PLAYBOOK {self.name} (version {self.version})", self.purpose, "", "Assessments:"]
        for a in self.assessments.values():
            rule = self.assessment_actions.get(a.id)
            allowed = f" Allowed actions: {', '.join(rule.allowed)}." if rule else ""
            lines.append(f"- {a.id}: {a.description}{allowed}")
        lines += ["", "Actions (use only these):"]
        lines += [f"- {action}: {meaning}" for action, meaning in self.actions.items()]
        lines += ["", "Risk categories:"]
        for c in self.categories:
            lines += ["", f"## {c.id} ({c.name})", f"assessment: {c.severity}"]
            if c.description:
                lines.append(f"What it is: {c.description}")
            lines.append(f"Why it matters: {c.why}")
            rule = c.actions[c.severity]
            lines.append(f"actions: default {rule.default}; allowed {', '.join(rule.allowed)}")
        return "\n".join(lines) + "\n"


def _require(data: Mapping[str, Any], keys: tuple[str, ...], where: str) -> None:
    missing = [k for k in keys if k not in data]
    if missing:
        raise PlaybookError(f"{where}: missing keys {missing}")


def _rules(data: Mapping[str, Any], assessments: Mapping[str, Assessment], actions: Mapping[str, str],
           where: str) -> dict[str, ActionRule]:
    rules = {}
    for aid in assessments:
        if aid not in data:
            raise PlaybookError(f"{where}: allowed_actions needs an entry for assessment {aid!r}")
        rule = data[aid]
        allowed = tuple(rule.get("allowed", ()))
        unknown = [a for a in (*allowed, rule.get("default")) if a not in actions]
        if unknown:
            raise PlaybookError(f"{where}: allowed_actions[{aid!r}] names {unknown}, not in {list(actions)}")
        if rule.get("default") not in allowed:
            raise PlaybookError(f"{where}: default action {rule.get('default')!r} for {aid} is not among "
                                f"{list(allowed)}")
        rules[aid] = ActionRule(rule["default"], allowed)
    return rules


def _parse(data: Mapping[str, Any], where: str) -> Playbook:
    _require(data, ("name", "version", "assessments", "actions", "allowed_actions", "categories"), where)
    assessments = {aid: Assessment(aid, int(a["level"]), a.get("description", ""))
                   for aid, a in data["assessments"].items()}
    bad_levels = {aid: a.level for aid, a in assessments.items() if a.level not in (2, 3)}
    if bad_levels:
        raise PlaybookError(f"{where}: assessment levels must be 2 or 3 (the levels scored as risks), got {bad_levels}")
    actions = dict(data["actions"])
    level_rules = _rules(data["allowed_actions"], assessments, actions, where)
    categories = []
    for i, c in enumerate(data["categories"]):
        cwhere = f"{where}: categories[{i}]"
        _require(c, ("id", "cuad", "name", "severity", "why"), cwhere)
        if c["severity"] not in assessments:
            raise PlaybookError(f"{cwhere} ({c['id']}): severity {c['severity']!r} is not in {list(assessments)}")
        rules = dict(level_rules)
        default = c.get("default_action")
        if default is not None:
            allowed = level_rules[c["severity"]].allowed
            if default not in allowed:
                raise PlaybookError(f"{cwhere} ({c['id']}): default_action {default!r} is not allowed for "
                                    f"{c['severity']}: {list(allowed)}")
            rules[c["severity"]] = ActionRule(default, allowed)
        categories.append(Category(c["id"], c["cuad"], c["name"], c["severity"], " ".join(c["why"].split()), rules))
    for attribute in ("id", "cuad"):
        values = [getattr(c, attribute) for c in categories]
        if len(set(values)) != len(values):
            raise PlaybookError(f"{where}: category {attribute}s repeat: {values}")
    return Playbook(data["name"], str(data["version"]), data.get("purpose", ""), assessments, actions,
                    tuple(categories), source=where, assessment_actions=level_rules)


def load_playbook(path: Path | str | None = None) -> Playbook:
    """The playbook at `path` (default: the packaged playbook.json), without CUAD's descriptions."""
    source = Path(path) if path is not None else PACKAGED_PLAYBOOK
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PlaybookError(f"playbook file {source} does not exist; set task.playbook to a playbook JSON "
                            "or null for the packaged one") from None
    except json.JSONDecodeError as exc:
        raise PlaybookError(f"playbook file {source} is not valid JSON: {exc}") from None
    if not isinstance(data, Mapping):
        raise PlaybookError(f"playbook file {source} must hold a JSON object")
    return _parse(data, str(source))
