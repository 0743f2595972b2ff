"""The CLAUDETTE reader and the windows, checked against the real corpus files."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from tasks.contract_review import claudette
from tasks.contract_review.claudette import ClaudetteFormatError, Tag, parse_tags, read_document
from tasks.contract_review.windows import windows
from tasks.data_root import MissingDataError


@pytest.fixture(scope="module")
def documents(data_root):
    return claudette.read_documents(claudette.all_document_names(data_root), data_root)


def _raw_tag_tokens(data_root: Path) -> Counter:
    """Tags counted straight from the files, independently of the reader."""
    counts: Counter = Counter()
    for path in (data_root / claudette.TAGS_DIR).glob("*.txt"):
        counts.update(path.read_text(encoding="utf-8").split())
    return counts


def test_corpus_size(documents, data_root):
    assert len(documents) == 50
    assert sum(len(d) for d in documents) == 17_383
    non_empty = sum(
        1 for p in (data_root / claudette.TAGS_DIR).glob("*.txt")
        for line in p.read_text(encoding="utf-8").split("\n") if line.strip()
    )
    assert non_empty == 1_651
    # every document has one tag tuple per sentence
    assert all(len(d.tags) == len(d.sentences) for d in documents)


def test_marker_is_not_a_tag(documents, data_root):
    raw = _raw_tag_tokens(data_root)
    assert raw["countrym"] > 0  # the marker exists in the files ...
    parsed = Counter(f"{t.category}{t.level}" for d in documents for ts in d.tags for t in ts)
    assert "countrym" not in parsed  # ... and never becomes a tag
    raw.pop("countrym")
    assert parsed == raw


def test_parse_tags():
    assert parse_tags("ltd2 ter3 ") == (Tag("ltd", 2), Tag("ter", 3))
    assert parse_tags("countrym") == ()
    assert parse_tags("") == ()
    with pytest.raises(ClaudetteFormatError, match="x9"):
        parse_tags("x9", "somefile:3")


@pytest.mark.parametrize("k", range(5))
def test_folds_disjoint_and_cover(k, data_root):
    fold = claudette.read_fold(k, data_root)
    assert len(fold.test) == 10 and len(fold.train) == 40
    assert not set(fold.train) & set(fold.test)
    assert set(fold.train) | set(fold.test) == set(claudette.all_document_names(data_root))


def test_test_folds_partition_the_corpus(data_root):
    tests = [name for k in range(5) for name in claudette.read_fold(k, data_root).test]
    assert len(tests) == len(set(tests)) == 50


@pytest.mark.parametrize("size", [1, 8, 13])
def test_windows_cover_every_sentence_once(documents, size):
    for doc in documents:
        seen = [w.start + i for w in windows(doc, size, size) for i in range(len(w.sentences))]
        assert seen == list(range(len(doc)))
        for w in windows(doc, size, size):
            assert w.id == f"{doc.name}:{w.start}"
            assert w.sentences == doc.sentences[w.start:w.start + len(w.sentences)]


def test_overlapping_windows_reach_the_end(documents):
    doc = documents[0]
    ws = windows(doc, 8, 3)
    assert ws[-1].start + len(ws[-1].sentences) == len(doc)
    assert [w.start for w in ws[:3]] == [0, 3, 6]


def test_window_gold_matches_tag_files(documents, data_root):
    raw = _raw_tag_tokens(data_root)
    gold_levels: Counter = Counter()
    fair = 0
    for doc in documents:
        for w in windows(doc, 8, 8):
            for g in w.gold:
                assert g.level in (2, 3)
                assert 0 <= g.sentence < len(w.sentences)
                gold_levels[g.level] += 1
            fair += len(w.fair)
    expected = Counter()
    for token, n in raw.items():
        if token[-1] in "23":
            expected[int(token[-1])] += n
    assert gold_levels == expected
    assert fair == sum(n for token, n in raw.items() if token.endswith("1"))


def test_gold_points_at_the_tagged_sentence(documents):
    doc = next(d for d in documents if any(d.tags))
    index = next(i for i, ts in enumerate(doc.tags) if any(t.level > 1 for t in ts))
    w = next(w for w in windows(doc, 8, 8) if w.start <= index < w.start + len(w.sentences))
    tagged = {(g.sentence + w.start, g.risk) for g in w.gold}
    first = next(t for t in doc.tags[index] if t.level > 1)
    assert (index, claudette.RISK_IDS[first.category]) in tagged


def test_misaligned_files_are_rejected(tmp_path, data_root):
    for sub in (claudette.SENTENCES_DIR, claudette.TAGS_DIR):
        (tmp_path / sub).mkdir(parents=True)
    (tmp_path / claudette.SENTENCES_DIR / "Broken.txt").write_text("one\ntwo\nthree\n", encoding="utf-8")
    (tmp_path / claudette.TAGS_DIR / "Broken.txt").write_text("\nltd2\n", encoding="utf-8")
    with pytest.raises(ClaudetteFormatError, match="Broken.txt"):
        read_document("Broken", tmp_path)


def test_missing_document_names_the_fix(tmp_path):
    with pytest.raises(MissingDataError, match="rft-evals data fetch") as info:
        read_document("Nowhere", tmp_path)
    assert "Nowhere.txt" in str(info.value)
