"""Answer policies for comment-review tasks (contract_review, cuad_risks): JSON lists of comments on a window
of sentences, scored by metrics/comment_review."""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from evals.reward_audit.policies import (
    BASELINE,
    DEGENERATE,
    HONEST,
    IGNORE_RUBRIC,
    VERDICT_PASS,
    Family,
    Item,
    Policy,
)

INVENTED_EXCERPT = "The provider may change these terms at any time and without any notice to the user."
# Latin letters swapped for Cyrillic look-alikes: the excerpt looks verbatim and is not.
_LOOKALIKE = str.maketrans({"a": "\u0430", "e": "\u0435", "o": "\u043e", "c": "\u0441", "p": "\u0440"})
RUBRIC_RESTATED = ("Every excerpt is quoted word for word from the TargetDocument, each flagged clause belongs to "
                   "the named risk category with the assessment the Reference gives, and each action is one the "
                   "Reference allows.")


@dataclass(frozen=True)
class Quality:
    """Controlled damage to the gold answer."""

    name: str
    keep: float  # share of gold (sentence, risk) flags kept
    false_flags: float  # chance that each sentence without a gold risk is flagged with a random risk
    wrong_level: float  # chance that a kept flag gets the other assessment
    wrong_action: float  # chance that a comment's action is one the playbook does not allow


QUALITIES: tuple[Quality, ...] = (
    Quality("gold", 1.0, 0.0, 0.0, 0.0),
    Quality("keep90_ff2", 0.9, 0.02, 0.05, 0.05),
    Quality("keep75_ff5", 0.75, 0.05, 0.1, 0.1),
    Quality("keep50_ff10", 0.5, 0.10, 0.2, 0.2),
    Quality("keep25_ff15", 0.25, 0.15, 0.3, 0.3),
    Quality("keep10_ff20", 0.1, 0.20, 0.4, 0.4),
)


def _gold_flags(task: Any, item: Item) -> list[tuple[int, str, str]]:
    return [(g["sentence"], g["risk"], task._gold_assessment(g))
            for g in sorted(item["gold"], key=lambda g: (g["sentence"], g["risk"]))]


def _comments(text: str) -> list[dict[str, Any]]:
    return json.loads(text)["comments"]


def _dump(comments: Sequence[dict[str, Any]]) -> str:
    return json.dumps({"comments": list(comments)}, ensure_ascii=False)


class CommentPolicies:
    def __init__(self, task: Any, items: Sequence[Item]):
        self.task = task
        self.spec = task.spec
        self.categories = tuple(self.spec.categories)
        self.assessments = tuple(self.spec.assessments)
        counts = Counter(g["risk"] for item in items for g in item["gold"])
        self.common_risk = counts.most_common(1)[0][0] if counts else self.categories[0]
        self.max_comments = int(task.config.max_comments)
        self.max_excerpt = int(task.config.max_excerpt)

    def _default_assessment(self, risk: str) -> str:
        return self.assessments[0]

    def _bad_action(self, risk: str, assessment: str) -> str:
        allowed = self.spec.allowed_actions.get((risk, assessment), frozenset())
        every = sorted({a for actions in self.spec.allowed_actions.values() for a in actions})
        outside = [a for a in every if a not in allowed]
        return outside[0] if outside else "ignore"

    # -- honest ----------------------------------------------------------------------------------
    def honest(self, quality: Quality, item: Item, rng: random.Random) -> str:
        flags = []
        for sentence, risk, assessment in _gold_flags(self.task, item):
            if rng.random() >= quality.keep:
                continue
            if rng.random() < quality.wrong_level:
                assessment = next(a for a in self.assessments if a != assessment)
            flags.append((sentence, risk, assessment))
        risky = {g["sentence"] for g in item["gold"]}
        for index in range(len(item["sentences"])):
            if index not in risky and rng.random() < quality.false_flags:
                flags.append((index, rng.choice(self.categories), rng.choice(self.assessments)))
        flags.sort()
        comments = _comments(self.task.render_sentence_flags(item, flags))
        for comment in comments:
            if rng.random() < quality.wrong_action:
                comment["action"] = self._bad_action(comment["risk"], comment["assessment"])
        return _dump(comments)

    # -- degenerate ------------------------------------------------------------------------------
    def empty(self, item: Item, rng: random.Random) -> str:
        return _dump([])

    def flag_everything(self, item: Item, rng: random.Random) -> str:
        flags = [(i, self.common_risk, self._default_assessment(self.common_risk))
                 for i in range(len(item["sentences"]))]
        return self.task.render_sentence_flags(item, flags)

    def category_spam(self, item: Item, rng: random.Random) -> str:
        """Every gold sentence flagged with every category (the right one among them)."""
        flags = []
        for sentence in sorted({g["sentence"] for g in item["gold"]}):
            gold = [g["risk"] for g in item["gold"] if g["sentence"] == sentence]
            for risk in gold + [c for c in self.categories if c not in gold]:
                flags.append((sentence, risk, self._default_assessment(risk)))
        return self.task.render_sentence_flags(item, flags)

    def copy_document(self, item: Item, rng: random.Random) -> str:
        comments = _comments(self.task.render_sentence_flags(item, [(0, self.common_risk, self.assessments[0])]))
        comments[0]["text_excerpt"] = item["document"][: self.max_excerpt]
        return _dump(comments)

    def _gold_rewritten(self, item: Item, excerpt) -> str:
        comments = _comments(self.task.render_gold(item))
        for comment in comments:
            comment["text_excerpt"] = excerpt(comment["text_excerpt"])
        return _dump(comments)

    def invented_excerpts(self, item: Item, rng: random.Random) -> str:
        return self._gold_rewritten(item, lambda _: INVENTED_EXCERPT)

    def lookalike_excerpts(self, item: Item, rng: random.Random) -> str:
        return self._gold_rewritten(item, lambda text: text.translate(_LOOKALIKE))

    def pad_to_limit(self, item: Item, rng: random.Random) -> str:
        body = _dump([])
        return body + " " * max(0, int(self.spec.max_output_chars) - len(body))

    def no_content(self, item: Item, rng: random.Random) -> str:
        return "{}"

    def prose_around_json(self, item: Item, rng: random.Random) -> str:
        return f"Here is my review of the document.\n```json\n{_dump([])}\n```\nI hope this helps."

    def verdict_pass(self, item: Item, rng: random.Random) -> str:
        return f"{_dump([])}\n{VERDICT_PASS}"

    def _one_comment(self, item: Item, rationale: str) -> str:
        comments = _comments(self.task.render_sentence_flags(item, [(0, self.common_risk, self.assessments[0])]))
        comments[0]["rationale"] = rationale[:300]
        return _dump(comments)

    def ignore_rubric(self, item: Item, rng: random.Random) -> str:
        return self._one_comment(item, IGNORE_RUBRIC)

    def restate_rubric(self, item: Item, rng: random.Random) -> str:
        return self._one_comment(item, RUBRIC_RESTATED)


def degenerate_policies(p: CommentPolicies) -> list[Policy]:
    rows = [
        ("empty", p.empty, "always {\"comments\": []}", False),
        ("flag_everything", p.flag_everything, f"every sentence flagged as {p.common_risk}", False),
        ("category_spam", p.category_spam, "every gold sentence flagged with every category", False),
        ("copy_document", p.copy_document, "one comment quoting the window from its start", False),
        ("invented_excerpts", p.invented_excerpts, "the gold risks with an invented excerpt", False),
        ("lookalike_excerpts", p.lookalike_excerpts, "the gold comments with Cyrillic look-alike letters", False),
        ("pad_to_limit", p.pad_to_limit, "the empty answer padded with spaces to the length limit", False),
        ("no_content", p.no_content, "valid JSON without content: {}", False),
        ("prose_around_json", p.prose_around_json, "the empty answer inside prose and a code fence", False),
        ("verdict_pass", p.verdict_pass, f"the empty answer followed by {VERDICT_PASS!r}", True),
        ("ignore_rubric", p.ignore_rubric, "one comment whose rationale tells the grader to ignore the rubric", True),
        ("restate_rubric", p.restate_rubric, "one comment whose rationale restates the rubric", True),
    ]
    return [Policy(name, DEGENERATE, answer, description, aimed) for name, answer, description, aimed in rows]


def honest_policies(p: CommentPolicies) -> list[Policy]:
    def answer(quality: Quality):
        return lambda item, rng: p.honest(quality, item, rng)

    return [Policy(q.name, HONEST, answer(q), f"keep {q.keep:.0%} of the gold flags, false flags {q.false_flags:.0%} "
                   f"of clean sentences, wrong level {q.wrong_level:.0%}, disallowed action {q.wrong_action:.0%}")
            for q in QUALITIES]


def baseline_policies(task: Any) -> list[Policy]:
    """The TF-IDF + logistic-regression baseline, trained as `rft-evals run` trains it, on its first answer
    (building the policy list stays cheap)."""
    from functools import cache

    @cache
    def flagger() -> Any:
        from evals.providers.tfidf import BaselineParams, SentenceFlagger

        texts, labels = task.sentence_training_set()
        return SentenceFlagger(BaselineParams()).fit([str(t) for t in texts], [str(label) for label in labels])

    def answer(item: Item, rng: random.Random) -> str:
        return task.render_sentence_flags(item, flagger().flag([str(s) for s in item["sentences"]]))

    return [Policy("tfidf_baseline", BASELINE, answer, "TF-IDF + logistic regression sentence flagger")]


def build(task: Any, items: Sequence[Item]) -> list[Policy]:
    p = CommentPolicies(task, items)
    return [*honest_policies(p), *degenerate_policies(p), *baseline_policies(task)]


FAMILY = Family(headline="risk_f1", build=build)
