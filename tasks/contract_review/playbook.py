"""The review playbook: for each risk category what it is, what makes it potentially or clearly unfair, and
which actions the reviewer may take. The playbook text is the project's own (playbook.json); the expert
rationales (tos_rationales, MIT) are licensed data read at run time from the data root, never copied in.

Standard library only: the reward Lambda loads this module."""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tasks.comment_review.playbook import ActionRule, Assessment, PlaybookError, ReviewPlaybook
from tasks.comment_review.playbook import read_playbook_file, require_keys

PACKAGED_PLAYBOOK = Path(__file__).with_name("playbook.json")
RATIONALES_RELPATH = "tos_rationales/local_database/KB"


@dataclass(frozen=True)
class Rationale:
    id: str
    level: int
    text: str


@dataclass(frozen=True)
class Category:
    id: str  # risk id used in answers, e.g. "arbitration"
    code: str  # CLAUDETTE code, e.g. "a"
    name: str
    description: str
    criteria: Mapping[str, str]  # assessment id -> what makes the clause that unfair
    actions: Mapping[str, ActionRule]  # assessment id -> allowed actions
    rationales: tuple[Rationale, ...] = ()


@dataclass(frozen=True)
class Playbook(ReviewPlaybook[Category]):
    """Assessments are CLAUDETTE levels (potentially / clearly unfair); each category says what makes a clause
    of it that unfair, and may carry expert rationales."""

    def category_by_code(self, code: str) -> Category:
        for category in self.categories:
            if category.code == code:
                return category
        raise KeyError(f"category code {code!r} is not in playbook {self.name!r}")

    def assessment_for_level(self, level: int) -> str:
        for assessment in self.assessments.values():
            if assessment.level == level:
                return assessment.id
        raise KeyError(f"no assessment in playbook {self.name!r} stands for level {level}")

    def rationale(self, risk: str, assessment: str) -> str:
        """The playbook's own reason a clause of this risk is this unfair (used for gold answers)."""
        return self.category(risk).criteria[assessment]

    def render_reference(self, max_rationales_per_category: int | None = None) -> str:
        """The Reference as the model and the judge read it."""
        return self._render(lambda c: self._category_lines(c, max_rationales_per_category))

    def render_compact_reference(self) -> str:
        """One line per category: id, what it is, the actions allowed per assessment (the compact prompt)."""
        lines = ["Categories (id: what it is [allowed actions per assessment]):"]
        for c in self.categories:
            allowed = " | ".join(f"{assessment}: {', '.join(rule.allowed)}" for assessment, rule in c.actions.items())
            lines.append(f"- {c.id}: {c.description} [{allowed}]")
        return "\n".join(lines) + "\n"

    def _category_lines(self, c: Category, max_rationales: int | None) -> list[str]:
        lines = [f"What it is: {c.description}"]
        lines += [f"{assessment} when: {text}" for assessment, text in c.criteria.items()]
        lines += [f"actions if {assessment}: default {rule.default}; allowed {', '.join(rule.allowed)}"
                  for assessment, rule in c.actions.items()]
        chosen = select_rationales(c.rationales, max_rationales)
        if chosen:
            lines.append("Expert rationales (the clause is unfair ...):")
            lines += [f"- [{self.assessment_for_level(r.level) if r.level > 1 else 'fair'}] {r.text}" for r in chosen]
        return lines


def select_rationales(rationales: tuple[Rationale, ...], limit: int | None) -> list[Rationale]:
    """Up to `limit` rationales, alternating between levels in file order so both levels are shown."""
    if limit is None or limit >= len(rationales):
        return list(rationales)
    queues: dict[int, list[Rationale]] = {}
    for r in rationales:
        queues.setdefault(r.level, []).append(r)
    chosen: list[Rationale] = []
    while len(chosen) < limit:
        for level in sorted(queues, reverse=True):
            if queues[level] and len(chosen) < limit:
                chosen.append(queues[level].pop(0))
    return chosen


def _parse(data: Mapping[str, Any], where: str) -> Playbook:
    require_keys(data, ("name", "version", "assessments", "actions", "categories"), where)
    assessments = {
        aid: Assessment(aid, int(a["level"]), a.get("description", "")) for aid, a in data["assessments"].items()
    }
    actions = dict(data["actions"])
    categories = []
    for i, c in enumerate(data["categories"]):
        cwhere = f"{where}: categories[{i}]"
        require_keys(c, ("id", "code", "name", "description", "actions"), cwhere)
        rules = {}
        for aid in assessments:
            if aid not in c or aid not in c["actions"]:
                raise PlaybookError(f"{cwhere} ({c['id']}): needs a '{aid}' description and actions['{aid}']")
            rule = c["actions"][aid]
            allowed = tuple(rule.get("allowed", ()))
            unknown = [a for a in (*allowed, rule.get("default")) if a not in actions]
            if unknown:
                raise PlaybookError(f"{cwhere} ({c['id']}): actions {unknown} for {aid} are not in {list(actions)}")
            if rule["default"] not in allowed:
                raise PlaybookError(f"{cwhere} ({c['id']}): default action {rule['default']!r} for {aid} "
                                    f"is not among the allowed {list(allowed)}")
            rules[aid] = ActionRule(rule["default"], allowed)
        criteria = {aid: c[aid] for aid in assessments}
        categories.append(Category(c["id"], c["code"], c["name"], c["description"], criteria, rules))
    ids = [c.id for c in categories]
    if len(set(ids)) != len(ids):
        raise PlaybookError(f"{where}: category ids repeat: {ids}")
    return Playbook(data["name"], str(data["version"]), data.get("purpose", ""), assessments, actions,
                    tuple(categories), source=where)


def read_rationales(rationales_dir: Path | str, code: str) -> tuple[Rationale, ...]:
    """Expert rationales of one category from `<CODE>_explanations.csv` (columns Id, Tag, Explanation);
    categories without a file have none."""
    path = Path(rationales_dir) / f"{code.upper()}_explanations.csv"
    if not path.exists():
        return ()
    rows = []
    with path.open(encoding="utf-8", newline="") as handle:
        for n, row in enumerate(csv.DictReader(handle), start=2):
            tag = (row.get("Tag") or "").strip()
            if not tag.startswith(code) or not tag[len(code):].isdigit():
                raise PlaybookError(f"{path}:{n}: tag {tag!r} does not belong to category {code!r}")
            rows.append(Rationale((row.get("Id") or "").strip(), int(tag[len(code):]),
                                  " ".join((row.get("Explanation") or "").split())))
    return tuple(rows)


def load_playbook(path: Path | str | None = None, rationales_dir: Path | str | None = None) -> Playbook:
    """The playbook at `path` (default: the packaged playbook.json), with the expert rationales from
    `rationales_dir` (data_root/tos_rationales/local_database/KB) attached when given."""
    data, source = read_playbook_file(path, PACKAGED_PLAYBOOK)
    playbook = _parse(data, str(source))
    if rationales_dir is None:
        return playbook
    folder = Path(rationales_dir)
    if not folder.is_dir():
        from tasks.data_root import FETCH_HINT, MissingDataError

        raise MissingDataError(f"rationales folder {folder} is missing: {FETCH_HINT}")
    categories = tuple(
        Category(c.id, c.code, c.name, c.description, c.criteria, c.actions, read_rationales(folder, c.code))
        for c in playbook.categories
    )
    return Playbook(playbook.name, playbook.version, playbook.purpose, playbook.assessments, playbook.actions,
                    categories, source=playbook.source)
