"""The cuad_risks task: windows of CUAD commercial contracts, reviewed for the playbook's risk categories, scored
by the same metrics as contract_review (metrics/comment_review) with this task's ReviewSpec.

Data flow: master_clauses.csv gives, per contract and category, the clause texts; the contract text comes from
full_contract_txt.tar.gz (read in place); the text is cut into units (segment.py), each clause is located
among the units (gold.py), contracts are split train/test by a seeded hash of their file name, and each
contract is cut into windows (windows.py). Parsed contracts are cached per task object and split.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from functools import cached_property
from pathlib import Path
from typing import Any

from tasks.comment_review.task import NO_RISK, CommentReviewTask
from tasks.cuad_risks import cuad
from tasks.cuad_risks.gold import LocationReport, locate_contract
from tasks.cuad_risks.playbook import Playbook, load_playbook
from tasks.cuad_risks.prompt import PROMPT
from tasks.cuad_risks.segment import SegmentParams, segment
from tasks.cuad_risks.windows import SPLITS, Contract, Window, hash_rank, split_of, windows
from tasks.data_root import require

log = logging.getLogger(__name__)

DEFAULT_CATEGORIES = (
    "uncapped_liability", "cap_on_liability", "non_compete", "exclusivity", "change_of_control", "anti_assignment",
    "termination_for_convenience", "most_favored_nation", "audit_rights", "ip_ownership_assignment",
    "liquidated_damages", "minimum_commitment",
)
_NESTED = {"window": {"size": "window_size", "max_chars": "window_max_chars"},
           "segment": {"min_chars": "segment_min_chars", "max_chars": "segment_max_chars"}}


@dataclass(frozen=True)
class CuadRisksConfig:
    name: str = "cuad_risks"
    kind: str = "cuad_risks"
    split: str = "test"  # the split evaluated by default; few-shot examples and the baseline use "train"
    test_fraction: float = 0.2
    split_seed: int = 0  # the train/test split of contracts; independent of the run's seed
    max_contracts: int | None = None  # per split, the first N in a seeded hash order; None = all
    categories: tuple[str, ...] | None = DEFAULT_CATEGORIES  # playbook risk ids; None = every playbook category
    window_size: int = 8
    window_max_chars: int = 2000
    segment_min_chars: int = 40
    segment_max_chars: int = 1200
    playbook: str | None = None  # path to a playbook JSON; None = the packaged playbook.json
    max_comments: int = 16  # a window holds up to 16 gold (sentence, risk) pairs: the gold answer must fit
    max_excerpt: int = 300
    max_rationale: int = 300
    baseline_negatives: int | None = None  # "none" units the TF-IDF baseline trains on (seeded sample); None = all
    data_root: str | None = None  # None = tasks.data_root.data_root()

    @classmethod
    def from_mapping(cls, cfg: Mapping[str, Any]) -> CuadRisksConfig:
        values = dict(cfg)
        where = f"task config {values.get('name', 'cuad_risks')!r}"
        for group, keys in _NESTED.items():
            nested = values.pop(group, None) or {}
            if not isinstance(nested, Mapping):
                raise ValueError(f"{where}: {group} must be a mapping with keys {sorted(keys)}, got {nested!r}")
            unknown = set(nested) - set(keys)
            if unknown:
                raise ValueError(f"{where}: {group}: unknown keys {sorted(map(str, unknown))}; use {sorted(keys)}")
            values.update({keys[k]: v for k, v in nested.items()})
        flat = {f.name for f in fields(cls)}
        unknown = set(values) - flat
        if unknown:
            shown = sorted(flat - {k for keys in _NESTED.values() for k in keys.values()}) + sorted(_NESTED)
            raise ValueError(f"{where}: unknown keys {sorted(map(str, unknown))}; known keys are {shown}")
        if values.get("categories") is not None:
            values["categories"] = tuple(values["categories"])
        config = cls(**values)
        if config.split not in SPLITS:
            raise ValueError(f"{where}: split {config.split!r} is not known; use one of {SPLITS}")
        if not 0.0 < config.test_fraction < 1.0:
            raise ValueError(f"{where}: test_fraction must be between 0 and 1 (exclusive), got {config.test_fraction}")
        for key in ("max_contracts", "baseline_negatives"):
            value = getattr(config, key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ValueError(f"{where}: {key} must be an integer >= 1 or null, got {value!r}")
        return config


class CuadRisksTask(CommentReviewTask[CuadRisksConfig, Playbook]):
    review_prompt = PROMPT

    def __init__(self, config: CuadRisksConfig, playbook: Playbook | None = None):
        super().__init__(config, playbook)
        self._contracts: dict[str, list[Contract]] = {}  # per split: parsed once
        self._reports: dict[str, LocationReport] = {}

    # -- configuration ---------------------------------------------------------------------------
    @cached_property
    def playbook(self) -> Playbook:
        base = self._playbook or load_playbook(self.config.playbook)
        selected = base.select(self.config.categories)
        descriptions = {name: info.description for name, info in cuad.read_descriptions(self.root).items()}
        return selected.with_descriptions(descriptions, cuad.DESCRIPTIONS)

    @cached_property
    def reference_text(self) -> str:
        return self.playbook.render_reference()

    # -- data --------------------------------------------------------------------------------------
    @cached_property
    def _labels(self) -> list[cuad.ContractLabels]:
        columns, contracts = cuad.read_master_clauses(self.root, only=set(self.playbook.cuad_names()))
        missing = [c.cuad for c in self.playbook.categories if c.cuad not in set(columns)]
        if missing:
            raise cuad.CuadFormatError(f"{cuad.MASTER_CLAUSES}: no columns for CUAD categories {missing} of the "
                                       "playbook; check the categories' 'cuad' names")
        return contracts

    def contract_names(self, split: str) -> list[cuad.ContractLabels]:
        """The CSV rows of a split (after max_contracts), in CSV order."""
        if split not in SPLITS:
            raise ValueError(f"split {split!r} is not known: use one of {SPLITS}")
        chosen = [c for c in self._labels
                  if split_of(cuad.file_key(c.filename), self.config.split_seed, self.config.test_fraction) == split]
        if self.config.max_contracts is not None:
            ranked = sorted(chosen, key=lambda c: hash_rank(cuad.file_key(c.filename), self.config.split_seed))
            keep = {id(c) for c in ranked[: self.config.max_contracts]}
            chosen = [c for c in chosen if id(c) in keep]
        return chosen

    def contracts(self, split: str) -> list[Contract]:
        if split not in self._contracts:
            self._contracts[split], self._reports[split] = self._parse(split)
        return self._contracts[split]

    def _parse(self, split: str) -> tuple[list[Contract], LocationReport]:
        labels = self.contract_names(split)
        keys = [cuad.file_key(c.filename) for c in labels]
        texts = cuad.read_texts(set(keys), self.root)
        absent = [c.filename for c, k in zip(labels, keys, strict=True) if k not in texts]
        if absent:
            raise cuad.CuadFormatError(f"{cuad.TEXTS}: no text file for {len(absent)} contracts of "
                                       f"{cuad.MASTER_CLAUSES}, e.g. {absent[:3]}; re-fetch it with "
                                       "`rft-evals data fetch`")
        params = SegmentParams(self.config.segment_min_chars, self.config.segment_max_chars)
        categories = self.playbook.cuad_names()
        report = LocationReport()
        contracts = []
        for label, key in zip(labels, keys, strict=True):
            name, text = texts[key]
            units = segment(text, params)
            gold, contract_report = locate_contract(units, label, categories, self.spec.min_excerpt_chars, name)
            report.merge(contract_report)
            contracts.append(Contract(name, key, units, {i: frozenset(r) for i, r in gold.items()}))
        total = report.total()
        message = f"cuad_risks {split} split: {len(contracts)} contracts; {report.summary()}"
        (log.warning if total.unlocated or total.partly else log.info)(message)
        return contracts, report

    def location_report(self, split: str) -> LocationReport:
        """What could be located of the split's gold clauses (parses the split if needed)."""
        self.contracts(split)
        return self._reports[split]

    def windows(self, split: str) -> list[Window]:
        return [w for contract in self.contracts(split)
                for w in windows(contract, self.config.window_size, self.config.window_max_chars)]

    def rows(self, split: str) -> list[dict[str, Any]]:
        levels = self.playbook.levels()
        return [w.to_row(levels) for w in self.windows(split)]

    def data_fingerprint(self) -> str:
        """sha256 (short) of the CUAD files the task reads and the settings that shape its items."""
        digest = hashlib.sha256()
        for relpath in (cuad.MASTER_CLAUSES, cuad.DESCRIPTIONS, cuad.TEXTS):
            digest.update(relpath.encode())
            with require(relpath, self.root).open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
        shaping = {k: v for k, v in self.config.__dict__.items() if k not in ("name", "split", "data_root")}
        digest.update(json.dumps(shaping, sort_keys=True, default=list).encode())
        return digest.hexdigest()[:16]

    # -- gold answers: the assessment is the category severity; the rationale is its "why" ---------------------
    def reference(self, item: Mapping[str, Any]) -> dict[str, Any]:
        return {"sentences": list(item["sentences"]), "gold": [dict(g) for g in item["gold"]], "fair": []}

    def _gold_assessment(self, gold: Mapping[str, Any]) -> str:
        return self.playbook.severity(gold["risk"])

    def _rationale(self, risk: str, assessment: str) -> str:
        return self.playbook.rationale(risk)

    # -- the TF-IDF baseline -----------------------------------------------------------------------
    def sentence_training_set(self) -> tuple[list[str], list[str]]:
        """Units of the train contracts, labelled "none" or "<risk>:<assessment>" (its first gold risk in playbook
        order: the baseline predicts one risk per sentence). Every risky unit is kept; with `baseline_negatives`
        set, only a seeded sample of that many of the ~107k "none" units (quicker to fit, but a weaker floor:
        fewer negatives cost the baseline much of its precision), in corpus order."""
        order = {risk: i for i, risk in enumerate(self.playbook.category_ids)}
        texts, labels = [], []
        for contract in self.contracts("train"):
            for index, unit in enumerate(contract.units):
                risks = sorted(contract.gold.get(index, ()), key=order.__getitem__)
                texts.append(unit)
                labels.append(f"{risks[0]}:{self.playbook.severity(risks[0])}" if risks else NO_RISK)
        cap = self.config.baseline_negatives
        negatives = [i for i, label in enumerate(labels) if label == NO_RISK]
        if cap is None or cap >= len(negatives):
            return texts, labels
        dropped = set(negatives) - set(random.Random(self.config.split_seed).sample(negatives, cap))
        keep = [i for i in range(len(texts)) if i not in dropped]
        return [texts[i] for i in keep], [labels[i] for i in keep]


def build(cfg: Mapping[str, Any], data_root: Path | str | None = None) -> CuadRisksTask:
    config = CuadRisksConfig.from_mapping(cfg)
    if data_root is not None and config.data_root is None:
        config = replace(config, data_root=str(data_root))
    # the playbook and the category selection are checked now, so a bad config fails before any data is read
    return CuadRisksTask(config, load_playbook(config.playbook).select(config.categories))
