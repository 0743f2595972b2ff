"""A task declared entirely in YAML: data file, field mapping, prompt templates, output schema, metrics.

Items are {id, document, reference, gold}; `gold` is kept as canonical JSON text, because Arrow would merge
the keys of differently shaped gold objects (adding nulls) and the scorer must see the gold exactly as
written. Bad rows: with `on_bad_rows: error` (the default) loading stops with one message listing every bad
row (line, id, reason) and the fix; with `skip` the other rows are evaluated, a warning lists the skipped
rows, and `skipped_rows(split)` / `load_report()` keep them for the run's summary. A row is never dropped
silently."""

from __future__ import annotations

import hashlib
import json
import logging
import random
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tasks.config_task import rows as rowmod
from tasks.config_task import templates
from metrics.config_metrics import ConfigScorer, config_scorer_to_dict
from tasks.config_task.spec import ConfigTaskError, ConfigTaskSpec, spec_from_config
from tasks.data_root import data_root as default_data_root
from tasks.selection import select

if TYPE_CHECKING:
    import datasets

    from metrics.aggregates import Aggregate
    from metrics.types import SampleScore

log = logging.getLogger(__name__)


class ConfigTask:
    scorer_name = "config"  # metrics/scorers.py

    def __init__(self, spec: ConfigTaskSpec):
        self.spec = spec
        self.name = spec.name
        self.root = Path(spec.data_root).expanduser() if spec.data_root else default_data_root()
        self.scorer = ConfigScorer(spec.answer_spec, spec.metrics, f"task spec {spec.source}: `metrics`")
        self._items: dict[str, list[dict[str, Any]]] = {}
        self._skipped: dict[str, list[rowmod.BadRow]] = {}

    # -- configuration ---------------------------------------------------------------------------
    @cached_property
    def _schema_text(self) -> str:
        return json.dumps(self.spec.output_schema, separators=(",", ":"), ensure_ascii=False)

    @property
    def reference_text(self) -> str:
        """The fixed Reference every item shares ("" when each row has its own): what a judge reads."""
        return self.spec.reference_text or ""

    def scorer_spec(self) -> dict[str, Any]:
        """The JSON the reward bundle carries for the scorer (metrics/scorers.py)."""
        return config_scorer_to_dict(self.spec.answer_spec, self.spec.metrics)

    def output_schema(self) -> dict[str, Any]:
        return json.loads(self._schema_text)  # a copy: callers may not alter the task's schema

    def prompt_template_hash(self) -> str:
        digest = hashlib.sha256()
        metrics = [[m.name, sorted(m.options.items())] for m in self.spec.metrics]
        schema = json.dumps(self.spec.output_schema, sort_keys=True)
        for part in (self.spec.prompt.system, self.spec.prompt.user, schema, self.spec.reference_text or "",
                     json.dumps(metrics, default=str), self.spec.label_field):
            digest.update(part.encode("utf-8"))
            digest.update(b"\x00")
        return digest.hexdigest()[:12]

    # -- data --------------------------------------------------------------------------------------
    def data_path(self, split: str) -> Path:
        if split not in self.spec.data:
            raise ConfigTaskError(f"task spec {self.spec.source}: `data` has no split {split!r} (it has "
                                  f"{sorted(self.spec.data)}); add `data: {{{split}: <file>}}` or run another split")
        return rowmod.resolve_data_path(self.spec.data[split], self.root,
                                        f"task spec {self.spec.source}: `data.{split}`")

    def rows(self, split: str) -> list[dict[str, Any]]:
        """The usable items of a split; bad rows raise (on_bad_rows: error) or are kept aside (skip)."""
        if split in self._items:
            return self._items[split]
        path = self.data_path(split)
        raw = rowmod.read_rows(path, split)
        items, bad = rowmod.map_rows(raw, self.spec.fields, reference_text=self.spec.reference_text,
                                     gold_problem=self.scorer.gold_label_error)
        if bad:
            report = rowmod.describe_bad_rows(bad, path, len(raw))
            if self.spec.on_bad_rows == "error":
                raise ConfigTaskError(f"task spec {self.spec.source}: {report}\nFix those rows, map `fields:` to the "
                                      f"columns the data has, or set `on_bad_rows: skip` to evaluate the other rows "
                                      f"(the skipped ones are then listed in the log and the run summary)")
            log.warning("task %s: skipping bad rows (on_bad_rows: skip): %s", self.name, report)
        if not items:
            raise ConfigTaskError(f"task spec {self.spec.source}: {path} has no usable row")
        self._warn_if_scalar_gold_cannot_pass(items)
        self._items[split] = items
        self._skipped[split] = bad
        return items

    def _warn_if_scalar_gold_cannot_pass(self, items: Sequence[Mapping[str, Any]]) -> None:
        """A label-only gold renders as {label_field: gold}; if the schema requires more, demonstrations and the
        majority answer fail it. Said once at load, not discovered as schema errors after the run."""
        required = set(self.spec.output_schema.get("required") or ()) - {self.spec.label_field}
        if required and any(not item["gold"].startswith("{") for item in items):
            log.warning("task %s: some gold values are labels, rendered as {%r: <gold>} for few-shot examples and "
                        "the majority baseline, but output_schema also requires %s: those answers will fail the "
                        "schema; make the fields optional or give JSON-object gold", self.name,
                        self.spec.label_field, sorted(required))

    def skipped_rows(self, split: str) -> list[rowmod.BadRow]:
        return list(self._skipped.get(split, []))

    def load_report(self) -> dict[str, Any]:
        """Per loaded split: items kept and the rows skipped (where, id, reason), for the run's summary."""
        return {split: {"items": len(self._items[split]), "skipped": [b.to_dict() for b in self._skipped[split]]}
                for split in self._items}

    def load(self, split: str | None = None) -> datasets.Dataset:
        import datasets

        features = datasets.Features({name: datasets.Value("string")
                                      for name in ("id", "document", "reference", "gold")})
        return datasets.Dataset.from_list(self.rows(split or self.spec.split), features=features)

    def select(self, dataset: datasets.Dataset, limit: int | None, seed: int = 0) -> datasets.Dataset:
        return select(dataset, limit, seed)

    # -- prompting ---------------------------------------------------------------------------------
    def _render(self, template: str, item: Mapping[str, Any]) -> str:
        return templates.render(template, {"document": item["document"], "reference": item.get("reference") or "",
                                           "schema": self._schema_text})

    def messages(self, item: Mapping[str, Any], examples: Sequence[Mapping[str, Any]] = ()) -> list[dict[str, str]]:
        messages = []
        if self.spec.prompt.system:
            messages.append({"role": "system", "content": self._render(self.spec.prompt.system, item)})
        for example in examples:
            messages.append({"role": "user", "content": self._render(self.spec.prompt.user, example)})
            messages.append({"role": "assistant", "content": self.render_gold(example)})
        messages.append({"role": "user", "content": self._render(self.spec.prompt.user, item)})
        return messages

    def few_shot_examples(self, k: int, seed: int = 0) -> list[dict[str, Any]]:
        """k seeded rows of few_shot_split (never the evaluated split: a demonstration must not be a test item)."""
        if k <= 0:
            return []
        split = self.spec.few_shot_split
        if split not in self.spec.data:
            raise ConfigTaskError(f"task spec {self.spec.source}: few-shot examples come from split {split!r}, which "
                                  f"`data` does not name; add `data: {{{split}: <file>}}` or set few_shot: 0")
        pool = self.rows(split)
        return random.Random(seed).sample(pool, min(k, len(pool)))

    # -- gold, scoring, baselines ------------------------------------------------------------------
    def gold(self, item: Mapping[str, Any]) -> Any:
        return json.loads(item["gold"])

    def reference(self, item: Mapping[str, Any]) -> dict[str, Any]:
        return {"gold": self.gold(item), "document": item["document"]}

    def render_answer(self, gold: Any) -> str:
        """The answer that states `gold`: a JSON-object gold as is, a scalar as {label_field: gold}."""
        answer = gold if isinstance(gold, Mapping) else {self.spec.label_field: gold}
        return json.dumps(answer, ensure_ascii=False)

    def render_gold(self, item: Mapping[str, Any]) -> str:
        return self.render_answer(self.gold(item))

    @cached_property
    def _majority(self) -> tuple[Any, str]:
        """(the majority gold, where it came from)."""
        if self.spec.majority_answer is not None:
            return self.spec.majority_answer, "majority_answer in the task spec"
        split = self.spec.few_shot_split
        if split not in self.spec.data:
            raise ConfigTaskError(f"task spec {self.spec.source}: the majority baseline needs `majority_answer:` or "
                                  f"a {split!r} split in `data` to count gold labels in (never the evaluated split)")
        counts = Counter(item["gold"] for item in self.rows(split))
        best = max(counts.values())
        tied = sorted(g for g, c in counts.items() if c == best)
        winner = tied[0]  # ties: the gold whose canonical JSON text sorts first (docs/config_tasks.md)
        origin = f"most common gold of split {split!r} ({best} of {sum(counts.values())})"
        if len(tied) > 1:
            origin += f"; tied with {tied[1:]}, broken by the first in sorted JSON text"
            log.warning("task %s: the majority baseline's gold is a tie of %s (%d each in split %r); it answers %s, "
                        "the first in sorted JSON text. Set `majority_answer:` in the task YAML to choose",
                        self.name, tied, best, split, winner)
        return json.loads(winner), origin

    def majority_answer(self, item: Mapping[str, Any]) -> str:
        return self.render_answer(self._majority[0])

    def majority_fingerprint(self) -> str:
        gold, origin = self._majority
        return f"{json.dumps(gold, sort_keys=True)}|{origin}"

    def score(self, output_text: str, reference: Mapping[str, Any]) -> SampleScore:
        return self.scorer.score(output_text, reference)

    def aggregates(self) -> list[Aggregate]:
        return self.scorer.aggregates()


def build(cfg: Mapping[str, Any], data_root: Path | str | None = None) -> ConfigTask:
    spec = spec_from_config(cfg)
    if data_root is not None and spec.data_root is None:
        spec = replace(spec, data_root=str(data_root))
    return ConfigTask(spec)
