"""Single-label classification: one answer `{"<label_field>": <class>}` against one gold class.

Per sample: `accuracy` (0 or 1), and for every class c of the task the counts `<prefix>_tp/<c>`,
`<prefix>_fp/<c>`, `<prefix>_fn/<c>` (each 0 or 1). Run-level macro-F1 and per-class F1 are then sums over
the samples (metrics.aggregates.macro_f1 / f1), so their bootstrap intervals resample whole samples. The
(gold, predicted) pair goes into the details, from which evals/stats/confusion.py builds a confusion matrix.

Invalid answers: an answer that is not JSON (PARSE error), fails the output schema, or names a label outside
the classes (SCHEMA error) has no prediction. It counts as wrong for accuracy and as a false negative of its
gold class, but as a false positive of no class. Why: breaking the format must cost (accuracy and the gold
class's recall drop), but an invalid answer is evidence for no class, and a phantom "invalid" class would
enter macro-F1's mean although no gold sample has it. (sklearn, given the invalid answers as a label of
their own, would average that label's F1 of 0 in; our macro-F1 leaves it out.)

Standard library only: the reward Lambda scores with this module.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from metrics import aggregates as agg
from metrics.aggregates import Aggregate
from metrics.checked_output import check_output
from metrics.errors import ClassifiedError, ErrorKind
from metrics.json_schema import SchemaValidator
from metrics.types import SampleScore

CLASS_PREFIX = "cls"
DETAILS_KEY = "classification"  # details[DETAILS_KEY] = {"gold": ..., "predicted": ... | None}
MAX_SCHEMA_MESSAGES = 3


def classes_from_schema(schema: Mapping[str, Any], label_field: str = "label") -> tuple[str, ...]:
    """The class list of a classification answer schema: the enum of its required `label_field`."""
    properties = schema.get("properties") if isinstance(schema, Mapping) else None
    field = properties.get(label_field) if isinstance(properties, Mapping) else None
    enum = field.get("enum") if isinstance(field, Mapping) else None
    if not isinstance(enum, list) or not enum or not all(isinstance(c, str) for c in enum):
        raise ValueError(f"a classification schema needs properties.{label_field}.enum: a non-empty list of "
                         f"class names (strings); got {enum!r}")
    if len(set(enum)) != len(enum):
        raise ValueError(f"properties.{label_field}.enum lists a class twice: {enum}")
    if label_field not in (schema.get("required") or []):
        raise ValueError(f"a classification schema must list {label_field!r} in `required`, or an answer "
                         f"without a label would pass the schema")
    return tuple(enum)


def label_schema(classes: Sequence[str], label_field: str = "label") -> dict[str, Any]:
    """The bounded answer schema `{"<label_field>": one of classes}` (an enum is bounded for constrained decoding)."""
    return {
        "type": "object",
        "properties": {label_field: {"type": "string", "enum": list(classes)}},
        "required": [label_field],
        "additionalProperties": False,
    }


def read_label(answer: Any, classes: Sequence[str],
               label_field: str = "label") -> tuple[str | None, ClassifiedError | None]:
    """The predicted class of a parsed answer, or (None, SCHEMA error) when it names no known class."""
    if not isinstance(answer, Mapping):
        return None, ClassifiedError(ErrorKind.SCHEMA, f"the answer is {type(answer).__name__}, not an object "
                                                       f"with {label_field!r}", "schema")
    if label_field not in answer:
        return None, ClassifiedError(ErrorKind.SCHEMA, f"the answer has no {label_field!r}", "schema")
    label = answer[label_field]
    if not isinstance(label, str) or label not in classes:
        return None, ClassifiedError(ErrorKind.SCHEMA, f"label {label!r} is not one of the classes "
                                                       f"{list(classes)}", "schema")
    return label, None


def label_values(predicted: str | None, gold: str, classes: Sequence[str],
                 prefix: str = CLASS_PREFIX) -> dict[str, float]:
    """accuracy and per-class tp/fp/fn for one sample; `predicted` None = an invalid answer (see module doc)."""
    values = {"accuracy": float(predicted == gold)}
    for cls in classes:
        values[f"{prefix}_tp/{cls}"] = float(predicted == cls and gold == cls)
        values[f"{prefix}_fp/{cls}"] = float(predicted == cls and gold != cls)
        values[f"{prefix}_fn/{cls}"] = float(gold == cls and predicted != cls)
    return values


def detection_values(predicted: str | None, gold: str, negative: str, prefix: str = "detect") -> dict[str, float]:
    """Binary counts: is the sample in any class but `negative` (e.g. unfair vs Other)? An invalid answer
    detects nothing."""
    said = predicted is not None and predicted != negative
    real = gold != negative
    return {f"{prefix}_tp": float(said and real), f"{prefix}_fp": float(said and not real),
            f"{prefix}_fn": float(real and not said)}


def aggregates(classes: Sequence[str], prefix: str = CLASS_PREFIX, macro_name: str = "macro_f1") -> list[Aggregate]:
    per_class = [agg.f1(f"f1/{c}", f"{prefix}_tp/{c}", f"{prefix}_fp/{c}", f"{prefix}_fn/{c}", f"F1 of class {c}")
                 for c in classes]
    return [
        agg.mean("accuracy", description="share of samples whose label is the gold class"),
        agg.macro_f1(macro_name, classes, prefix, "unweighted mean of the per-class F1 (classes seen in the run)"),
        *per_class,
    ]


def score(output_text: Any, gold: Any, classes: Sequence[str], *, label_field: str = "label",
          validator: SchemaValidator | None = None, prefix: str = CLASS_PREFIX) -> SampleScore:
    """Score one answer: parse, check the schema (when a validator is given), read the label, count.
    A gold label outside `classes` is the sample's fault: an INPUT error and no values."""
    if not isinstance(gold, str) or gold not in classes:
        error = ClassifiedError(ErrorKind.INPUT, f"bad reference: gold label {gold!r} is not one of the classes "
                                                 f"{list(classes)}", "reference")
        return SampleScore(errors=[error])
    checked = check_output("" if output_text is None else output_text, validator, MAX_SCHEMA_MESSAGES)
    parsed, errors = checked.parsed, checked.errors
    predicted: str | None = None
    if checked.valid:
        predicted, label_error = read_label(parsed.value, classes, label_field)
        if label_error is not None:
            errors.append(label_error)
    schema_ok = predicted is not None
    values = {"json_valid": float(parsed.ok), "schema_valid": float(schema_ok),
              **label_values(predicted, gold, classes, prefix)}
    details = {DETAILS_KEY: {"gold": gold, "predicted": predicted}, "json_repaired": parsed.repaired}
    return SampleScore(values=values, errors=errors, details=details)
