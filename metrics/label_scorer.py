"""One label per answer, scored against the reference's gold label (metrics.classification), with an
optional detection count: any class but `negative` counts as flagged (e.g. "unfair" vs "Other"), so a
wrong positive class still beats calling a positive fair. The spec is JSON-able so the reward bundle can
carry it; standard library only.

    spec = LabelSpec(classes=("A", "B", "Other"), detection_negative="Other", detection_prefix="unfair")
    LabelScorer(spec).score(output_text, {"label": "A"}) -> SampleScore"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from metrics import classification
from metrics.json_schema import SchemaValidator
from metrics.types import SampleScore


@dataclass(frozen=True)
class LabelSpec:
    classes: tuple[str, ...]
    label_field: str = "label"  # the answer's and the reference's field holding the label
    detection_negative: str | None = None  # the class that is "nothing found"; None = no detection counts
    detection_prefix: str = "detect"

    def output_schema(self) -> dict[str, Any]:
        return classification.label_schema(self.classes, self.label_field)

    def to_dict(self) -> dict[str, Any]:
        return {"classes": list(self.classes), "label_field": self.label_field,
                "detection_negative": self.detection_negative, "detection_prefix": self.detection_prefix}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LabelSpec:
        classes = data.get("classes")
        if not isinstance(classes, list) or not classes or not all(isinstance(c, str) for c in classes):
            raise ValueError(f"label scorer spec: `classes` must be a non-empty list of class names, got {classes!r}")
        negative = data.get("detection_negative")
        if negative is not None and negative not in classes:
            raise ValueError(f"label scorer spec: detection_negative {negative!r} is not one of the classes")
        return cls(tuple(classes), str(data.get("label_field", "label")), negative,
                   str(data.get("detection_prefix", "detect")))


class LabelScorer:
    def __init__(self, spec: LabelSpec):
        self.spec = spec

    @cached_property
    def validator(self) -> SchemaValidator:
        return SchemaValidator(self.spec.output_schema())

    def score(self, output_text: Any, reference: Any) -> SampleScore:
        spec = self.spec
        gold = reference.get(spec.label_field) if isinstance(reference, Mapping) else None
        result = classification.score(output_text, gold, spec.classes, label_field=spec.label_field,
                                      validator=self.validator)
        if result.values and spec.detection_negative is not None:  # scored: the gold label was valid
            predicted = result.details[classification.DETAILS_KEY]["predicted"]
            result.values.update(classification.detection_values(predicted, gold, spec.detection_negative,
                                                                 prefix=spec.detection_prefix))
        return result
