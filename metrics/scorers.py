"""Scorers by name: the one place that turns a task's JSON-able scorer spec into its score function.

Every task names its scorer (`task.scorer_name`) and gives its spec (`task.scorer_spec()`); the reward bundle
carries both, so the reward Lambda, the TRL and verl adapters and evaluation score an answer with the same
code without the task's data files. Standard library only; a scorer's module is imported when it is built.

    score = build_scorer("policy_review", spec)      # -> score(output_text, reference) -> SampleScore

Add a scorer: a builder `spec dict -> score function` registered in SCORERS (here, or a plug-in's entry
point in group `rft_evals.scorers` whose target is a Scorer); a task names it. Unknown names and malformed
specs raise ScorerSpecError naming the problem."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from metrics.plugin_registry import Registry
from metrics.types import SampleScore

ScoreFn = Callable[[Any, Any], SampleScore]  # (output_text, reference) -> SampleScore


class ScorerSpecError(ValueError):
    """The scorer name is not known, or its spec does not have the scorer's shape."""


@dataclass(frozen=True)
class Scorer:
    build: Callable[[Mapping[str, Any]], ScoreFn]
    description: str


def _comment_review(spec_data: Mapping[str, Any]) -> ScoreFn:
    from metrics import comment_review
    from metrics.review_spec import review_spec_from_dict

    spec = review_spec_from_dict(spec_data)
    return lambda output_text, reference: comment_review.score(output_text, reference, spec)


def _policy_review(spec_data: Mapping[str, Any]) -> ScoreFn:
    from metrics.policy_review import scoring
    from metrics.policy_review.spec import PolicyReviewSpec

    spec = PolicyReviewSpec.from_dict(spec_data)
    return lambda output_text, reference: scoring.score(output_text, reference, spec)


def _label(spec_data: Mapping[str, Any]) -> ScoreFn:
    from metrics.label_scorer import LabelScorer, LabelSpec

    return LabelScorer(LabelSpec.from_dict(spec_data)).score


def _config(spec_data: Mapping[str, Any]) -> ScoreFn:
    from metrics.config_metrics import ConfigScorer, config_scorer_from_dict

    scorer: ConfigScorer = config_scorer_from_dict(spec_data)
    return scorer.score


SCORERS: Registry[Scorer] = Registry("scorer", "rft_evals.scorers", ScorerSpecError)
SCORERS.register("comment_review", Scorer(_comment_review,
                                          "comments flagging risks in a document against a playbook"))
SCORERS.register("policy_review", Scorer(_policy_review, "a label and evidence per policy rule (NDA policy)"))
SCORERS.register("label", Scorer(_label, "one class label per answer, optionally with detection counts"))
SCORERS.register("config", Scorer(_config, "the metrics a YAML-declared task names (tasks/config_task)"))


def build_scorer(name: str, spec: Mapping[str, Any]) -> ScoreFn:
    scorer = SCORERS.lookup(name, "reward bundle / task `scorer_name`")
    if not isinstance(scorer, Scorer):
        raise ScorerSpecError(f"scorer {name!r} is a {type(scorer).__name__}, not a metrics.scorers.Scorer; "
                              "point its entry point at a Scorer(build, description)")
    if not isinstance(spec, Mapping):
        raise ScorerSpecError(f"scorer {name!r}: the spec must be an object, got {type(spec).__name__}")
    try:
        return scorer.build(spec)
    except ScorerSpecError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise ScorerSpecError(f"scorer {name!r}: malformed spec ({type(exc).__name__}: {exc}); rebuild it from "
                              "the task (`rft-evals reward bundle --task ...`)") from None
