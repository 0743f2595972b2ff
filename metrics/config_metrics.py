"""The metrics a config task can name, and the scorer that runs them. Standard library only (it imports
only metrics/), so the reward Lambda scores config tasks too (metrics/scorers.py, scorer "config").

Each entry of CONFIG_METRICS is a factory: (options from the YAML, the task's answer spec) -> a Metric of the
shared MetricRegistry type. Options are checked when the task loads (unknown option, wrong type, a field the
schema does not have), so a typo fails before any model call.

The answer is parsed and checked against the output schema once per sample; PARSE and SCHEMA errors are
recorded whichever metrics run. A broken answer is scored as no answer: wrong for classification and
exact_match, no excerpts for grounding (format must cost, as in metrics/comment_review)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from metrics import aggregates as agg
from metrics import classification
from metrics.checked_output import check_output
from metrics.errors import ClassifiedError, ErrorKind
from metrics.grounding import Document, ground
from metrics.json_schema import SchemaValidator, json_equal
from metrics.language import LANGUAGE_CHECKS, language_check
from metrics.length import length_values
from metrics.parsing import ParseResult
from metrics.plugin_registry import GUIDE, Registry
from metrics.registry import Metric, MetricRegistry
from metrics.text import normalize
from metrics.types import SampleScore

MAX_SCHEMA_MESSAGES = 3


class MetricConfigError(ValueError):
    pass


@dataclass(frozen=True)
class AnswerSpec:
    """What the metrics may know about the task's answers."""

    output_schema: Mapping[str, Any]
    label_field: str = "label"  # the answer field a scalar gold fills: {"label": <gold>}


@dataclass(frozen=True)
class AnswerContext:
    output_text: str
    parse: ParseResult
    schema_errors: tuple[str, ...]
    gold: Any
    document: str
    spec: AnswerSpec

    @property
    def valid(self) -> bool:
        return self.parse.ok and not self.schema_errors

    @property
    def answer(self) -> Any:
        return self.parse.value if self.valid else None

    @property
    def gold_answer(self) -> Any:
        """The gold as an answer object: a JSON-object gold as is, a scalar gold as {label_field: gold}."""
        return self.gold if isinstance(self.gold, Mapping) else {self.spec.label_field: self.gold}


# --- field paths into an answer: "excerpts", "evidence.quotes", "comments[].text_excerpt" ------------------

_PATH = re.compile(r"^[A-Za-z_][\w-]*(\[\])?(\.[A-Za-z_][\w-]*(\[\])?)*$")


def check_path(path: Any, where: str) -> str:
    if not isinstance(path, str) or not _PATH.match(path):
        raise MetricConfigError(f"{where}: {path!r} is not a field path; write e.g. `excerpts`, `evidence.quote` "
                                f"or `comments[].text_excerpt` ([] walks a list)")
    return path


def values_at(value: Any, path: str) -> list[Any]:
    """Every value at `path` (a `[]` step walks a list); missing steps give nothing."""
    current = [value]
    for step in path.split("."):
        walk = step.endswith("[]")
        name = step.removesuffix("[]")
        found = [v[name] for v in current if isinstance(v, Mapping) and name in v]
        current = [x for v in found if isinstance(v, list) for x in v] if walk else found
    return current


def strings_in(value: Any) -> list[str]:
    """All string leaves of a JSON value, in document order."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [s for v in value.values() for s in strings_in(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings_in(v)]
    return []


def _field_in_schema(schema: Mapping[str, Any], path: str, where: str) -> None:
    """The path's first step must be a property the schema declares (catches typos in metric options)."""
    first = path.split(".")[0].removesuffix("[]")
    properties = schema.get("properties") if isinstance(schema, Mapping) else None
    if isinstance(properties, Mapping) and first not in properties:
        raise MetricConfigError(f"{where}: field {first!r} is not a property of output_schema "
                                f"(it has {sorted(properties)})")


# --- the metric factories ---------------------------------------------------------------------------------

Options = Mapping[str, Any]


def _schema_valid(options: Options, spec: AnswerSpec, where: str) -> Metric[AnswerContext]:
    def compute(ctx: AnswerContext) -> dict[str, float]:
        return {"json_valid": float(ctx.parse.ok), "schema_valid": float(ctx.valid)}

    return Metric("schema_valid", compute, lambda _: [agg.mean("json_valid"), agg.mean("schema_valid")],
                  description="the answer is JSON and passes the output schema")


def _classification(options: Options, spec: AnswerSpec, where: str) -> Metric[AnswerContext]:
    label_field = options.get("label_field", spec.label_field)
    if not isinstance(label_field, str):
        raise MetricConfigError(f"{where}.label_field must be a string, got {label_field!r}")
    try:
        classes = classification.classes_from_schema(spec.output_schema, label_field)
    except ValueError as exc:
        raise MetricConfigError(f"{where}: {exc}; the schema's enum is the class list") from None

    def gold_label(ctx: AnswerContext) -> Any:
        return ctx.gold.get(label_field) if isinstance(ctx.gold, Mapping) else ctx.gold

    def predicted(ctx: AnswerContext) -> str | None:
        label, _ = classification.read_label(ctx.answer, classes, label_field) if ctx.valid else (None, None)
        return label

    def compute(ctx: AnswerContext) -> dict[str, float]:
        return classification.label_values(predicted(ctx), gold_label(ctx), classes)

    def details(ctx: AnswerContext) -> dict[str, Any]:
        return {classification.DETAILS_KEY: {"gold": gold_label(ctx), "predicted": predicted(ctx)}}

    return Metric("classification", compute, lambda _: classification.aggregates(classes), details,
                  description=f"the answer's {label_field} against the gold class: accuracy, macro-F1, F1 per class")


def _exact_match(options: Options, spec: AnswerSpec, where: str) -> Metric[AnswerContext]:
    path = options.get("field")
    if path is not None:
        check_path(path, f"{where}.field")
        _field_in_schema(spec.output_schema, path, f"{where}.field")
    fold = options.get("normalize", True)
    if not isinstance(fold, bool):
        raise MetricConfigError(f"{where}.normalize must be true or false, got {fold!r}")

    def pick(value: Any) -> Any:
        return value if path is None else values_at(value, path)

    def same(a: Any, b: Any) -> bool:
        if fold and isinstance(a, str) and isinstance(b, str):
            return normalize(a) == normalize(b)
        if fold and isinstance(a, list) and isinstance(b, list):
            return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
        return json_equal(a, b)

    def compute(ctx: AnswerContext) -> dict[str, float]:
        if not ctx.valid:
            return {"exact_match": 0.0}
        return {"exact_match": float(same(pick(ctx.answer), pick(ctx.gold_answer)))}

    return Metric("exact_match", compute, lambda _: [agg.mean("exact_match")],
                  description="the answer (or one field of it) equals the gold")


def _grounding(options: Options, spec: AnswerSpec, where: str) -> Metric[AnswerContext]:
    if "field" not in options:
        raise MetricConfigError(f"{where}: grounding needs `field`, the answer field holding the quoted excerpts, "
                                f"e.g. {{name: grounding, field: excerpts}}")
    path = check_path(options["field"], f"{where}.field")
    _field_in_schema(spec.output_schema, path, f"{where}.field")
    min_chars = options.get("min_chars", 12)
    if isinstance(min_chars, bool) or not isinstance(min_chars, int) or min_chars < 1:
        raise MetricConfigError(f"{where}.min_chars must be a positive integer, got {min_chars!r}")

    def compute(ctx: AnswerContext) -> dict[str, float]:
        excerpts = values_at(ctx.answer, path) if ctx.valid else []
        document = Document.from_sentences([ctx.document])
        grounded = sum(1 for e in excerpts if isinstance(e, str) and ground(e, document, min_chars).grounded)
        return {"grounded_excerpts": float(grounded), "total_excerpts": float(len(excerpts))}

    return Metric("grounding", compute,
                  lambda _: [agg.ratio("grounding", "grounded_excerpts", "total_excerpts",
                                       "share of excerpts found verbatim in the document")],
                  description=f"excerpts at {path} found verbatim in the document")


def _length(options: Options, spec: AnswerSpec, where: str) -> Metric[AnswerContext]:
    max_chars = options.get("max_chars", 4000)
    if isinstance(max_chars, bool) or not isinstance(max_chars, int) or max_chars < 1:
        raise MetricConfigError(f"{where}.max_chars must be a positive integer, got {max_chars!r}")
    return Metric("length", lambda ctx: length_values(ctx.output_text, max_chars),
                  lambda _: [agg.mean("length_ok"), agg.mean("length_chars", higher_is_better=False)],
                  description=f"the answer is at most {max_chars} characters")


def _language(options: Options, spec: AnswerSpec, where: str) -> Metric[AnswerContext]:
    language = options.get("language", "en")
    if language not in LANGUAGE_CHECKS:
        raise MetricConfigError(f"{where}.language {language!r} has no check; known: {sorted(LANGUAGE_CHECKS)}")
    path = options.get("field")
    if path is not None:
        check_path(path, f"{where}.field")
        _field_in_schema(spec.output_schema, path, f"{where}.field")
    check_language = language_check(language)

    def texts(ctx: AnswerContext) -> list[str]:
        if not ctx.valid:
            return []
        return strings_in(values_at(ctx.answer, path) if path else ctx.answer)

    return Metric("language", lambda ctx: {"language_ok": float(check_language(texts(ctx)).ok)},
                  lambda _: [agg.mean("language_ok")],
                  description=f"the answer's prose is in {language}")


@dataclass(frozen=True)
class MetricFactory:
    build: Callable[[Options, AnswerSpec, str], Metric[AnswerContext]]
    options: frozenset[str] = field(default_factory=frozenset)
    description: str = ""


# Plug-ins add metrics through entry points in group `rft_evals.metrics` whose target is a MetricFactory.
CONFIG_METRICS: Registry[MetricFactory] = Registry("metric", "rft_evals.metrics", MetricConfigError)
CONFIG_METRICS.register("schema_valid", MetricFactory(_schema_valid, frozenset(), "JSON and output-schema validity"))
CONFIG_METRICS.register("classification", MetricFactory(
    _classification, frozenset({"label_field"}),
    "single-label accuracy, macro-F1, F1 per class (classes = the schema's enum)"))
CONFIG_METRICS.register("exact_match", MetricFactory(_exact_match, frozenset({"field", "normalize"}),
                                                     "the answer, or one field, equals the gold"))
CONFIG_METRICS.register("grounding", MetricFactory(_grounding, frozenset({"field", "min_chars"}),
                                                   "quoted excerpts found verbatim in the document"))
CONFIG_METRICS.register("length", MetricFactory(_length, frozenset({"max_chars"}), "answer length within max_chars"))
CONFIG_METRICS.register("language", MetricFactory(_language, frozenset({"language", "field"}),
                                                  "the answer's prose language"))


@dataclass(frozen=True)
class MetricSpec:
    name: str
    options: Mapping[str, Any] = field(default_factory=dict)


def parse_metric_specs(raw: Any, where: str) -> tuple[MetricSpec, ...]:
    """`metrics:` is a list of names or {name: ..., <option>: ...} mappings."""
    if not isinstance(raw, list) or not raw:
        raise MetricConfigError(f"{where} must be a non-empty list of metric names or {{name: ..., options}}; "
                                f"known metrics: {sorted(CONFIG_METRICS)}")
    specs = []
    for i, entry in enumerate(raw):
        if isinstance(entry, str):
            entry = {"name": entry}
        if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str):
            raise MetricConfigError(f"{where}[{i}]: expected a metric name or a mapping with `name`, got {entry!r}")
        name = entry["name"]
        if name not in CONFIG_METRICS:
            raise MetricConfigError(f"{where}[{i}]: unknown metric {name!r}; known metrics: "
                                    + "; ".join(f"{n} ({f.description})" for n, f in CONFIG_METRICS.items())
                                    + f". A package adds one with an entry point in group {CONFIG_METRICS.group!r} "
                                    f"(see {GUIDE})")
        factory = CONFIG_METRICS.lookup(name, f"{where}[{i}]")
        if not isinstance(factory, MetricFactory):
            raise MetricConfigError(f"{where}[{i}]: metric {name!r} is a {type(factory).__name__}, not a "
                                    "metrics.config_metrics.MetricFactory; point its entry point at one")
        options = {k: v for k, v in entry.items() if k != "name"}
        unknown = set(options) - factory.options
        if unknown:
            raise MetricConfigError(f"{where}[{i}] ({name}): unknown option(s) {sorted(unknown)}; "
                                    f"{name} takes {sorted(factory.options) or 'no options'}")
        specs.append(MetricSpec(name, options))
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise MetricConfigError(f"{where} names a metric twice: {names}")
    return tuple(specs)


class ConfigScorer:
    """The scorer of one config task: the output schema's validator and the chosen metrics, built once."""

    def __init__(self, spec: AnswerSpec, metrics: Sequence[MetricSpec], where: str = "metrics"):
        self.spec = spec
        self.validator = SchemaValidator(spec.output_schema)
        built = [CONFIG_METRICS[m.name].build(m.options, spec, f"{where}[{i}]") for i, m in enumerate(metrics)]
        self.registry: MetricRegistry[AnswerContext] = MetricRegistry(built)
        self.names = tuple(m.name for m in built)
        # With a classification metric, the gold label must be one of the classes: (label field, classes).
        self.label_check: tuple[str, tuple[str, ...]] | None = None
        for m in metrics:
            if m.name == "classification":
                label_field = m.options.get("label_field", spec.label_field)
                self.label_check = (label_field, classification.classes_from_schema(spec.output_schema, label_field))

    def gold_label_error(self, gold: Any) -> str | None:
        """Why a gold value cannot be scored by the classification metric, or None."""
        if self.label_check is None:
            return None
        label_field, classes = self.label_check
        label = gold.get(label_field) if isinstance(gold, Mapping) else gold
        if label not in classes:
            return f"gold label {label!r} is not one of the classes {list(classes)} (output_schema enum)"
        return None

    def aggregates(self) -> list[agg.Aggregate]:
        return self.registry.aggregates(self.names, self.spec)

    def score(self, output_text: Any, reference: Mapping[str, Any]) -> SampleScore:
        if not isinstance(reference, Mapping) or reference.get("gold") is None:
            error = ClassifiedError(ErrorKind.INPUT, "bad reference: it needs a non-null `gold`", "reference")
            return SampleScore(errors=[error])
        gold = reference["gold"]
        problem = self.gold_label_error(gold)
        if problem is not None:
            return SampleScore(errors=[ClassifiedError(ErrorKind.INPUT, f"bad reference: {problem}", "reference")])
        text = "" if output_text is None else output_text
        checked = check_output(text, self.validator, MAX_SCHEMA_MESSAGES)
        parsed, schema_errors, errors = checked.parsed, checked.schema_errors, checked.errors
        ctx = AnswerContext(text if isinstance(text, str) else str(text), parsed, schema_errors, gold,
                            str(reference.get("document") or ""), self.spec)
        values, details = self.registry.run(self.names, ctx)
        details = {"json_repaired": parsed.repaired, "schema_errors": list(schema_errors), **details}
        return SampleScore(values=values, errors=errors, details=details)


def config_scorer_to_dict(spec: AnswerSpec, metrics: Sequence[MetricSpec]) -> dict[str, Any]:
    """A config task's scorer as JSON: the reward bundle carries it (metrics/scorers.py, scorer "config")."""
    return {"output_schema": spec.output_schema, "label_field": spec.label_field,
            "metrics": [{"name": m.name, **m.options} for m in metrics]}


def config_scorer_from_dict(data: Mapping[str, Any]) -> ConfigScorer:
    schema = data.get("output_schema")
    if not isinstance(schema, Mapping):
        raise MetricConfigError("config scorer spec: `output_schema` must be an object")
    spec = AnswerSpec(schema, str(data.get("label_field") or "label"))
    return ConfigScorer(spec, parse_metric_specs(data.get("metrics"), "config scorer spec: `metrics`"))
