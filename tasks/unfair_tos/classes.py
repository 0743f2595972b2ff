"""The 9 classes of UNFAIR-ToS, spelled as in the LegalBench files, each with a one-line description for the
prompt (our wording, after the CLAUDETTE category definitions), and the CLAUDETTE category id it matches."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ClauseClass:
    label: str  # as in test.tsv / the answer's enum
    description: str
    claudette: str | None  # CLAUDETTE tag category, None for Other


OTHER = "Other"

CLASSES: tuple[ClauseClass, ...] = (
    ClauseClass("Arbitration", "disputes must be settled by arbitration instead of in a court", "a"),
    ClauseClass("Unilateral change", "the provider may change the terms or the service whenever it decides", "ch"),
    ClauseClass("Content removal", "the provider may delete or edit the user's content at its discretion", "cr"),
    ClauseClass("Jurisdiction", "disputes must be brought before the courts of a place the provider chose", "j"),
    ClauseClass("Choice of law", "the law of a country or state the provider chose governs the contract", "law"),
    ClauseClass("Limitation of liability", "the provider excludes or caps its liability for damages or losses",
                "ltd"),
    ClauseClass("Unilateral termination", "the provider may suspend or end the account or the service at will",
                "ter"),
    ClauseClass("Contract by using", "merely using the service counts as accepting the terms", "use"),
    ClauseClass(OTHER, "none of the above: any other sentence, including fair clauses", None),
)

LABELS: tuple[str, ...] = tuple(c.label for c in CLASSES)
UNFAIR_LABELS: tuple[str, ...] = tuple(c.label for c in CLASSES if c.label != OTHER)
