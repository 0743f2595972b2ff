"""The environment of an `rft-evals` subprocess whose Bedrock models are the loopback fake Bedrock
(tests/fakes/bedrock_server.py): the caller's environment without its AWS, MLflow and Nova deployment
settings, so nothing real is reached, plus test credentials and the SFT/RFT deployment ARNs."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

STRIPPED_PREFIXES = ("AWS_", "MLFLOW_", "RFT_NOVA")


def fake_bedrock_env(server_url: str, data_root: Path, sft_arn: str, rft_arn: str,
                     extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(STRIPPED_PREFIXES)}
    env.update({"RFT_DATA_DIR": str(data_root), "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": server_url,
                "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_DEFAULT_REGION": "us-east-1", "RFT_NOVA_SFT_MODEL_ARN": sft_arn,
                "RFT_NOVA_RFT_MODEL_ARN": rft_arn, **(extra or {})})
    return env
