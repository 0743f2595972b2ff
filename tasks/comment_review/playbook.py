"""The core every review playbook has: assessments, a closed set of actions, and risk categories each with the
actions allowed per assessment. What a category says about itself differs by task (tasks/contract_review and
tasks/cuad_risks each define their Category and how it is rendered).

Standard library only: the reward path may load it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from metrics.json_file import read_json_file
from metrics.review_spec import ReviewSpec


class PlaybookError(ValueError):
    """The playbook file, or a task's category selection, is malformed."""


@dataclass(frozen=True)
class Assessment:
    id: str  # e.g. "clearly_unfair"
    level: int  # the gold level it stands for (2 and 3 are the levels metrics/review_reference counts as risks)
    description: str


@dataclass(frozen=True)
class ActionRule:
    default: str
    allowed: tuple[str, ...]  # in the playbook's order; always contains `default`


class ReviewCategory(Protocol):
    """What the shared playbook code reads of a category."""

    @property
    def id(self) -> str: ...  # the risk id used in answers, e.g. "arbitration"

    @property
    def name(self) -> str: ...

    @property
    def actions(self) -> Mapping[str, ActionRule]: ...  # assessment id -> the actions allowed with it


C = TypeVar("C", bound=ReviewCategory)


@dataclass(frozen=True)
class ReviewPlaybook(Generic[C]):
    name: str
    version: str
    purpose: str
    assessments: Mapping[str, Assessment]
    actions: Mapping[str, str]  # action id -> meaning
    categories: tuple[C, ...]
    source: str = ""
    _by_id: Mapping[str, C] = field(default_factory=dict, repr=False, compare=False)

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

    def category(self, risk: str) -> C:
        try:
            return self._by_id[risk]
        except KeyError:
            raise KeyError(f"risk {risk!r} is not in playbook {self.name!r}: {list(self._by_id)}") from None

    def default_action(self, risk: str, assessment: str) -> str:
        return self.category(risk).actions[assessment].default

    def allowed_actions(self) -> dict[tuple[str, str], frozenset[str]]:
        return {(c.id, a): frozenset(rule.allowed) for c in self.categories for a, rule in c.actions.items()}

    def review_spec(self, schema: Mapping[str, Any]) -> ReviewSpec:
        return ReviewSpec(categories=self.category_ids,
                          assessments={a.id: a.level for a in self.assessments.values()},
                          allowed_actions=self.allowed_actions(), output_schema=schema)

    def _render(self, category_lines: Callable[[C], list[str]],
                assessment_note: Callable[[Assessment], str] = lambda a: "") -> str:
        """The Reference as the model and the judge read it: the playbook's head, its assessments (each with
        `assessment_note`), its actions, then each category's heading and `category_lines`."""
        lines = [f"PLAYBOOK {self.name} (version {self.version})", self.purpose, "", "Assessments:"]
        lines += [f"- {a.id}: {a.description}{assessment_note(a)}" for a in self.assessments.values()]
        lines += ["", "Actions (use only these):"]
        lines += [f"- {action}: {meaning}" for action, meaning in self.actions.items()]
        lines += ["", "Risk categories:"]
        for c in self.categories:
            lines += ["", f"## {c.id} ({c.name})", *category_lines(c)]
        return "\n".join(lines) + "\n"


def require_keys(data: Mapping[str, Any], keys: tuple[str, ...], where: str) -> None:
    missing = [k for k in keys if k not in data]
    if missing:
        raise PlaybookError(f"{where}: missing keys {missing}")


def read_playbook_file(path: Path | str | None, packaged: Path) -> tuple[Any, Path]:
    """The parsed JSON of the playbook at `path` (default: the task's packaged one), and the path read."""
    source = Path(path) if path is not None else packaged
    data = read_json_file(source, "playbook file", "set task.playbook to a playbook JSON or null for the packaged one",
                          PlaybookError)
    return data, source
