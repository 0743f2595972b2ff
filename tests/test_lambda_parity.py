"""Invariant 1, one scoring path: for every sample of an evaluation run (real task items, real candidate
outputs), the reward Lambda's aggregate_reward_score equals the reward the run path computes from the
record, exactly; with the judge served by the fake Bedrock runtime with the same replies."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import yaml

from evals.inference.cache import GenerationCache
from evals.run.runner import RunSettings, evaluate_candidate
from evals.providers.registry import ProviderContext
from metrics.reward.lambda_handler import build_judge, handle
from _reward_helpers import DATA, ROOT, bundle_for, check_contract, load_task, sample, verdict_by_content
from fakes.bedrock_server import FakeBedrock, Script


pytestmark = pytest.mark.usefixtures("fake_aws_credentials")

class Context:
    def get_remaining_time_in_millis(self) -> int:
        return 600_000




def _check_parity(task, model: str, limit: int, tmp_path: Path, reward: str, overrides: dict | None = None,
                  **judge):
    """Evaluate `model` through the run path with the reward configured, as `rft-evals run` does, then send
    the same outputs to the Lambda handler: every recorded `reward` must equal the handler's score exactly."""
    bundle = bundle_for(task, reward, **judge)
    items = [dict(r) for r in task.select(task.load("test"), limit, 0)]
    model_cfg = {**yaml.safe_load((ROOT / f"conf/model/{model}.yaml").read_text()), **(overrides or {})}
    settings = RunSettings(bootstrap_resamples=10, run_dir=tmp_path, reward=bundle.reward, judge=build_judge(bundle))
    with GenerationCache(tmp_path / "cache.sqlite") as cache:  # the second reward config reuses the outputs
        result = evaluate_candidate(task, items, model, model_cfg, context=ProviderContext(task, Path(DATA)),
                                    cache=cache, settings=settings)
    records = result.records
    assert all(r.output is not None for r in records)
    recorded = {r.item_id: r.values["reward"] for r in records}
    event = [sample(task, item, r.output) for item, r in zip(items, records, strict=True)]
    results = handle(event, Context(), bundle, build_judge(bundle), log_stream=io.StringIO())
    check_contract(results, event)
    assert {r["id"]: r["aggregate_reward_score"] for r in results} == recorded  # exact float equality
    return {r.item_id: r.details["reward"] for r in records}


def test_parity_deterministic_and_judged_on_baseline_outputs(tmp_path):
    task = load_task()
    rewards = _check_parity(task, "tfidf_baseline", 24, tmp_path, "contract_review_deterministic")
    assert len({round(v["score"], 6) for v in rewards.values()}) > 2  # the rewards really differ per sample
    with FakeBedrock(Script(respond=verdict_by_content)) as fake:
        judged = _check_parity(task, "tfidf_baseline", 24, tmp_path, "contract_review", endpoint_url=fake.url)
    assert not any(v["neutral"] for v in judged.values())
    assert any(c["name"] == "judge_grounding" for v in judged.values() for c in v["components"])


@pytest.mark.slow
def test_parity_on_local_model_outputs(tmp_path):
    task = load_task()
    overrides = {"max_tokens": 96}
    _check_parity(task, "smollm2", 2, tmp_path, "contract_review_deterministic", overrides)
    with FakeBedrock(Script(respond=verdict_by_content)) as fake:
        _check_parity(task, "smollm2", 2, tmp_path, "contract_review", overrides, endpoint_url=fake.url)
