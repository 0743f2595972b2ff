"""The task methods every comment-review task shares: schema and spec from the playbook, prompting, few-shot
examples, gold answers and scoring through metrics/comment_review. A task (ContractReviewTask, CuadRisksTask)
subclasses CommentReviewTask and keeps what depends on its data: reading it into rows, the Reference text,
and where a gold comment's assessment and rationale come from."""

from __future__ import annotations

import json
import random
from collections.abc import Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, TypeVar

from tasks.comment_review.schema import output_schema
from tasks.data_root import data_root as default_data_root
from tasks.selection import select

if TYPE_CHECKING:  # heavy imports stay out of module import time
    import datasets

    from metrics.aggregates import Aggregate
    from metrics.review_spec import ReviewSpec
    from metrics.types import SampleScore
    from tasks.comment_review.playbook import ReviewPlaybook
    from tasks.comment_review.prompt import ReviewPrompt

NO_RISK = "none"  # the label of a sentence without a risk in the TF-IDF baseline's training set
FEW_SHOT_POOL = 20  # examples are drawn from the shortest windows of each kind


def quote(sentence: str, max_chars: int) -> str:
    """A verbatim prefix of `sentence` of at most `max_chars`, cut at a word boundary when possible."""
    text = sentence.strip()
    if len(text) <= max_chars:
        return text
    cut = text[:max_chars]
    space = cut.rfind(" ")
    return (cut[:space] if space > 0 else cut).rstrip()


class ReviewConfig(Protocol):
    """The settings the shared methods read of a task's config."""

    @property
    def name(self) -> str: ...

    @property
    def data_root(self) -> str | None: ...  # None = tasks.data_root.data_root()

    @property
    def split(self) -> str: ...

    @property
    def max_comments(self) -> int: ...

    @property
    def max_excerpt(self) -> int: ...

    @property
    def max_rationale(self) -> int: ...


Config = TypeVar("Config", bound=ReviewConfig)
Book = TypeVar("Book", bound="ReviewPlaybook[Any]")


class CommentReviewTask(Generic[Config, Book]):
    """Rows hold id, doc, start, sentences, document (the window's text), gold and fair ({sentence, risk,
    level}) and reference. A subclass sets `review_prompt` and gives `playbook` (built from `_playbook`, the
    playbook passed in, when there is one), `reference_text`, `rows`, `_gold_assessment` and `_rationale`."""

    review_prompt: ClassVar[ReviewPrompt]
    scorer_name: ClassVar[str] = "comment_review"  # metrics/scorers.py
    playbook: Book
    reference_text: str

    def __init__(self, config: Config, playbook: Book | None = None):
        self.config = config
        self.name = config.name
        self.root = Path(config.data_root) if config.data_root else default_data_root()
        self._playbook = playbook

    def rows(self, split: str) -> list[dict[str, Any]]:
        raise NotImplementedError

    def _gold_assessment(self, gold: Mapping[str, Any]) -> str:
        """The assessment of a gold {sentence, risk, level} in the gold answer."""
        raise NotImplementedError

    def _rationale(self, risk: str, assessment: str) -> str:
        """The playbook's reason, written as the rationale of a gold comment."""
        raise NotImplementedError

    # -- configuration ---------------------------------------------------------------------------
    @cached_property
    def _schema(self) -> dict[str, Any]:
        return output_schema(self.playbook, self.config.max_comments, self.config.max_excerpt,
                             self.config.max_rationale)

    @cached_property
    def spec(self) -> ReviewSpec:
        return self.playbook.review_spec(self._schema)

    def scorer_spec(self) -> dict[str, Any]:
        """The JSON the reward bundle carries for the scorer (metrics/scorers.py)."""
        from metrics.review_spec import review_spec_to_dict

        return review_spec_to_dict(self.spec)

    def output_schema(self) -> dict[str, Any]:
        return json.loads(json.dumps(self._schema))  # a copy: callers may not alter the task's schema

    def prompt_template_hash(self) -> str:
        return self.review_prompt.template_hash(self.reference_text, self._schema)

    # -- data --------------------------------------------------------------------------------------
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

    # -- prompting ---------------------------------------------------------------------------------
    def messages(self, item: Mapping[str, Any], examples: Sequence[Mapping[str, Any]] = ()) -> list[dict[str, str]]:
        shots = [(ex["document"], self.render_gold(ex)) for ex in examples]
        return self.review_prompt.build_messages(self.reference_text, self._schema, item["document"], shots)

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
                "rationale": quote(self._rationale(risk, assessment), self.config.max_rationale),
            })
        return json.dumps({"comments": comments}, ensure_ascii=False)

    def render_gold(self, item: Mapping[str, Any]) -> str:
        flags = [(g["sentence"], g["risk"], self._gold_assessment(g))
                 for g in sorted(item["gold"], key=lambda g: (g["sentence"], g["risk"]))]
        return self.render_sentence_flags(item, flags)

    def score(self, output_text: str, reference: Mapping[str, Any]) -> SampleScore:
        from metrics import comment_review  # imported when scoring starts, not when the task is built

        return comment_review.score(output_text, reference, self.spec)

    def aggregates(self) -> list[Aggregate]:
        from metrics import comment_review

        return comment_review.aggregates(self.spec)
