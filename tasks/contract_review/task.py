"""The contract-review task: windows of CLAUDETTE Terms of Service, reviewed against the playbook, scored by
the shared metrics layer (metrics/comment_review)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from functools import cached_property
from pathlib import Path
from typing import Any

from tasks.comment_review.task import NO_RISK, CommentReviewTask, quote
from tasks.contract_review import claudette
from tasks.contract_review.playbook import RATIONALES_RELPATH, Playbook, load_playbook
from tasks.contract_review.prompt import PROMPT, PROMPTS
from tasks.contract_review.windows import Window, windows
from tasks.data_root import require
from tasks.selection import select

# quote and select lived here first; importers still find them here
__all__ = ["ContractReviewConfig", "ContractReviewTask", "build", "quote", "select"]


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
    prompt: str = "full"  # "full" (instructions, schema, whole playbook) or "compact" (for fine-tuned models)
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
        if not isinstance(config.prompt, str) or config.prompt not in PROMPTS:
            raise ValueError(f"task config: prompt {config.prompt!r} is not known; use one of {sorted(PROMPTS)}")
        if config.split not in claudette.SPLITS:
            raise ValueError(f"task config: split {config.split!r} is not known; use one of {claudette.SPLITS}")
        return config


class ContractReviewTask(CommentReviewTask[ContractReviewConfig, Playbook]):
    review_prompt = PROMPT

    def __init__(self, config: ContractReviewConfig, playbook: Playbook | None = None):
        super().__init__(config, playbook)
        self.review_prompt = PROMPTS[config.prompt]
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
        if self.config.prompt == "compact":
            return self.playbook.render_compact_reference()
        return self.playbook.render_reference(self.config.max_rationales_per_category)

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

    # -- gold answers: the assessment stands for the CLAUDETTE level; the rationale is the playbook criterion ---
    def _gold_assessment(self, gold: Mapping[str, Any]) -> str:
        return self.playbook.assessment_for_level(gold["level"])

    def _rationale(self, risk: str, assessment: str) -> str:
        return self.playbook.rationale(risk, assessment)

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
