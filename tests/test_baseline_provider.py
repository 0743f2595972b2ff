"""TF-IDF + logistic-regression baseline: a small fake task for the mechanics, then real CLAUDETTE fold 0."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.providers.base import GenerationRequest, ProviderError
from evals.providers.registry import ProviderContext, build_provider
from metrics.errors import ErrorKind
from _data import require_dataset

pytest.importorskip("sklearn")

CONF = Path(__file__).resolve().parents[1] / "conf"
UNFAIR = [
    "We may terminate your account at any time without notice.",
    "We may terminate or suspend your access at any time for any reason.",
    "We can terminate this agreement at our sole discretion without notice.",
    "Any dispute shall be resolved by binding arbitration.",
    "All claims must be submitted to binding individual arbitration.",
    "You agree that disputes will be settled by arbitration, not in court.",
]
FAIR = [
    "Our service lets you share photos with friends.",
    "You can change your password in the settings page.",
    "Contact support if you have questions about billing.",
    "We publish a blog with product news every month.",
    "The app is available on phones and tablets.",
    "Please read our community guidelines before posting.",
]


class FakeTask:
    """Just the two methods the baseline needs."""

    name = "fake"

    def sentence_training_set(self):
        labels = (["unilateral_termination:clearly_unfair"] * 3 + ["arbitration:potentially_unfair"] * 3
                  + ["none"] * len(FAIR))
        return UNFAIR + FAIR, labels

    def render_sentence_flags(self, item, flags):
        return json.dumps({"flags": [list(flag) for flag in flags]})


def fake_provider(**config):
    return build_provider({"name": "tfidf", "provider": "baseline", "min_df": 1, **config},
                          ProviderContext(task=FakeTask(), seed=0))


def ask(provider, sentences, item_id="w:0"):
    item = {"id": item_id, "sentences": sentences}
    return provider.generate(GenerationRequest(item_id=item_id, messages=(), context=item))


def test_flags_training_like_sentences_and_not_fair_ones():
    provider = fake_provider(threshold=0.5)
    generation = ask(provider, ["We may terminate your account at any time without notice.",
                                "You can change your password in the settings page.",
                                "Any dispute shall be resolved by binding arbitration."])
    flags = json.loads(generation.text)["flags"]
    assert flags == [[0, "unilateral_termination", "clearly_unfair"], [2, "arbitration", "potentially_unfair"]]
    assert (generation.usage.input_tokens, generation.usage.output_tokens) == (0, 0)


def test_threshold_controls_flagging():
    sentences = ["We may terminate your account.", "Photos with friends."]
    assert json.loads(ask(fake_provider(threshold=1.01), sentences).text)["flags"] == []
    assert [flag[0] for flag in json.loads(ask(fake_provider(threshold=0.0), sentences).text)["flags"]] == [0, 1]


def test_identity_tracks_data_and_hyperparameters():
    base = dict(fake_provider().identity())
    assert base == dict(fake_provider().identity())
    assert fake_provider(C=0.5).identity() != base
    assert len(base["training_sha256"]) == 64


def test_missing_sentences_is_an_input_error():
    provider = fake_provider()
    with pytest.raises(ProviderError) as failed:
        provider.generate(GenerationRequest(item_id="w:1", messages=(), context={"id": "w:1"}))
    assert failed.value.kind is ErrorKind.INPUT and not failed.value.fatal


def test_task_without_sentence_methods_is_a_clear_error():
    with pytest.raises(ValueError, match="sentence_training_set"):
        build_provider({"name": "tfidf", "provider": "baseline", "_source": "conf/model/tfidf_baseline.yaml"},
                       ProviderContext(task=object()))


# --- real CLAUDETTE fold 0 -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def claudette_task():
    yaml = pytest.importorskip("yaml")
    task_module = pytest.importorskip("tasks.contract_review.task")
    root = require_dataset("claudette")
    config = yaml.safe_load((CONF / "task" / "contract_review.yaml").read_text())
    return task_module.build({**config, "fold": 0}, data_root=root)


def yaml_config() -> dict:
    yaml = pytest.importorskip("yaml")
    return yaml.safe_load((CONF / "model" / "tfidf_baseline.yaml").read_text())


@pytest.fixture(scope="module")
def claudette_baseline(claudette_task):
    return build_provider(yaml_config(), ProviderContext(task=claudette_task, seed=0))


@pytest.mark.slow
def test_real_baseline_flags_unfair_training_sentences(claudette_task, claudette_baseline):
    texts, labels = claudette_task.sentence_training_set()
    unfair = [(text, label) for text, label in zip(texts, labels, strict=True) if label.endswith(":clearly_unfair")]
    assert len(unfair) >= 50
    flags = claudette_baseline.flagger.flag([text for text, _ in unfair])
    flagged = {index: f"{risk}:{assessment}" for index, risk, assessment in flags}
    # sentences it was trained on, and the clearest ones: nearly all must come back flagged, mostly right
    assert len(flagged) >= 0.9 * len(unfair)
    assert sum(flagged.get(i) == label for i, (_, label) in enumerate(unfair)) >= 0.7 * len(unfair)


@pytest.mark.slow
def test_real_baseline_answers_validate_and_are_deterministic(claudette_task, claudette_baseline):
    jsonschema = pytest.importorskip("jsonschema")
    schema = claudette_task.output_schema()
    rows = claudette_task.rows("test")
    risky = [row for row in rows if row["gold"]][:15]
    clean = [row for row in rows if not row["gold"]][:15]
    again = build_provider({**yaml_config(), "name": "again"}, ProviderContext(task=claudette_task, seed=0))
    assert again.identity() == claudette_baseline.identity()

    comments = 0
    for row in risky + clean:
        request = GenerationRequest(item_id=row["id"], messages=(), context=row)
        text = claudette_baseline.generate(request).text
        answer = json.loads(text)
        jsonschema.validate(answer, schema)
        comments += len(answer["comments"])
        for comment in answer["comments"]:
            assert comment["text_excerpt"] in row["document"]  # whole-sentence quotes are always grounded
        assert again.generate(request).text == text
    assert comments > 0  # it flags something in windows that hold unfair clauses
