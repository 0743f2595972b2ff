"""The contract-review task: windows of CLAUDETTE Terms of Service, reviewed against the playbook, scored by
the shared metrics layer (metrics/comment_review)."""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tasks.contract_review import claudette, prompt
from tasks.contract_review.playbook import RATIONALES_RELPATH, Playbook, load_playbook
from tasks.contract_review.schema import output_schema
from tasks.contract_review.windows import Window, windows
from tasks.data_root import data_root as default_data_root
from tasks.data_root import require

if TYPE_CHECKING:  # heavy imports stay out of module import time
    import datasets

    from metrics.aggregates import Aggregate
    from metrics.review_spec import ReviewSpec
    from metrics.types import SampleScore

NO_RISK = "none"
FEW_SHOT_POOL = 20  # examples are drawn from the shortest windows of each kind


@dataclass(frozen=True)
class ContractReviewConfig:
    name: str = "contract_review"
    kind: str = "contract_review"
    fold: int = 0
    split: str = "test"  # the split evaluated by default; training data always comes from "train"
    window_size: int = 8
    window_stride: int = 8
    playbook: str | None = None  # path to a playbook JSON; None = the packaged playbook.json
    include_rationales: bool = True
    max_rationales_per_category: int | None = 4
    max_comments: int = 8
    max_excerpt: int = 300
    max_rationale: int = 300
    data_root: str | None = None  # None = tasks.data_root.data_root()

    @classmethod
    def from_mapping(cls, cfg: Mapping[str, Any]) -> ContractReviewConfig:
        values = dict(cfg)
        window = values.pop("window", None) or {}
        if not isinstance(window, Mapping):
            raise ValueError(f"task config window: must be a mapping {{size, stride}}, got {window!r}")
        unknown_window = set(window) - {"size", "stride"}
        if unknown_window:
            raise ValueError(f"task config window: unknown keys {sorted(map(str, unknown_window))}; "
                             "use size and stride")
        if "size" in window:
            values["window_size"] = window["size"]
        if "stride" in window:
            values["window_stride"] = window["stride"]
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"task config {values.get('name', '?')!r}: unknown keys {sorted(map(str, unknown))}; "
                             f"known keys are {sorted(known - {'window_size', 'window_stride'}) + ['window']}")
        config = cls(**values)
        if config.fold not in claudette.FOLDS:
            raise ValueError(f"task config: fold {config.fold!r} is not known; use 0-4")
        if config.split not in claudette.SPLITS:
            raise ValueError(f"task config: split {config.split!r} is not known; use one of {claudette.SPLITS}")
        return config


def quote(sentence: str, max_chars: int) -> str:
    """A verbatim prefix of `sentence` of at most `max_chars`, cut at a word boundary when possible."""
    text = sentence.strip()
    if len(text) <= max_chars:
        return text
    cut = text[:max_chars]
    space = cut.rfind(" ")
    return (cut[:space] if space > 0 else cut).rstrip()


def select(dataset: datasets.Dataset, limit: int | None, seed: int = 0) -> datasets.Dataset:
    """`limit` items picked by a seeded shuffle (kept in dataset order); all items when limit is None."""
    if limit is None or limit >= len(dataset):
        return dataset
    if limit < 0:
        raise ValueError(f"limit must be >= 0 or null, got {limit}")
    indices = list(range(len(dataset)))
    random.Random(seed).shuffle(indices)
    return dataset.select(sorted(indices[:limit]))


class ContractReviewTask:
    def __init__(self, config: ContractReviewConfig, playbook: Playbook | None = None):
        self.config = config
        self.name = config.name
        self.root = Path(config.data_root) if config.data_root else default_data_root()
        self._playbook = playbook
        self._documents: dict[str, list[claudette.Document]] = {}  # per split: the files are read once

    # -- configuration ---------------------------------------------------------------------------
    @cached_property
    def playbook(self) -> Playbook:
        if self._playbook is not None:
            return self._playbook
        rationales = require(RATIONALES_RELPATH, self.root) if self.config.include_rationales else None
        return load_playbook(self.config.playbook, rationales)

    @cached_property
    def reference_text(self) -> str:
        return self.playbook.render_reference(self.config.max_rationales_per_category)

    @cached_property
    def _schema(self) -> dict[str, Any]:
        return output_schema(self.playbook, self.config.max_comments, self.config.max_excerpt,
                             self.config.max_rationale)

    @cached_property
    def spec(self) -> ReviewSpec:
        return self.playbook.review_spec(self._schema)

    def output_schema(self) -> dict[str, Any]:
        return json.loads(json.dumps(self._schema))  # a copy: callers may not alter the task's schema

    def prompt_template_hash(self) -> str:
        return prompt.template_hash(self.reference_text, self._schema)

    # -- data --------------------------------------------------------------------------------------
    @cached_property
    def fold(self) -> claudette.Fold:
        return claudette.read_fold(self.config.fold, self.root)

    def documents(self, split: str) -> list[claudette.Document]:
        if split not in self._documents:
            self._documents[split] = claudette.read_documents(self.fold.split(split), self.root)
        return self._documents[split]

    def windows(self, split: str) -> list[Window]:
        return [w for doc in self.documents(split)
                for w in windows(doc, self.config.window_size, self.config.window_stride)]

    def rows(self, split: str) -> list[dict[str, Any]]:
        rows = []
        for w in self.windows(split):
            gold = [g.to_dict() for g in w.gold]
            fair = [f.to_dict() for f in w.fair]
            sentences = list(w.sentences)
            rows.append({
                "id": w.id, "doc": w.doc, "start": w.start, "sentences": sentences, "document": w.text,
                "gold": gold, "fair": fair,
                "reference": {"sentences": sentences, "gold": gold, "fair": fair},
            })
        return rows

    def load(self, split: str | None = None) -> datasets.Dataset:
        import datasets

        labelled = [{"sentence": datasets.Value("int32"), "risk": datasets.Value("string"),
                     "level": datasets.Value("int32")}]
        features = datasets.Features({
            "id": datasets.Value("string"), "doc": datasets.Value("string"), "start": datasets.Value("int32"),
            "sentences": [datasets.Value("string")], "document": datasets.Value("string"),
            "gold": labelled, "fair": labelled,
            "reference": {"sentences": [datasets.Value("string")], "gold": labelled, "fair": labelled},
        })
        return datasets.Dataset.from_list(self.rows(split or self.config.split), features=features)

    def select(self, dataset: datasets.Dataset, limit: int | None, seed: int = 0) -> datasets.Dataset:
        return select(dataset, limit, seed)

    def data_fingerprint(self) -> str:
        """sha256 (short) of the fold lists and every document file the task reads."""
        digest = hashlib.sha256()
        paths = [f"{claudette.LISTS_DIR}/LIST_{s.upper()}_{self.config.fold}.txt" for s in claudette.SPLITS]
        for name in sorted(self.fold.train + self.fold.test):
            paths += [f"{claudette.SENTENCES_DIR}/{name}.txt", f"{claudette.TAGS_DIR}/{name}.txt"]
        for relpath in paths:
            digest.update(relpath.encode())
            digest.update(require(relpath, self.root).read_bytes())
        return digest.hexdigest()[:16]

    # -- prompting ---------------------------------------------------------------------------------
    def messages(self, item: Mapping[str, Any], examples: Sequence[Mapping[str, Any]] = ()) -> list[dict[str, str]]:
        shots = [(ex["document"], self.render_gold(ex)) for ex in examples]
        return prompt.build_messages(self.reference_text, self._schema, item["document"], shots)

    def few_shot_examples(self, k: int, seed: int = 0) -> list[dict[str, Any]]:
        """k train-split items, from the shortest windows; at least one with a risk and one without when k>=2."""
        if k <= 0:
            return []
        rows = sorted(self.rows("train"), key=lambda r: (len(r["document"]), r["id"]))
        risky = [r for r in rows if r["gold"]][:FEW_SHOT_POOL]
        clean = [r for r in rows if not r["gold"]][:FEW_SHOT_POOL]
        rng = random.Random(seed)
        chosen: list[dict[str, Any]] = []
        if k >= 2 and risky and clean:
            chosen = [rng.choice(risky), rng.choice(clean)]
        rest = [r for r in risky + clean if r not in chosen]
        chosen += rng.sample(rest, min(k - len(chosen), len(rest)))
        rng.shuffle(chosen)
        return chosen

    # -- gold and scoring --------------------------------------------------------------------------
    def reference(self, item: Mapping[str, Any]) -> dict[str, Any]:
        return {"sentences": list(item["sentences"]), "gold": [dict(g) for g in item["gold"]],
                "fair": [dict(f) for f in item["fair"]]}

    def render_sentence_flags(self, item: Mapping[str, Any], flags: Sequence[tuple[int, str, str]]) -> str:
        """The JSON answer flagging whole sentences: (sentence index in the window, risk id, assessment id)."""
        sentences = item["sentences"]
        comments = []
        for index, risk, assessment in flags[: self.config.max_comments]:
            if not 0 <= index < len(sentences):
                raise IndexError(f"item {item.get('id')}: sentence {index} is outside the window "
                                 f"of {len(sentences)} sentences")
            comments.append({
                "text_excerpt": quote(sentences[index], self.config.max_excerpt),
                "risk": risk,
                "assessment": assessment,
                "action": self.playbook.default_action(risk, assessment),
                "rationale": quote(self.playbook.rationale(risk, assessment), self.config.max_rationale),
            })
        return json.dumps({"comments": comments}, ensure_ascii=False)

    def render_gold(self, item: Mapping[str, Any]) -> str:
        flags = [(g["sentence"], g["risk"], self.playbook.assessment_for_level(g["level"]))
                 for g in sorted(item["gold"], key=lambda g: (g["sentence"], g["risk"]))]
        return self.render_sentence_flags(item, flags)

    def score(self, output_text: str, reference: Mapping[str, Any]) -> SampleScore:
        from metrics import comment_review  # written in parallel; imported when scoring starts

        return comment_review.score(output_text, reference, self.spec)

    def aggregates(self) -> list[Aggregate]:
        from metrics import comment_review

        return comment_review.aggregates(self.spec)

    # -- the TF-IDF baseline -----------------------------------------------------------------------
    def sentence_training_set(self) -> tuple[list[str], list[str]]:
        """Every sentence of the fold's train documents, labelled "none" or "<risk>:<assessment>" (its first
        potentially/clearly unfair tag)."""
        texts, labels = [], []
        for doc in self.documents("train"):
            for sentence, tags in zip(doc.sentences, doc.tags, strict=True):
                unfair = [t for t in tags if t.level > claudette.FAIR]
                texts.append(sentence)
                labels.append(self.sentence_label(unfair[0]) if unfair else NO_RISK)
        return texts, labels

    def sentence_label(self, tag: claudette.Tag) -> str:
        return f"{claudette.RISK_IDS[tag.category]}:{self.playbook.assessment_for_level(tag.level)}"


def build(cfg: Mapping[str, Any], data_root: Path | str | None = None) -> ContractReviewTask:
    config = ContractReviewConfig.from_mapping(cfg)
    if data_root is not None and config.data_root is None:
        config = ContractReviewConfig(**{**config.__dict__, "data_root": str(data_root)})
    return ContractReviewTask(config)
