"""Gold sentences: where each CUAD clause lies in the contract's units.

A clause text from master_clauses.csv is located with the metrics layer's own grounding (the same
normalisation and the same rule for which units a quote covers), so "the model quoted the gold clause" and
"the model's comment covers the gold sentences" agree by construction. Annotators replaced irrelevant
sub-parts with "<omitted>": each part is located on its own; parts shorter than `min_chars` (stray
enumerators) are skipped, as the metrics would never count such a quote. A part found more than once is
anchored to the occurrence nearest the clause's uniquely found parts; when nothing anchors it (the same
sentence repeated in the contract), every occurrence is gold, since quoting either is right.

Nothing is dropped silently: a LocationReport counts, per category, the clauses located fully, partly, not
at all, and the answers that disagree with the clause column. Standard library only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from metrics.grounding import Document, clean_excerpt, ground
from tasks.cuad_risks.cuad import ContractLabels

OMITTED = "<omitted>"
MAX_EXAMPLES = 20  # unlocated parts kept in the report, to look at


@dataclass
class CategoryLocation:
    clauses: int = 0  # clause texts in the CSV for this category
    located: int = 0  # every part found
    partly: int = 0  # some parts found, some not (the found ones are gold)
    unlocated: int = 0  # no part found: the clause has no gold sentence
    ambiguous: int = 0  # parts found several times with nothing to anchor them: all occurrences are gold
    contracts_with_gold: int = 0  # contracts where at least one clause of the category was located
    yes_without_clause: int = 0  # answer "Yes" but no clause text: nothing to locate
    clause_without_yes: int = 0  # clause text but the answer is not "Yes": located all the same

    def add(self, other: CategoryLocation) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class LocationReport:
    categories: dict[str, CategoryLocation] = field(default_factory=dict)  # risk id -> counts
    examples: list[dict[str, str]] = field(default_factory=list)  # unlocated parts: contract, risk, text

    def category(self, risk: str) -> CategoryLocation:
        return self.categories.setdefault(risk, CategoryLocation())

    def total(self) -> CategoryLocation:
        total = CategoryLocation()
        for counts in self.categories.values():
            total.add(counts)
        return total

    def merge(self, other: LocationReport) -> None:
        for risk, counts in other.categories.items():
            self.category(risk).add(counts)
        self.examples.extend(other.examples[: max(0, MAX_EXAMPLES - len(self.examples))])

    def location_rate(self) -> float:
        """Share of clauses with at least one located part."""
        total = self.total()
        return (total.located + total.partly) / total.clauses if total.clauses else 1.0

    def to_dict(self) -> dict[str, Any]:
        return {"location_rate": self.location_rate(),
                "total": dict(self.total().__dict__),
                "categories": {risk: dict(c.__dict__) for risk, c in self.categories.items()},
                "unlocated_examples": list(self.examples)}

    def summary(self) -> str:
        t = self.total()
        return (f"{t.clauses} gold clauses: {t.located} located, {t.partly} partly, {t.unlocated} not located; "
                f"{t.ambiguous} ambiguous, {t.yes_without_clause} 'Yes' answers without clause text, "
                f"{t.clause_without_yes} clauses whose answer is not 'Yes'")


def _occurrences(part: str, document: Document, min_chars: int) -> list[tuple[int, tuple[int, ...]]]:
    """(start in the normalised text, covered units) for every occurrence of `part`."""
    needle = clean_excerpt(part)
    starts = document.occurrences(needle)
    if len(starts) <= 1:
        return [(start, ground(needle, document, min_chars).sentences) for start in starts]
    found = []
    for start in starts:
        # ground() on a document cut to this occurrence's span gives the units this occurrence covers
        end = start + len(needle)
        spans = tuple((i, s - start, e - start) for i, s, e in document.spans if e > start and s < end)
        found.append((start, ground(needle, Document(needle, spans), min_chars).sentences))
    return found


def locate_clause(clause: str, document: Document, min_chars: int) -> tuple[set[int], int, int, bool]:
    """(covered unit indices, parts to find, parts found, ambiguous) for one clause text."""
    parts = [p for p in clause.split(OMITTED) if len(clean_excerpt(p)) >= min_chars]
    found = [_occurrences(p, document, min_chars) for p in parts]
    anchors = [occ[0][0] for occ in found if len(occ) == 1]
    covered: set[int] = set()
    ambiguous = False
    for occurrences in found:
        if len(occurrences) > 1 and anchors:
            occurrences = [min(occurrences, key=lambda o: min(abs(o[0] - a) for a in anchors))]
        elif len(occurrences) > 1:
            ambiguous = True
        for _, units in occurrences:
            covered.update(units)
    return covered, len(parts), sum(1 for occ in found if occ), ambiguous


def locate_contract(units: Sequence[str], labels: ContractLabels, categories: Mapping[str, str],
                    min_chars: int, contract: str = "") -> tuple[dict[int, set[str]], LocationReport]:
    """Unit index -> risk ids of the gold clauses covering it, for the CUAD categories in `categories`
    (CUAD name -> risk id); and the report of what could be located."""
    document = Document.from_sentences(units)
    gold: dict[int, set[str]] = {}
    report = LocationReport()
    for cuad_name, risk in categories.items():
        counts = report.category(risk)
        clauses = labels.clauses.get(cuad_name, ())
        yes = labels.answers.get(cuad_name, "").casefold() == "yes"
        counts.yes_without_clause += int(yes and not clauses)
        counts.clause_without_yes += int(bool(clauses) and not yes)
        any_located = False
        for clause in clauses:
            counts.clauses += 1
            covered, n_parts, n_found, ambiguous = locate_clause(clause, document, min_chars)
            counts.ambiguous += int(ambiguous)
            if n_parts and n_found == n_parts:
                counts.located += 1
            elif n_found:
                counts.partly += 1
            else:
                counts.unlocated += 1
                if len(report.examples) < MAX_EXAMPLES:
                    report.examples.append({"contract": contract, "risk": risk, "text": clause[:300]})
            for unit in covered:
                gold.setdefault(unit, set()).add(risk)
            any_located = any_located or bool(covered)
        counts.contracts_with_gold += int(any_located)
    return gold, report
