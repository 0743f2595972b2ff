"""Shared fixtures. The real data lives outside the repository (see DATA.md); tests read it from the
configured data root ($RFT_DATA_DIR, else the folder `rft-evals data fetch` fills), through tests/_data.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from _data import require_dataset

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def data_root() -> Path:
    return require_dataset("claudette")


@pytest.fixture
def fake_aws_credentials(monkeypatch):
    """Dummy AWS credentials and region for boto3 clients pointed at the loopback fake Bedrock; the real
    profile and the deployment's judge-model override are cleared so nothing reaches AWS settings."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("REWARD_JUDGE_MODEL_ID", raising=False)
