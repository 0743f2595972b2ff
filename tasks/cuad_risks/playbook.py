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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tasks.comment_review.playbook import ActionRule, Assessment, PlaybookError, ReviewPlaybook
from tasks.comment_review.playbook import read_playbook_file, require_keys

PACKAGED_PLAYBOOK = Path(__file__).with_name("playbook.json")


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
class Playbook(ReviewPlaybook[Category]):
    """Assessments are severities ("review_required" | "high_risk"), each category rated once."""

    assessment_actions: Mapping[str, ActionRule] = field(default_factory=dict)  # level-wide allowed actions

    def cuad_names(self) -> dict[str, str]:
        """CUAD category -> risk id, for the categories of this playbook."""
        return {c.cuad: c.id for c in self.categories}

    def severity(self, risk: str) -> str:
        return self.category(risk).severity

    def level(self, risk: str) -> int:
        return self.assessments[self.severity(risk)].level

    def levels(self) -> dict[str, int]:
        return {c.id: self.level(c.id) for c in self.categories}

    def rationale(self, risk: str) -> str:
        return self.category(risk).why

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
        return self._render(self._category_lines, self._allowed_note)

    def _allowed_note(self, a: Assessment) -> str:
        rule = self.assessment_actions.get(a.id)
        return f" Allowed actions: {', '.join(rule.allowed)}." if rule else ""

    @staticmethod
    def _category_lines(c: Category) -> list[str]:
        rule = c.actions[c.severity]
        return [f"assessment: {c.severity}", *([f"What it is: {c.description}"] if c.description else []),
                f"Why it matters: {c.why}", f"actions: default {rule.default}; allowed {', '.join(rule.allowed)}"]


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
    require_keys(data, ("name", "version", "assessments", "actions", "allowed_actions", "categories"), where)
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
        require_keys(c, ("id", "cuad", "name", "severity", "why"), cwhere)
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
    data, source = read_playbook_file(path, PACKAGED_PLAYBOOK)
    if not isinstance(data, Mapping):
        raise PlaybookError(f"playbook file {source} must hold a JSON object")
    return _parse(data, str(source))
