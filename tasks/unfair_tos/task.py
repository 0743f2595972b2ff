"""The unfair_tos task: one ToS sentence in, `{"label": <class>}` out, scored by metrics/classification.

Run-level metrics: accuracy, macro-F1 over the 9 classes, macro-F1 over the 8 unfair classes, F1 per class,
and unfair-clause detection F1 (any unfair class vs Other, whichever type was named). The per-sample
(gold, predicted) pair in the records feeds evals/stats/confusion.py.

Majority baseline: `majority_answer(item)` answers every sentence with `majority_label` (default Other). It is
a stated prior, not counted from data: the only labelled rows outside the test split are LegalBench's 9
few-shot examples, one per class, which have no majority; and Other is what the source says dominates ToS
(CLAUDETTE tags 1,651 of its 17,383 sentences at all, so over 90% are untagged)."""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from metrics.label_scorer import LabelScorer, LabelSpec
from tasks.data_root import data_root as default_data_root
from tasks.data_root import require
from tasks.selection import select
from tasks.unfair_tos import data, prompt
from tasks.unfair_tos.classes import LABELS, OTHER, UNFAIR_LABELS

if TYPE_CHECKING:  # heavy imports stay out of module import time
    import datasets

    from metrics.aggregates import Aggregate
    from metrics.types import SampleScore

LABEL_FIELD = "label"


@dataclass(frozen=True)
class UnfairTosConfig:
    name: str = "unfair_tos"
    kind: str = "unfair_tos"
    split: str = "test"  # "test" (3,841 sentences) or "train" (the 9 few-shot rows)
    majority_label: str = OTHER  # the majority baseline's answer: a stated prior (see the module doc)
    # The 9 few-shot rows are also test rows (indices 0, 4, 12, 15, 30, 140, 145, 157, 227): true drops them
    # from the test items, so a few-shot candidate is never asked a sentence it was shown (3,832 items left).
    exclude_demonstrations: bool = False
    data_root: str | None = None  # None = tasks.data_root.data_root()

    @classmethod
    def from_mapping(cls, cfg: Mapping[str, Any]) -> UnfairTosConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(cfg) - known - {"_source"}
        if unknown:
            raise ValueError(f"task config {cfg.get('name', '?')!r} (conf/task/unfair_tos.yaml): unknown keys "
                             f"{sorted(unknown)}; known keys are {sorted(known)}")
        config = cls(**{k: v for k, v in cfg.items() if k in known})
        data.split_file(config.split)  # fails early, naming the valid splits
        if config.majority_label not in LABELS:
            raise ValueError(f"conf/task/unfair_tos.yaml: majority_label {config.majority_label!r} is not one of "
                             f"{list(LABELS)}")
        return config


class UnfairTosTask:
    scorer_name = "label"  # metrics/scorers.py
    reference_text = ""  # no Reference document: the classes are described in the prompt

    def __init__(self, config: UnfairTosConfig):
        self.config = config
        self.name = config.name
        self.root = Path(config.data_root) if config.data_root else default_data_root()
        self._sentences: dict[str, list[data.Sentence]] = {}

    # -- configuration ---------------------------------------------------------------------------
    @property
    def classes(self) -> tuple[str, ...]:
        return LABELS

    @cached_property
    def _schema(self) -> dict[str, Any]:
        return self.label_spec.output_schema()

    @cached_property
    def label_spec(self) -> LabelSpec:
        return LabelSpec(LABELS, LABEL_FIELD, detection_negative=OTHER, detection_prefix="unfair")

    @cached_property
    def _scorer(self) -> LabelScorer:
        return LabelScorer(self.label_spec)

    def scorer_spec(self) -> dict[str, Any]:
        """The JSON the reward bundle carries for the scorer (metrics/scorers.py)."""
        return self.label_spec.to_dict()

    def output_schema(self) -> dict[str, Any]:
        return json.loads(json.dumps(self._schema))  # a copy: callers may not alter the task's schema

    def prompt_template_hash(self) -> str:
        return prompt.template_hash(self._schema)

    # -- data --------------------------------------------------------------------------------------
    def sentences(self, split: str) -> list[data.Sentence]:
        if split not in self._sentences:
            self._sentences[split] = data.read_split(split, self.root)
        return self._sentences[split]

    def rows(self, split: str) -> list[dict[str, Any]]:
        sentences = self.sentences(split)
        if split == "test" and self.config.exclude_demonstrations:
            shown = {s.text for s in self.sentences("train")}
            sentences = [s for s in sentences if s.text not in shown]
        return [{"id": f"utos-{s.index:05d}", "document": s.text, "gold": s.label,
                 "reference": {LABEL_FIELD: s.label}} for s in sentences]

    def load(self, split: str | None = None) -> datasets.Dataset:
        import datasets

        features = datasets.Features({
            "id": datasets.Value("string"), "document": datasets.Value("string"),
            "gold": datasets.Value("string"), "reference": {LABEL_FIELD: datasets.Value("string")},
        })
        return datasets.Dataset.from_list(self.rows(split or self.config.split), features=features)

    def select(self, dataset: datasets.Dataset, limit: int | None, seed: int = 0) -> datasets.Dataset:
        return select(dataset, limit, seed)

    def label_counts(self, split: str) -> dict[str, int]:
        counts = Counter(s.label for s in self.sentences(split))
        return {label: counts.get(label, 0) for label in LABELS}

    def data_fingerprint(self) -> str:
        digest = hashlib.sha256()
        for spec in data.SPLITS.values():
            digest.update(spec.relpath.encode())
            digest.update(require(spec.relpath, self.root).read_bytes())
        return digest.hexdigest()[:16]

    # -- prompting ---------------------------------------------------------------------------------
    def messages(self, item: Mapping[str, Any], examples: Sequence[Mapping[str, Any]] = ()) -> list[dict[str, str]]:
        shots = [(ex["document"], self.render_gold(ex)) for ex in examples]
        return prompt.build_messages(self._schema, item["document"], shots)

    def few_shot_examples(self, k: int, seed: int = 0) -> list[dict[str, Any]]:
        """k of the 9 LegalBench few-shot rows; with k >= 2, Other and at least one unfair class (most test
        sentences are Other: a demonstration set without it would push the model to flag everything)."""
        if k <= 0:
            return []
        rows = self.rows("train")
        rng = random.Random(seed)
        other = [r for r in rows if r["gold"] == OTHER]
        unfair = [r for r in rows if r["gold"] != OTHER]
        chosen = other[:1] if k >= 2 and other else []
        rest = [r for r in unfair + other if r not in chosen]
        chosen += rng.sample(rest, min(k - len(chosen), len(rest)))
        rng.shuffle(chosen)
        return chosen

    # -- gold, scoring, baselines ------------------------------------------------------------------
    def reference(self, item: Mapping[str, Any]) -> dict[str, Any]:
        return {LABEL_FIELD: item["gold"]}

    def render_label(self, label: str) -> str:
        return json.dumps({LABEL_FIELD: label}, ensure_ascii=False)

    def render_gold(self, item: Mapping[str, Any]) -> str:
        return self.render_label(item["gold"])

    def majority_answer(self, item: Mapping[str, Any]) -> str:
        return self.render_label(self.config.majority_label)

    def majority_fingerprint(self) -> str:
        """What the majority answer depends on (for the generation cache key)."""
        return f"prior:{self.config.majority_label}"

    def score(self, output_text: str, reference: Mapping[str, Any]) -> SampleScore:
        return self._scorer.score(output_text, reference)  # label + unfair-vs-Other detection counts

    def aggregates(self) -> list[Aggregate]:
        from metrics import aggregates as agg
        from metrics import classification

        return [
            *classification.aggregates(LABELS),
            agg.macro_f1("macro_f1_unfair", UNFAIR_LABELS, classification.CLASS_PREFIX,
                         "macro-F1 over the 8 unfair classes (Other left out)"),
            agg.f1("unfair_f1", "unfair_tp", "unfair_fp", "unfair_fn",
                   "F1 of flagging a sentence as unfair (any type) vs Other"),
            agg.mean("schema_valid"),
        ]


def build(cfg: Mapping[str, Any], data_root: Path | str | None = None) -> UnfairTosTask:
    config = UnfairTosConfig.from_mapping(cfg)
    if data_root is not None and config.data_root is None:
        config = replace(config, data_root=str(data_root))
    return UnfairTosTask(config)
