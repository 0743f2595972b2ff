"""Secrets never reach MLflow, logs or reports: values under secret-looking keys and secret-looking strings
anywhere are replaced before anything is written."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

REDACTED = "***REDACTED***"

# Key names whose values are secrets. Token *counts* (max_tokens, tokens_per_minute) are not.
# A `*_token` key is a secret only with a credential-like prefix: `chars_per_token` or `bos_token` are not.
_SECRET_KEY = re.compile(r"(secret|password|passwd|api[_-]?key|access[_-]?key|session[_-]?token|auth|credential"
                         r"|bearer|private[_-]?key|^token$"
                         r"|(access|session|auth|api|bearer|refresh|security|id|hf|github|mlflow|tracking)[_-]?token$)",
                         re.IGNORECASE)
_SECRET_VALUES = [
    re.compile(r"\b(AKIA|ASIA)[A-Z0-9]{16}\b"),  # AWS access key ids
    re.compile(r"(?i)\bbearer\s+[a-z0-9._~+/=-]{8,}"),
    re.compile(r"\bsk-[A-Za-z0-9_-]{16,}\b"),  # OpenAI-style API keys
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----"),
]
_URL_CREDENTIALS = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<userinfo>[^/@\s:]+(:[^/@\s]*)?)@", re.IGNORECASE)


def redact_text(text: str) -> str:
    for pattern in _SECRET_VALUES:
        text = pattern.sub(REDACTED, text)
    return _URL_CREDENTIALS.sub(lambda m: f"{m.group('scheme')}{REDACTED}@", text)


def is_secret_key(key: str) -> bool:
    return bool(_SECRET_KEY.search(key)) and "tokens" not in key.lower()


def redact_override(override: str) -> str:
    """A Hydra command-line override `a.b.api_key=value` with its value hidden when the key is a secret."""
    key, sep, value = override.partition("=")
    if sep and is_secret_key(key.rsplit(".", 1)[-1].lstrip("+~")) and value not in ("", "null"):
        return f"{key}={REDACTED}"
    return redact_text(override)


def redact_override_list(text: str) -> str:
    """Overrides joined by commas (Hydra's `override_dirname`), each redacted by its key."""
    return ",".join(redact_override(part) for part in text.split(","))


def redact(value: Any, key: str = "") -> Any:
    """A copy of `value` with secrets replaced, for any JSON-like structure; strings of the form `k=v` in
    lists (Hydra overrides) are redacted by their key too."""
    if key and is_secret_key(key) and value not in (None, "", 0, False):
        return REDACTED
    if isinstance(value, Mapping):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_override(v) if isinstance(v, str) else redact(v) for v in value]
    if isinstance(value, str):
        return redact_text(value)
    return value


def flatten(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"a": {"b": 1}} -> {"a.b": 1}, for MLflow params."""
    flat: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, name + "."))
        else:
            flat[name] = value
    return flat
