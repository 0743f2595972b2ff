"""The NDA policy: the company's standard NDA terms as rules, one per ContractNLI hypothesis, with what a
contradiction of each rule weighs (assessment) and which actions the reviewer may take (a closed set).

The rule ids, titles, assessments and actions are the project's own (policy.json). The wording of each rule
is the dataset's hypothesis (CC BY 4.0), read from the data file at run time and attached with
`with_statements`, never copied into the package. Standard library only: the reward Lambda may load it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from metrics.json_file import read_json_file
from metrics.policy_nli import LABELS

PACKAGED_POLICY = Path(__file__).with_name("policy.json")


class PolicyError(ValueError):
    """The policy file is malformed or does not match the data."""


@dataclass(frozen=True)
class OnContradiction:
    assessment: str  # how much a contradiction of the rule weighs, e.g. "major_deviation"
    default: str  # the action the gold answer takes
    allowed: tuple[str, ...]  # every action the policy allows; contains `default`


@dataclass(frozen=True)
class Rule:
    id: str  # the ContractNLI hypothesis key, e.g. "nda-11"
    title: str
    contradiction: OnContradiction
    statement: str = ""  # the hypothesis text; empty until attached from the data


@dataclass(frozen=True)
class Policy:
    name: str
    version: str
    purpose: str
    labels: Mapping[str, str]  # label id -> meaning
    assessments: Mapping[str, str]  # assessment id -> meaning
    actions: Mapping[str, str]  # action id -> meaning
    rules: tuple[Rule, ...]
    source: str = ""

    @property
    def rule_ids(self) -> tuple[str, ...]:
        return tuple(r.id for r in self.rules)

    def rule(self, rule_id: str) -> Rule:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(f"rule {rule_id!r} is not in policy {self.name!r}: {list(self.rule_ids)}")

    def with_statements(self, hypotheses: Mapping[str, str], where: str) -> Policy:
        """The policy with each rule's wording taken from the data's hypotheses; the ids must match exactly."""
        missing = [r for r in self.rule_ids if r not in hypotheses]
        extra = sorted(set(hypotheses) - set(self.rule_ids))
        if missing or extra:
            raise PolicyError(f"policy {self.source}: its rules must be the hypotheses of {where} "
                              f"(rules without a hypothesis: {missing}; hypotheses without a rule: {extra}); "
                              "fix the rule ids in the policy file")
        rules = tuple(replace(r, statement=" ".join(hypotheses[r.id].split())) for r in self.rules)
        return replace(self, rules=rules)

    def render_reference(self) -> str:
        """The Reference as the model reads it: compact, since it shares the context with a whole NDA."""
        lines = [f"POLICY {self.name} (version {self.version})", self.purpose, "", "Labels:"]
        lines += [f"- {label}: {meaning}" for label, meaning in self.labels.items()]
        lines += ["", "Assessments of a contradiction:"]
        lines += [f"- {a}: {meaning}" for a, meaning in self.assessments.items()]
        lines += ["", "Actions (use only these):"]
        lines += [f"- {a}: {meaning}" for a, meaning in self.actions.items()]
        lines += ["", "Rules:"]
        for r in self.rules:
            c = r.contradiction
            lines.append(f"- {r.id} ({r.title}): {r.statement or '(wording not loaded)'} "
                         f"If contradicted: {c.assessment}; actions {', '.join(c.allowed)} (default {c.default}).")
        return "\n".join(lines) + "\n"


def _require(data: Any, keys: tuple[str, ...], where: str) -> None:
    if not isinstance(data, Mapping):
        raise PolicyError(f"{where}: expected an object, got {type(data).__name__}")
    missing = [k for k in keys if k not in data]
    if missing:
        raise PolicyError(f"{where}: missing keys {missing}")


def _rule(raw: Any, assessments: Mapping[str, str], actions: Mapping[str, str], where: str) -> Rule:
    _require(raw, ("id", "title", "contradiction"), where)
    c = raw["contradiction"]
    _require(c, ("assessment", "default", "allowed"), f"{where}.contradiction")
    if c["assessment"] not in assessments:
        raise PolicyError(f"{where}.contradiction.assessment {c['assessment']!r} is not one of {list(assessments)}")
    allowed = tuple(c["allowed"])
    unknown = [a for a in (*allowed, c["default"]) if a not in actions]
    if unknown:
        raise PolicyError(f"{where}.contradiction: actions {unknown} are not in the policy's actions {list(actions)}")
    if c["default"] not in allowed:
        raise PolicyError(f"{where}.contradiction: default {c['default']!r} is not among allowed {list(allowed)}")
    return Rule(str(raw["id"]), str(raw["title"]), OnContradiction(c["assessment"], c["default"], allowed))


def parse_policy(data: Any, where: str) -> Policy:
    _require(data, ("name", "version", "labels", "assessments", "actions", "rules"), where)
    if list(data["labels"]) != list(LABELS):
        raise PolicyError(f"{where}: labels must be exactly {list(LABELS)} in this order, got {list(data['labels'])}")
    assessments, actions = dict(data["assessments"]), dict(data["actions"])
    rules = tuple(_rule(r, assessments, actions, f"{where}: rules[{i}]") for i, r in enumerate(data["rules"]))
    ids = [r.id for r in rules]
    if len(set(ids)) != len(ids) or not ids:
        raise PolicyError(f"{where}: rule ids must be unique and non-empty, got {ids}")
    return Policy(str(data["name"]), str(data["version"]), str(data.get("purpose", "")), dict(data["labels"]),
                  assessments, actions, rules, source=where)


def load_policy(path: Path | str | None = None) -> Policy:
    """The policy at `path` (default: the packaged policy.json), without rule wording (see with_statements)."""
    source = Path(path) if path is not None else PACKAGED_POLICY
    data = read_json_file(source, "policy file", "set task.policy to a policy JSON or null for the packaged one",
                          PolicyError)
    return parse_policy(data, str(source))
