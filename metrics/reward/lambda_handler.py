"""The Nova RFT reward Lambda: `metrics.reward.lambda_handler.handler`.

The bundle (reward config + scorer spec + Reference text, see bundle.py) is read once per container from
$REWARD_BUNDLE or reward_bundle.json at the zip root; the Bedrock judge client is built once too. The
handler stops waiting for the judge `deadline_margin_ms` before Lambda would kill it (from
context.get_remaining_time_in_millis()), so unfinished samples still get neutral rewards. One JSON log line
per invocation carries the counts."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

from metrics.reward.batch import score_event
from metrics.reward.bundle import RewardBundle
from metrics.reward.judge import JudgeClient, JudgeSettings

BUNDLE_ENV = "REWARD_BUNDLE"
JUDGE_MODEL_ENV = "REWARD_JUDGE_MODEL_ID"
DEFAULT_BUNDLE = Path(__file__).resolve().parents[2] / "reward_bundle.json"  # the zip root
DEFAULT_MARGIN_MS = 10_000
MAX_MARGIN_SHARE = 0.25  # with little time left, keep at most a quarter of it as the margin

_lock = threading.Lock()
_state: dict[str, tuple[RewardBundle, JudgeClient | None]] = {}


def build_judge(bundle: RewardBundle) -> JudgeClient | None:
    if not bundle.reward.criteria:
        return None
    from metrics.reward.bedrock_judge import BedrockJudgeClient

    judge = dict(bundle.reward.judge)
    if os.environ.get(JUDGE_MODEL_ENV):  # the deployment's judge (the template grants InvokeModel on it only)
        judge["model_id"] = os.environ[JUDGE_MODEL_ENV]
    settings = JudgeSettings.from_mapping(judge, bundle.reward.source)
    return BedrockJudgeClient(settings, bundle.reference_text)


def load_state(path: str | None = None) -> tuple[RewardBundle, JudgeClient | None]:
    path = path or os.environ.get(BUNDLE_ENV) or str(DEFAULT_BUNDLE)
    with _lock:
        if path not in _state:
            bundle = RewardBundle.from_json(path)
            _state[path] = (bundle, build_judge(bundle))
        return _state[path]


def deadline_from(context: Any, margin_ms: float) -> float | None:
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if remaining is None:
        return None
    left_ms = float(remaining())
    margin = min(margin_ms, left_ms * MAX_MARGIN_SHARE)
    return time.monotonic() + max(0.0, left_ms - margin) / 1000.0


def handle(event: Any, context: Any, bundle: RewardBundle, judge: JudgeClient | None,
           log_stream: Any = None) -> list[dict[str, Any]]:
    settings = bundle.reward.lambda_settings
    margin = float(os.environ.get("REWARD_DEADLINE_MARGIN_MS") or settings.get("deadline_margin_ms")
                   or DEFAULT_MARGIN_MS)
    concurrency = int(bundle.reward.judge.get("max_concurrency") or 64)
    report = score_event(event, bundle, judge, deadline=deadline_from(context, margin),
                         max_concurrency=concurrency)
    request_id = getattr(context, "aws_request_id", None)
    line = json.dumps({**report.log, "request_id": request_id, "reward": bundle.reward.name})
    (log_stream or sys.stdout).write(line + "\n")
    return report.results


def handler(event: Any, context: Any) -> list[dict[str, Any]]:
    bundle, judge = load_state()
    return handle(event, context, bundle, judge)
