"""Shared fixtures. The real data lives outside the repository (see DATA.md); tests read it from the
configured data root ($RFT_DATA_DIR, else the folder `rft-evals data fetch` fills), else from the
../shared/data mirror next to the repository."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def data_root() -> Path:
    from tasks.data_root import data_root as configured_root

    root = configured_root()
    if not (root / "claudette").is_dir() and not os.environ.get("RFT_DATA_DIR"):
        root = REPO_ROOT.parent / "shared" / "data"
    if not (root / "claudette").is_dir():
        pytest.fail(f"benchmark data not found under {root}: set RFT_DATA_DIR to the data mirror "
                    "or run `rft-evals data fetch`")
    return root


@pytest.fixture
def fake_aws_credentials(monkeypatch):
    """Dummy AWS credentials and region for boto3 clients pointed at the loopback fake Bedrock; the real
    profile and the deployment's judge-model override are cleared so nothing reaches AWS settings."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("REWARD_JUDGE_MODEL_ID", raising=False)
