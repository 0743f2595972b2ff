"""The typed configuration of a config task (in the manner of lm-evaluation-harness task YAMLs).

A config task comes from a YAML file named by `spec:` (`rft-evals run task=config task.spec=my_task.yaml`),
or inline, from a Hydra task config whose `kind` is `config`. Every problem is a ConfigTaskError naming the
file, the key and the fix. See docs/config_tasks.md for a worked example."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from tasks.config_task import templates
from metrics.config_metrics import AnswerSpec, MetricConfigError, MetricSpec, parse_metric_specs
from tasks.config_task.rows import FieldMap
from tasks.config_task.schema_check import load_schema

log = logging.getLogger(__name__)
BAD_ROW_POLICIES = ("error", "skip")
# Keys a Hydra task config may carry next to `spec:`; everything else belongs in the spec file.
RUN_KEYS = ("name", "kind", "split", "data_root", "spec", "_source")


class ConfigTaskError(ValueError):
    pass


@dataclass(frozen=True)
class PromptSpec:
    system: str
    user: str


@dataclass(frozen=True)
class ConfigTaskSpec:
    name: str
    source: str  # the YAML file (or Hydra config) the task came from, named in every error
    data: Mapping[str, str]  # split -> data file (relative to the data root, or absolute)
    fields: FieldMap
    prompt: PromptSpec
    output_schema: Mapping[str, Any]
    metrics: tuple[MetricSpec, ...]
    kind: str = "config"
    description: str = ""
    split: str = "test"  # the split evaluated when the run names none
    few_shot_split: str = "train"  # demonstrations come from here (when the data has that split)
    reference_text: str | None = None  # one Reference for every item, instead of fields.reference
    label_field: str = "label"  # the answer field a scalar gold fills: {"label": <gold>}
    majority_answer: Any = None  # the majority baseline's gold; None: the most common gold of few_shot_split
    on_bad_rows: str = "error"  # error: stop listing every bad row; skip: evaluate the rest, log the skipped ids
    data_root: str | None = None  # None: the run's data root; in a spec file, relative to the file's folder

    @property
    def answer_spec(self) -> AnswerSpec:
        return AnswerSpec(self.output_schema, self.label_field)


def _fail(source: str, key: str, message: str) -> ConfigTaskError:
    return ConfigTaskError(f"task spec {source}: `{key}`: {message}")


def _string(values: Mapping[str, Any], key: str, source: str, *, required: bool = False,
            default: str | None = None) -> str | None:
    value = values.get(key, default)
    if value is None and required:
        raise _fail(source, key, "is missing; add it (see docs/config_tasks.md)")
    if value is not None and not isinstance(value, str):
        hint = "; YAML reads unquoted yes/no/on/off/true/false as booleans: quote the word" \
            if isinstance(value, bool) else ""
        raise _fail(source, key, f"must be text, got {type(value).__name__} {value!r:.60}{hint}")
    return value


def _data(raw: Any, source: str) -> dict[str, str]:
    if raw is None:
        raise _fail(source, "data", "is missing; name the data file, e.g. `data: my_items.jsonl` or "
                                    "`data: {test: items.jsonl, train: examples.jsonl}`")
    if isinstance(raw, str):
        return {"test": raw}
    if not isinstance(raw, Mapping) or not raw or not all(isinstance(v, str) for v in raw.values()):
        raise _fail(source, "data", f"must be a path or a mapping split -> path, got {raw!r:.80}")
    return {str(k): v for k, v in raw.items()}


def _fields(raw: Any, source: str) -> FieldMap:
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise _fail(source, "fields", f"must map id/document/gold/reference to column names, got {raw!r:.60}")
    known = {f.name for f in fields(FieldMap)}
    unknown = set(raw) - known
    if unknown:
        raise _fail(source, "fields", f"unknown key(s) {sorted(unknown)}; map {sorted(known)} to your columns")
    for key, value in raw.items():
        if value is not None and not isinstance(value, str):
            raise _fail(source, f"fields.{key}", f"must be a column name, got {value!r}")
        if value is None and key in ("document", "gold"):
            raise _fail(source, f"fields.{key}", "cannot be null: every item needs one")
    return FieldMap(**raw)


def _prompt(raw: Any, source: str) -> PromptSpec:
    if not isinstance(raw, Mapping):
        raise _fail(source, "prompt", "is missing or not a mapping; give `prompt: {system: ..., user: ...}` with "
                                      "{document} in the user template")
    unknown = set(raw) - {"system", "user"}
    if unknown:
        raise _fail(source, "prompt", f"unknown key(s) {sorted(unknown)}; use system and user")
    system = _string(raw, "system", source, default="") or ""
    user = _string(raw, "user", source)
    if not user:
        raise _fail(source, "prompt.user", "is missing; the user message template, with {document}")
    return PromptSpec(system, user)


def parse_spec(values: Mapping[str, Any], source: str, base_dir: Path) -> ConfigTaskSpec:
    """A checked ConfigTaskSpec from the YAML's mapping. `base_dir` resolves a relative output_schema path."""
    known = {f.name for f in fields(ConfigTaskSpec)} - {"source"}
    unknown = set(values) - known - {"spec", "_source"}
    if unknown:
        raise ConfigTaskError(f"task spec {source}: unknown key(s) {sorted(unknown)}; known keys are {sorted(known)}")
    name = _string(values, "name", source, required=True)
    prompt = _prompt(values.get("prompt"), source)
    reference_text = _string(values, "reference_text", source)
    field_map = _fields(values.get("fields"), source)
    if reference_text is not None and field_map.reference is not None:
        raise _fail(source, "reference_text", "and fields.reference are both set; keep one (a fixed Reference "
                                              "for every item, or a column per row)")
    if "output_schema" not in values:
        raise _fail(source, "output_schema", "is missing; give the answer's JSON Schema inline or a path to a "
                                             ".json file")
    try:
        schema = load_schema(values["output_schema"], base_dir, f"task spec {source}: `output_schema`")
    except ValueError as exc:
        raise ConfigTaskError(str(exc)) from None
    label_field = _string(values, "label_field", source, default="label") or "label"
    try:
        metric_specs = parse_metric_specs(values.get("metrics"), f"task spec {source}: `metrics`")
    except MetricConfigError as exc:
        raise ConfigTaskError(str(exc)) from None
    on_bad_rows = _string(values, "on_bad_rows", source, default="error")
    if on_bad_rows not in BAD_ROW_POLICIES:
        raise _fail(source, "on_bad_rows", f"{on_bad_rows!r} is not one of {list(BAD_ROW_POLICIES)}")
    spec = ConfigTaskSpec(
        name=name or "", source=source, data=_data(values.get("data"), source), fields=field_map, prompt=prompt,
        output_schema=schema, metrics=metric_specs, kind=_string(values, "kind", source, default="config") or "config",
        description=_string(values, "description", source, default="") or "",
        split=_string(values, "split", source, default="test") or "test",
        few_shot_split=_string(values, "few_shot_split", source, default="train") or "train",
        reference_text=reference_text, label_field=label_field, majority_answer=values.get("majority_answer"),
        on_bad_rows=on_bad_rows or "error", data_root=_string(values, "data_root", source),
    )
    available = {"document", "schema"} | ({"reference"} if reference_text is not None or field_map.reference else set())
    try:
        templates.check({f"task spec {source}: `prompt.system`": prompt.system,
                         f"task spec {source}: `prompt.user`": prompt.user}, available)
    except templates.TemplateError as exc:
        raise ConfigTaskError(str(exc)) from None
    return spec


TRUE_WORDS = ("yes", "y", "on")  # with "no", "n", "off": words YAML 1.1 (PyYAML) turns into booleans
BOOLEAN_WORDS = TRUE_WORDS + ("no", "n", "off")


def load_yaml_noting_booleans(text: str) -> tuple[Any, list[tuple[int, str]]]:
    """safe_load, plus the (line, word) of every plain yes/no/on/off that became a boolean: a label `Yes` in
    `enum: [Yes, No]` silently becomes True, and the gold "Yes" then matches no class."""
    import yaml

    found: list[tuple[int, str]] = []

    class NotingLoader(yaml.SafeLoader):
        pass

    def construct_bool(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> bool:
        if node.value.lower() in BOOLEAN_WORDS:
            found.append((node.start_mark.line + 1, node.value))
        return yaml.SafeLoader.construct_yaml_bool(loader, node)

    NotingLoader.add_constructor("tag:yaml.org,2002:bool", construct_bool)
    return yaml.load(text, Loader=NotingLoader), found  # noqa: S506 - a SafeLoader subclass


def read_spec_file(path: Path | str) -> dict[str, Any]:
    import yaml  # PyYAML comes with hydra-core / omegaconf

    file = Path(path).expanduser()
    if not file.is_file():
        raise ConfigTaskError(f"task spec {str(file)!r} does not exist; pass the task YAML as task.spec=<path> "
                              f"(relative paths are read from the current folder)")
    try:
        values, booleans = load_yaml_noting_booleans(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigTaskError(f"task spec {file}: not valid YAML ({exc})") from None
    for line, word in booleans:
        log.warning("task spec %s, line %d: unquoted %r is read by YAML as the boolean %s, not the text %r; "
                    "quote it ('%s') if you mean the word, e.g. a class label in an enum", file, line, word,
                    word.lower() in TRUE_WORDS, word, word)
    if not isinstance(values, Mapping):
        raise ConfigTaskError(f"task spec {file}: expected a mapping of keys (name, data, fields, prompt, "
                              f"output_schema, metrics), got {type(values).__name__}")
    return dict(values)


def spec_from_config(cfg: Mapping[str, Any]) -> ConfigTaskSpec:
    """From a Hydra task config: `spec: <file>` (run-level keys may override split and data_root), or the
    task keys inline (the file named by `_source`, else conf/task/<name>.yaml)."""
    values = dict(cfg)
    spec_path = values.get("spec")
    if spec_path:
        extra = set(values) - set(RUN_KEYS)
        if extra:
            raise ConfigTaskError(f"task config with spec={spec_path}: key(s) {sorted(extra)} belong in the spec file; "
                                  f"only {list(RUN_KEYS)} go next to `spec`")
        file_values = read_spec_file(spec_path)
        file = Path(str(spec_path)).expanduser().resolve()
        root = file_values.get("data_root")
        if isinstance(root, str) and not Path(root).expanduser().is_absolute():
            file_values["data_root"] = str(file.parent / root)  # `data_root: .` = the spec file's folder
        for key in ("split", "data_root"):  # run-level choices: the command line wins over the file
            if values.get(key) is not None:
                file_values[key] = values[key]
        return parse_spec(file_values, str(file), file.parent)
    source = str(values.pop("_source", None) or f"conf/task/{values.get('name', '?')}.yaml")
    values.pop("spec", None)
    if set(values) <= set(RUN_KEYS):  # only the run-level keys of conf/task/config.yaml: no task at all
        raise ConfigTaskError("task=config needs the task's YAML file: add task.spec=<path>, e.g. "
                              "`rft-evals run task=config task.spec=my_tasks/clause_type.yaml` (docs/config_tasks.md)")
    return parse_spec(values, source, Path(source).parent)
