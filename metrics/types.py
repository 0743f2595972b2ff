"""Values the metrics layer produces for one sample."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from metrics.errors import ClassifiedError


@dataclass
class SampleScore:
    """Per-sample metric values (floats; counts such as `risk_tp` too), classified errors, and details
    worth keeping in the record (parsed comments, which excerpts were grounded, ...)."""

    values: dict[str, float] = field(default_factory=dict)
    errors: list[ClassifiedError] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "values": dict(self.values),
            "errors": [e.to_dict() for e in self.errors],
            "details": self.details,
        }
