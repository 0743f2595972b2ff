"""The NDA policy task (ContractNLI): an NDA (TargetDocument) is checked against the company's NDA policy
(Reference: the 17 hypotheses as rules); the answer labels every rule entailment / contradiction /
not_mentioned with verbatim evidence, and for a contradiction the policy's assessment and an allowed action.

Long NDAs are cut to fit the model's context, explicitly: `max_document_chars` with `truncation: head|chunk`
(tasks/nda_policy/truncation.py), checked at build time against `context_tokens` (see `budget`), and reported
per item (`truncation`) and per run (`truncated_fraction`, `unseen_rule_fraction`, `evidence_recall_all`)."""

from __future__ import annotations

import hashlib
import json
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from metrics.policy_nli import majority_labels
from metrics.policy_review import scoring
from metrics.policy_review.spec import PolicyReviewSpec
from tasks.comment_review.task import quote
from tasks.data_root import data_root as default_data_root
from tasks.nda_policy import contract_nli, prompt
from tasks.nda_policy.gold import segment_gold, truncation_report
from tasks.nda_policy.policy import Policy, load_policy
from tasks.nda_policy.schema import output_schema
from tasks.nda_policy.truncation import STRATEGIES, segments
from tasks.selection import select

if TYPE_CHECKING:
    import datasets

    from metrics.aggregates import Aggregate
    from metrics.types import SampleScore

CHAT_OVERHEAD_TOKENS = 32  # chat-template markers around the messages
FEW_SHOT_POOL = 8  # examples come from the shortest training NDAs that fit few_shot_max_chars
MIN_DOCUMENT_CHARS = 500


class NdaPolicyConfigError(ValueError):
    """The task config is invalid; the message names the key and the fix."""


@dataclass(frozen=True)
class NdaPolicyConfig:
    name: str = "nda_policy"
    kind: str = "nda_policy"
    split: str = "test"  # test (123 NDAs) | dev (61) | train (train_truncated.json: 50)
    policy: str | None = None  # a policy JSON; None = the packaged tasks/nda_policy/policy.json
    truncation: str = "head"  # head | chunk
    max_document_chars: int | None = 10000  # None = whole NDAs (large-context models only)
    context_tokens: int = 8192  # the model context prompt + answer must fit (conf/model/smollm2.yaml n_ctx)
    answer_tokens: int = 1280  # reserved for the answer; keep the model's max_tokens at or below it
    chars_per_token: float = 4.0  # rough size estimate of English text in tokens
    max_evidence: int = 2  # excerpts per rule (schema maxItems)
    max_excerpt: int = 200  # characters per excerpt (schema maxLength)
    min_excerpt_chars: int = 12  # shorter quotes are never grounded
    few_shot_max_chars: int = 3000  # in-context examples are whole training NDAs at most this long
    metrics: tuple[str, ...] | None = None  # scoring metrics by name (metrics/policy_review/scoring.py); None = all
    data_root: str | None = None  # None = tasks.data_root.data_root()

    @classmethod
    def from_mapping(cls, cfg: Mapping[str, Any]) -> NdaPolicyConfig:
        values = dict(cfg)
        where = f"task config {values.get('name', 'nda_policy')!r} (conf/task/nda_policy.yaml)"
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise NdaPolicyConfigError(f"{where}: unknown keys {unknown}; known keys are {sorted(known)}")
        if values.get("metrics") is not None:
            values["metrics"] = tuple(values["metrics"])
        config = cls(**values)
        config._check(where)
        return config

    def _check(self, where: str) -> None:
        def fail(key: str, fix: str) -> None:
            raise NdaPolicyConfigError(f"{where}: {key}={getattr(self, key)!r} is invalid; {fix}")

        if self.split not in contract_nli.SPLIT_FILES:
            fail("split", f"use one of {sorted(contract_nli.SPLIT_FILES)}")
        if self.truncation not in STRATEGIES:
            fail("truncation", f"use one of {sorted(STRATEGIES)}")
        if self.max_document_chars is not None and (not isinstance(self.max_document_chars, int)
                                                    or self.max_document_chars < MIN_DOCUMENT_CHARS):
            fail("max_document_chars", f"use an integer >= {MIN_DOCUMENT_CHARS}, or null for whole NDAs")
        for key in ("context_tokens", "answer_tokens", "max_evidence", "max_excerpt", "few_shot_max_chars"):
            value = getattr(self, key)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                fail(key, "use a positive integer")
        if not isinstance(self.chars_per_token, (int, float)) or self.chars_per_token <= 0:
            fail("chars_per_token", "use a positive number (about 4 for English)")
        if not isinstance(self.min_excerpt_chars, int) or not 1 <= self.min_excerpt_chars < self.max_excerpt:
            fail("min_excerpt_chars", f"use an integer from 1 to max_excerpt - 1 ({self.max_excerpt - 1})")
        if self.metrics is not None:
            unknown = [m for m in self.metrics if m not in scoring.DEFAULT_METRICS]
            if unknown or not self.metrics:
                fail("metrics", f"list names from {list(scoring.DEFAULT_METRICS)} (or null for all)")


def estimate_tokens(chars: int, chars_per_token: float) -> int:
    return math.ceil(chars / chars_per_token)


class NdaPolicyTask:
    scorer_name = "policy_review"  # metrics/scorers.py

    def __init__(self, config: NdaPolicyConfig):
        self.config = config
        self.name = config.name
        self.root = Path(config.data_root) if config.data_root else default_data_root()
        self._splits: dict[str, contract_nli.Split] = {}
        self._rows: dict[str, list[dict[str, Any]]] = {}
        self._check_budget()

    # -- configuration ---------------------------------------------------------------------------
    def split_data(self, split: str) -> contract_nli.Split:
        if split not in self._splits:
            self._splits[split] = contract_nli.read_split(split, self.root)
        return self._splits[split]

    @cached_property
    def policy(self) -> Policy:
        """The policy with each rule's wording from the evaluated split's hypotheses (the same 17 in every
        split of ContractNLI)."""
        data = self.split_data(self.config.split)
        return load_policy(self.config.policy).with_statements(data.hypotheses, str(data.path))

    @cached_property
    def reference_text(self) -> str:
        return self.policy.render_reference()

    @cached_property
    def _schema(self) -> dict[str, Any]:
        return output_schema(self.policy, self.config.max_evidence, self.config.max_excerpt)

    @cached_property
    def spec(self) -> PolicyReviewSpec:
        rules = self.policy.rules
        return PolicyReviewSpec(
            rule_ids=self.policy.rule_ids,
            assessments={r.id: r.contradiction.assessment for r in rules},
            allowed_actions={r.id: frozenset(r.contradiction.allowed) for r in rules},
            output_schema=self._schema,
            max_evidence=self.config.max_evidence,
            labels=tuple(self.policy.labels),
            min_excerpt_chars=self.config.min_excerpt_chars,
            metrics=self.config.metrics,
        )

    def scorer_spec(self) -> dict[str, Any]:
        """The JSON the reward bundle carries for the scorer (metrics/scorers.py)."""
        return self.spec.to_dict()

    def output_schema(self) -> dict[str, Any]:
        return json.loads(json.dumps(self._schema))  # a copy: callers may not alter the task's schema

    def prompt_template_hash(self) -> str:
        return prompt.template_hash(self.reference_text, self._schema)

    def budget(self) -> dict[str, int | None]:
        """Estimated tokens (chars / chars_per_token) of a zero-shot prompt with the longest document allowed,
        plus the reserved answer, against the context."""
        cfg = self.config
        fixed_chars = len(prompt.system_message(self.reference_text, self._schema)) + len(
            prompt.user_message("", prompt.CUT_NOTE if cfg.truncation == "head" else prompt.CHUNK_NOTE))
        fixed = estimate_tokens(fixed_chars, cfg.chars_per_token) + CHAT_OVERHEAD_TOKENS
        document = (estimate_tokens(cfg.max_document_chars, cfg.chars_per_token)
                    if cfg.max_document_chars is not None else None)
        free = cfg.context_tokens - cfg.answer_tokens - fixed
        return {"context_tokens": cfg.context_tokens, "answer_tokens": cfg.answer_tokens, "fixed_prompt_tokens": fixed,
                "document_tokens": document, "max_document_chars_that_fit": int(max(free, 0) * cfg.chars_per_token),
                "total_tokens": None if document is None else fixed + document + cfg.answer_tokens}

    def _check_budget(self) -> None:
        budget = self.budget()
        if budget["total_tokens"] is None or budget["total_tokens"] <= self.config.context_tokens:
            return
        raise NdaPolicyConfigError(
            f"task config {self.name!r}: instructions and policy (~{budget['fixed_prompt_tokens']} tokens) + "
            f"max_document_chars={self.config.max_document_chars} (~{budget['document_tokens']} tokens) + "
            f"answer_tokens={self.config.answer_tokens} exceed context_tokens={self.config.context_tokens}; "
            f"set max_document_chars to at most {budget['max_document_chars_that_fit']}, lower answer_tokens, "
            "or raise context_tokens to the model's n_ctx")

    # -- data --------------------------------------------------------------------------------------
    def rows(self, split: str) -> list[dict[str, Any]]:
        if split in self._rows:
            return self._rows[split]
        rule_ids = self.policy.rule_ids
        rows = []
        for doc in self.split_data(split).documents:
            for segment in segments(doc, self.config.truncation, self.config.max_document_chars):
                golds = segment_gold(segment, rule_ids)
                span_texts = list(segment.span_texts)
                report = truncation_report(segment, golds)
                rows.append({
                    "id": segment.id, "doc_id": doc.id, "file_name": doc.file_name, "document": segment.text,
                    "gold": [{**g.to_dict(), "evidence_text": [span_texts[i] for i in g.evidence]} for g in golds],
                    "truncation": report,
                    "reference": {
                        "spans": span_texts,
                        "rules": [g.to_dict() for g in golds],
                        "truncation": {k: report[k] for k in ("truncated", "chars_cut", "chars_total")},
                    },
                })
        self._rows[split] = rows
        return rows

    def load(self, split: str | None = None) -> datasets.Dataset:
        import datasets

        value = datasets.Value
        gold_rule = {"rule": value("string"), "label": value("string"), "evidence": [value("int32")],
                     "evidence_total": value("int32")}
        features = datasets.Features({
            "id": value("string"), "doc_id": value("string"), "file_name": value("string"),
            "document": value("string"),
            "gold": [{**gold_rule, "evidence_text": [value("string")]}],
            "truncation": {"truncated": value("bool"), "chars_shown": value("int32"), "chars_total": value("int32"),
                           "chars_cut": value("int32"), "spans_shown": value("int32"), "spans_total": value("int32"),
                           "segment": value("int32"), "segments": value("int32"), "gold_spans_cut": value("int32"),
                           "rules_unseen": [value("string")]},
            "reference": {"spans": [value("string")], "rules": [gold_rule],
                          "truncation": {"truncated": value("bool"), "chars_cut": value("int32"),
                                         "chars_total": value("int32")}},
        })
        return datasets.Dataset.from_list(self.rows(split or self.config.split), features=features)

    def select(self, dataset: datasets.Dataset, limit: int | None, seed: int = 0) -> datasets.Dataset:
        return select(dataset, limit, seed)

    # -- prompting ---------------------------------------------------------------------------------
    @staticmethod
    def _note(item: Mapping[str, Any]) -> str:
        t = item["truncation"]
        return prompt.note(bool(t["truncated"]), int(t["segment"]), int(t["segments"]))

    def messages(self, item: Mapping[str, Any], examples: Sequence[Mapping[str, Any]] = ()) -> list[dict[str, str]]:
        shots = [(ex["document"], self._note(ex), self.render_gold(ex)) for ex in examples]
        return prompt.build_messages(self.reference_text, self._schema, item["document"], self._note(item), shots)

    def few_shot_examples(self, k: int, seed: int = 0) -> list[dict[str, Any]]:
        """Up to k whole training NDAs no longer than few_shot_max_chars, drawn from the shortest ones."""
        if k <= 0:
            return []
        fit = [r for r in self.rows("train") if r["truncation"]["segments"] == 1 and not r["truncation"]["truncated"]
               and r["truncation"]["chars_total"] <= self.config.few_shot_max_chars]
        pool = sorted(fit, key=lambda r: (len(r["document"]), r["id"]))[:FEW_SHOT_POOL]
        return random.Random(seed).sample(pool, min(k, len(pool)))

    # -- gold, baselines and scoring ----------------------------------------------------------------
    def reference(self, item: Mapping[str, Any]) -> dict[str, Any]:
        ref = item["reference"]
        return {"spans": list(ref["spans"]),
                "rules": [{"rule": r["rule"], "label": r["label"], "evidence": list(r["evidence"]),
                           "evidence_total": int(r["evidence_total"])} for r in ref["rules"]],
                "truncation": dict(ref["truncation"])}

    def evidence_excerpt(self, spans: Sequence[str], index: int) -> str:
        """A verbatim quote (whitespace collapsed) of span `index`, within max_excerpt. A span shorter than
        min_excerpt_chars (a heading such as "2.1") is quoted with its neighbours until the quote is long
        enough to be grounded, the following spans first."""
        chosen = [index]
        text = " ".join(spans[index].split())
        after, before = index + 1, index - 1
        while len(text) < self.config.min_excerpt_chars and (after < len(spans) or before >= 0):
            if after < len(spans):
                chosen.append(after)
                after += 1
            else:
                chosen.insert(0, before)
                before -= 1
            text = " ".join(" ".join(spans[i].split()) for i in sorted(chosen) if spans[i].strip())
        return quote(text, self.config.max_excerpt)

    def render_answer(self, labels: Mapping[str, str], evidence: Mapping[str, Sequence[str]] | None = None) -> str:
        """The answer JSON for the given labels and excerpts; contradictions get the policy's assessment and
        default action."""
        rules = {}
        for rule in self.policy.rules:
            label = labels[rule.id]
            entry: dict[str, Any] = {"label": label, "evidence": list((evidence or {}).get(rule.id, ()))}
            if label == "contradiction":
                entry["assessment"] = rule.contradiction.assessment
                entry["action"] = rule.contradiction.default
            rules[rule.id] = entry
        return json.dumps({"rules": rules}, ensure_ascii=False)

    def render_gold(self, item: Mapping[str, Any]) -> str:
        spans = item["reference"]["spans"]
        labels, evidence = {}, {}
        for gold in item["gold"]:
            labels[gold["rule"]] = gold["label"]
            excerpts = dict.fromkeys(self.evidence_excerpt(spans, i) for i in gold["evidence"])  # ordered, unique
            evidence[gold["rule"]] = list(excerpts)[: self.config.max_evidence]
        return self.render_answer(labels, evidence)

    @cached_property
    def majority(self) -> dict[str, str]:
        """Each rule's most frequent gold label over the training split's items (ties: the policy's label order)."""
        golds = [{g["rule"]: g["label"] for g in row["gold"]} for row in self.rows("train")]
        return majority_labels(golds, self.policy.rule_ids, tuple(self.policy.labels))

    def majority_fingerprint(self) -> str:
        """Changes whenever majority_answer would (other training labels, policy or answer format): the
        majority provider keys its cache on it."""
        digest = hashlib.sha256(json.dumps(self.majority, sort_keys=True).encode())
        digest.update(self.prompt_template_hash().encode())
        return digest.hexdigest()[:12]

    def majority_answer(self, item: Mapping[str, Any]) -> str:
        """The majority-class baseline's answer: the training majority label for every rule, no evidence."""
        return self.render_answer(self.majority)

    def score(self, output_text: str, reference: Mapping[str, Any]) -> SampleScore:
        return scoring.score(output_text, reference, self.spec)

    def aggregates(self) -> list[Aggregate]:
        return scoring.aggregates(self.spec)


def build(cfg: Mapping[str, Any], data_root: Path | str | None = None) -> NdaPolicyTask:
    values = dict(cfg)
    if data_root is not None and not values.get("data_root"):
        values["data_root"] = str(data_root)
    return NdaPolicyTask(NdaPolicyConfig.from_mapping(values))
