"""Shared fixtures for the reward Lambda tests: a real task, bundles, events and a scripted fake judge."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from metrics.reward.bundle import RewardBundle
from metrics.reward.config import RewardConfig
from _data import DATA
from fakes.bedrock_server import Behaviour, reply

ROOT = Path(__file__).resolve().parent.parent
CONTRACT = {"id": str, "aggregate_reward_score": float, "metrics_list": list}


def load_task():
    from tasks.registry import build_task

    return build_task(yaml.safe_load((ROOT / "conf/task/contract_review.yaml").read_text()), data_root=DATA)


def bundle_for(task, reward: str, **judge_overrides: Any) -> RewardBundle:
    from evals.rft.bundle import build_bundle, load_reward_config

    config = load_reward_config(reward)
    if judge_overrides:
        data = config.to_dict()
        data["judge"] = {**data["judge"], **judge_overrides}
        config = RewardConfig.from_mapping(data, config.source)
    # through JSON, as the Lambda reads it
    return RewardBundle.from_dict(json.loads(json.dumps(build_bundle(task, config).to_dict())))


def sample(task, row, answer: str, *, where: str = "top", role: str = "assistant") -> dict[str, Any]:
    out: dict[str, Any] = {"id": row["id"], "messages": task.messages(row) + [{"role": role, "content": answer}]}
    if where == "top":
        out["reference_answer"] = task.reference(row)
    else:
        out["metadata"] = {"reference_answer": task.reference(row)}
    return out


_CRITERION = re.compile(r"^\d+\. (\w+): ", re.MULTILINE)  # how RubricJudge lists the criteria it asks about


def asked_criteria(body: Any) -> list[str]:
    """The criteria a rubric judge request asks about (one in per_criterion mode, all in `all` mode)."""
    system = "".join(block.get("text", "") for block in (body or {}).get("system", []))
    return _CRITERION.findall(system)


def rubric_reply(verdicts: dict[str, str]) -> str:
    """A reply RubricJudge reads: one {justification, verdict} object, or one per criterion."""
    one = {name: {"justification": f"{name} checked", "verdict": v} for name, v in verdicts.items()}
    return json.dumps(next(iter(one.values())) if len(one) == 1 else one)


def verdict_by_content(model_id: str, body: Any) -> Behaviour:
    """A deterministic judge: the verdicts depend only on the request (criterion and answer), so two runs
    over the same outputs get the same replies."""
    text = json.dumps(body, sort_keys=True)
    names = asked_criteria(body) or ["?"]
    return reply(rubric_reply({n: "fail" if (len(text) + len(n)) % 3 == 0 else "pass" for n in names}))


def check_contract(results: list[dict[str, Any]], event: list[dict[str, Any]]) -> None:
    """The reward contract's field names and types, and ids echoed in order."""
    assert [r["id"] for r in results] == [s["id"] for s in event]
    for r in results:
        assert set(r) == set(CONTRACT)
        assert isinstance(r["aggregate_reward_score"], float)
        for metric in r["metrics_list"]:
            assert set(metric) == {"name", "value", "type"}
            assert isinstance(metric["name"], str) and isinstance(metric["value"], float)
            assert metric["type"] in ("Reward", "Metric")
