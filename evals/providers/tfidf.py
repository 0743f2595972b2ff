"""A non-LLM floor: TF-IDF + logistic regression flags risky sentences, and the task renders the flags as its
JSON answer. Any LLM candidate should beat it; if not, the prompt or the model is the problem.

Trained once at build time on the task's training sentences (label "none" or "<risk id>:<assessment id>")."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from evals.providers.base import Generation, GenerationRequest, ProviderError, Usage
from metrics.errors import ErrorKind
from tasks.capabilities import SentenceLevel

NONE_LABEL = "none"
Flag = tuple[int, str, str]  # sentence index, risk id, assessment id


@dataclass(frozen=True)
class BaselineParams:
    ngram_min: int = 1
    ngram_max: int = 2
    min_df: int = 2
    max_features: int | None = 200_000
    sublinear_tf: bool = True
    C: float = 4.0
    class_weight: str | None = "balanced"
    threshold: float = 0.5  # flag a sentence when P(not none) >= threshold
    max_iter: int = 2000
    seed: int = 0

    @classmethod
    def from_config(cls, config: Mapping[str, Any], default_seed: int = 0) -> BaselineParams:
        ngram = config.get("ngram_range") or (cls.ngram_min, cls.ngram_max)
        class_weight = config.get("class_weight", cls.class_weight)
        return cls(
            ngram_min=int(ngram[0]), ngram_max=int(ngram[1]),
            min_df=int(config.get("min_df", cls.min_df)),
            max_features=config.get("max_features", cls.max_features),
            sublinear_tf=bool(config.get("sublinear_tf", cls.sublinear_tf)),
            C=float(config.get("C", cls.C)),
            class_weight=None if class_weight in (None, "none", "null") else str(class_weight),
            threshold=float(config.get("threshold", cls.threshold)),
            max_iter=int(config.get("max_iter", cls.max_iter)),
            seed=int(config["seed"]) if config.get("seed") is not None else default_seed,
        )


def training_fingerprint(texts: Sequence[str], labels: Sequence[str]) -> str:
    digest = hashlib.sha256()
    for text, label in zip(texts, labels, strict=True):
        digest.update(label.encode() + b"\t" + text.encode() + b"\n")
    return digest.hexdigest()


class SentenceFlagger:
    """The classifier alone: sentences in, flags out. Kept apart from the provider so it can be tested on
    any (texts, labels) without a task."""

    def __init__(self, params: BaselineParams):
        # sklearn is heavy: imported here, never by the reward path.
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        self.params = params
        self.vectorizer = TfidfVectorizer(ngram_range=(params.ngram_min, params.ngram_max), min_df=params.min_df,
                                          max_features=params.max_features, sublinear_tf=params.sublinear_tf,
                                          lowercase=True)
        self.classifier = LogisticRegression(C=params.C, class_weight=params.class_weight,
                                             max_iter=params.max_iter, random_state=params.seed)

    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> SentenceFlagger:
        if NONE_LABEL not in labels or len(set(labels)) < 2:
            raise ValueError(f"baseline training set needs {NONE_LABEL!r} and at least one risk label; "
                             f"got labels {sorted(set(labels))[:5]}")
        self.classifier.fit(self.vectorizer.fit_transform(list(texts)), list(labels))
        return self

    def flag(self, sentences: Sequence[str]) -> list[Flag]:
        if not sentences:
            return []
        classes = list(self.classifier.classes_)
        none_at = classes.index(NONE_LABEL)
        probabilities = self.classifier.predict_proba(self.vectorizer.transform(list(sentences)))
        flags: list[Flag] = []
        for index, row in enumerate(probabilities):
            if 1.0 - row[none_at] < self.params.threshold:
                continue
            best = max((at for at in range(len(classes)) if at != none_at), key=lambda at: row[at])
            risk, _, assessment = classes[best].partition(":")
            flags.append((index, risk, assessment))
        return flags


class BaselineProvider:
    def __init__(self, name: str, task: Any, flagger: SentenceFlagger, data_sha256: str, *,
                 model_id: str = "tfidf-logreg", max_concurrency: int = 4):
        self.name = name
        self.task = task
        self.flagger = flagger
        self.data_sha256 = data_sha256
        self.model_id = model_id
        self.max_concurrency = max_concurrency

    def identity(self) -> Mapping[str, Any]:
        import sklearn

        return {"provider": "baseline", "model_id": self.model_id, "training_sha256": self.data_sha256,
                "params": asdict(self.flagger.params), "sklearn": sklearn.__version__}

    def generate(self, request: GenerationRequest) -> Generation:
        item = request.context
        sentences = item.get("sentences") if item else None
        if not isinstance(sentences, Sequence) or isinstance(sentences, str):
            raise ProviderError(ErrorKind.INPUT, f"item {request.item_id}: the baseline needs the task item "
                                                 f"with a `sentences` list in request.context")
        flags = self.flagger.flag([str(sentence) for sentence in sentences])
        text = self.task.render_sentence_flags(item, flags)
        if not isinstance(text, str):
            text = json.dumps(text, ensure_ascii=False)
        return Generation(text=text, stop_reason="end_turn", usage=Usage(), model_id=self.model_id)


def build(config: Mapping[str, Any], context: Any) -> BaselineProvider:
    task = context.task
    if not isinstance(task, SentenceLevel):
        raise ValueError(f"{config.get('_source', 'conf/model/tfidf_baseline.yaml')}: task "
                         f"{getattr(task, 'name', task)!r} has no sentence_training_set() and "
                         "render_sentence_flags() (tasks.capabilities.SentenceLevel); the TF-IDF baseline "
                         "only works with sentence-level tasks such as contract_review")
    params = BaselineParams.from_config(config, default_seed=int(getattr(context, "seed", 0) or 0))
    texts, labels = task.sentence_training_set()
    texts, labels = [str(text) for text in texts], [str(label) for label in labels]
    flagger = SentenceFlagger(params).fit(texts, labels)
    return BaselineProvider(name=str(config.get("name") or "tfidf-logreg"), task=task, flagger=flagger,
                            data_sha256=training_fingerprint(texts, labels),
                            model_id=str(config.get("model_id") or "tfidf-logreg"),
                            max_concurrency=int(config.get("max_concurrency") or 4))
