"""Risk detection units, and micro/per-category precision, recall, F1 over a batch against scikit-learn on
the same (sentence, category) decisions, built independently from how each answer was constructed."""

from __future__ import annotations

import random

import pytest

from metrics import comment_review
from metrics.action_compliance import action_values
from metrics.assessment import assessment_values
from metrics.grounding import Grounding
from metrics.review_context import ReviewComment
from metrics.review_reference import GoldRisk
from metrics.risk_detection import decide, risk_values

try:
    from tests._metrics_spec import CATEGORIES, answer, build_spec, comment
except ImportError:
    from _metrics_spec import CATEGORIES, answer, build_spec, comment

SPEC = build_spec()


def rc(risk, sentences=(), assessment="clearly_unfair", action="reject", excerpt="x" * 20):
    grounding = Grounding(bool(sentences), tuple(sentences), "" if sentences else "not_found")
    return ReviewComment(excerpt, risk, assessment, action, "r", grounding)


def test_counts_by_hand():
    gold = [GoldRisk(0, "arbitration", 3), GoldRisk(2, "jurisdiction", 2), GoldRisk(2, "choice_of_law", 2)]
    comments = [
        rc("arbitration", [0, 1]),  # (0,arb) TP, (1,arb) FP
        rc("jurisdiction", [2]),  # TP
        rc("jurisdiction", [2]),  # duplicate: counted once
        rc("arbitration", excerpt="made up"),  # ungrounded FP
        rc("arbitration", excerpt="made up"),  # same ungrounded comment again: once
        rc("arbitration", excerpt="other made up"),  # another ungrounded FP
    ]
    v = risk_values(decide(comments, gold), CATEGORIES, flagged=True)
    # tp = 2; fp = 1 (sentence 1) + 2 ungrounded = 3; fn = 1 (choice_of_law)
    assert (v["risk_tp"], v["risk_fp"], v["risk_fn"]) == (2, 3, 1)
    assert (v["risk_tp/arbitration"], v["risk_fp/arbitration"], v["risk_fn/arbitration"]) == (1, 3, 0)
    assert (v["risk_tp/jurisdiction"], v["risk_fp/jurisdiction"]) == (1, 0)
    assert v["risk_fn/choice_of_law"] == 1
    assert v["window_flag_correct"] == 1


def test_window_flag():
    # any comment (even ungrounded) flags the window; any gold makes it risky
    assert risk_values(decide([], []), CATEGORIES, flagged=False)["window_flag_correct"] == 1
    risky = [GoldRisk(0, "arbitration", 2)]
    assert risk_values(decide([], risky), CATEGORIES, flagged=False)["window_flag_correct"] == 0
    assert risk_values(decide([rc("arbitration")], []), CATEGORIES, True)["window_flag_correct"] == 0


def test_window_missed_and_hedged_labels_by_hand():
    gold = [GoldRisk(0, "arbitration", 3), GoldRisk(2, "jurisdiction", 2), GoldRisk(2, "choice_of_law", 2)]
    silent = risk_values(decide([], gold), CATEGORIES, flagged=False)
    assert (silent["risk_window_missed"], silent["risk_hedged"]) == (1, 0)
    wrong = risk_values(decide([rc("jurisdiction", [0])], gold), CATEGORIES, flagged=True)
    assert wrong["risk_window_missed"] == 1  # it flagged, but found none of the window's risks
    clean = risk_values(decide([], []), CATEGORIES, flagged=False)
    assert clean["risk_window_missed"] == 0  # nothing to miss
    # sentence 0 holds 1 gold category and gets 3 (2 extra); sentence 2 holds 2 and gets 3 (1 extra);
    # sentence 5 holds none and gets 2 (1 extra: a clean sentence may take one label before it counts)
    spam = [rc("arbitration", [0]), rc("jurisdiction", [0]), rc("choice_of_law", [0]),
            rc("jurisdiction", [2]), rc("choice_of_law", [2]), rc("arbitration", [2]),
            rc("arbitration", [5]), rc("jurisdiction", [5])]
    v = risk_values(decide(spam, gold), CATEGORIES, flagged=True)
    assert (v["risk_hedged"], v["risk_window_missed"], v["risk_tp"]) == (4, 0, 3)


def test_assessment_by_hand():
    gold = [GoldRisk(0, "arbitration", 3), GoldRisk(1, "jurisdiction", 2), GoldRisk(2, "choice_of_law", 2)]
    comments = [
        rc("arbitration", [0], "clearly_unfair"),  # matched, 3 == 3: correct
        rc("jurisdiction", [1], "clearly_unfair"),  # matched, 3 != 2: wrong
        rc("choice_of_law", [3], "potentially_unfair"),  # not matched (wrong sentence): not counted
        rc("choice_of_law", assessment="potentially_unfair"),  # ungrounded: not counted
    ]
    v = assessment_values(comments, gold, SPEC.assessments)
    assert (v["assessment_correct"], v["assessment_matched"]) == (1, 2)
    unknown = [rc("arbitration", [0], "very_unfair")]  # not a level of the spec: matched, never correct
    v = assessment_values(unknown, gold, SPEC.assessments)
    assert (v["assessment_correct"], v["assessment_matched"]) == (0, 1)


def test_action_compliance_by_hand():
    comments = [
        rc("arbitration", [0], "clearly_unfair", "reject"),  # allowed
        rc("arbitration", [0], "potentially_unfair", "reject"),  # potentially: negotiate/escalate only
        rc("arbitration", (), "potentially_unfair", "negotiate"),  # ungrounded still judged: allowed
        rc("arbitration", [0], "clearly_unfair", "accept"),  # accept is never allowed in the test playbook
    ]
    assert action_values(comments, SPEC.allowed_actions) == {"action_compliant": 2, "action_total": 4}
    assert action_values([], SPEC.allowed_actions) == {"action_compliant": 0, "action_total": 0}


# --- batch comparison with scikit-learn ------------------------------------------------------------------


def make_batch(seed: int, n_samples: int = 60):
    """Random windows, gold and answers; returns [(output, reference)] and the expected decision rows:
    one row per (sample, sentence) plus one per distinct ungrounded comment, one column per category."""
    rng = random.Random(seed)
    samples, y_true, y_pred = [], [], []
    for j in range(n_samples):
        n = rng.randint(1, 6)
        sentences = [f"Clause {j}-{i} of this agreement says {rng.choice(['alpha', 'beta', 'gamma'])} things."
                     for i in range(n)]
        gold = {(i, c) for i in range(n) for c in CATEGORIES if rng.random() < 0.08}
        comments, predicted, ungrounded = [], set(), []
        for _ in range(rng.choice([0, 0, 1, 2, 3, 5])):
            i, cat = rng.randrange(n), rng.choice(CATEGORIES)
            if rng.random() < 0.5 and gold:  # aim at a gold pair half the time
                i, cat = rng.choice(sorted(gold))
            if rng.random() < 0.2:
                text = f"Invented clause {rng.random():.6f} nowhere in the window"
                comments.append(comment(text, cat))
                ungrounded.append(cat)
            else:
                excerpt = sentences[i] if rng.random() < 0.5 else sentences[i].split(" says ")[0]
                comments.append(comment(excerpt, cat))
                predicted.add((i, cat))
        levels = [rng.choice([2, 3]) for _ in gold]
        pairs = zip(sorted(gold), levels, strict=True)
        reference = {"sentences": sentences,
                     "gold": [{"sentence": i, "risk": c, "level": lv} for (i, c), lv in pairs]}
        samples.append((answer(*comments), reference))
        for i in range(n):
            y_true.append([int((i, c) in gold) for c in CATEGORIES])
            y_pred.append([int((i, c) in predicted) for c in CATEGORIES])
        for cat in ungrounded:
            y_true.append([0] * len(CATEGORIES))
            y_pred.append([int(c == cat) for c in CATEGORIES])
    return samples, y_true, y_pred


def ratio(a, b):
    return a / b if b else 0.0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_micro_and_per_category_prf_match_sklearn(seed):
    sk = pytest.importorskip("sklearn.metrics")
    samples, y_true, y_pred = make_batch(seed)
    totals: dict[str, float] = {}
    for output, reference in samples:
        s = comment_review.score(output, reference, SPEC)
        assert s.errors == []
        for k, v in s.values.items():
            totals[k] = totals.get(k, 0.0) + v
    tp, fp, fn = totals["risk_tp"], totals["risk_fp"], totals["risk_fn"]
    assert tp > 0 and fp > 0 and fn > 0  # the batch exercises every kind of decision
    p, r, f, _ = sk.precision_recall_fscore_support(y_true, y_pred, average="micro", zero_division=0)
    assert ratio(totals["risk_tp"], totals["risk_pred"]) == pytest.approx(p)
    assert ratio(totals["risk_tp"], totals["risk_gold"]) == pytest.approx(r)
    assert ratio(2 * tp, 2 * tp + fp + fn) == pytest.approx(f)
    ps, rs, fs, _ = sk.precision_recall_fscore_support(y_true, y_pred, average=None, zero_division=0)
    for k, cat in enumerate(CATEGORIES):
        c_tp, c_fp, c_fn = (totals[f"risk_{x}/{cat}"] for x in ("tp", "fp", "fn"))
        assert ratio(c_tp, c_tp + c_fp) == pytest.approx(ps[k]), cat
        assert ratio(c_tp, c_tp + c_fn) == pytest.approx(rs[k]), cat
        assert ratio(2 * c_tp, 2 * c_tp + c_fp + c_fn) == pytest.approx(fs[k]), cat
