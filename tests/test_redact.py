from evals.tracking.redact import REDACTED, flatten, redact, redact_text

FAKE_KEY_ID = "AKIA" + "ABCDEFGHIJKLMNOP"  # split so the repo holds no key-shaped literal


def test_secret_keys_are_redacted_but_token_counts_are_not():
    config = {"model": {"api_key": "abc", "max_tokens": 384, "tokens_per_minute": 1000,
                        "aws_secret_access_key": "xyz", "session_token": "tok"}}
    out = redact(config)
    assert out["model"]["api_key"] == REDACTED
    assert out["model"]["aws_secret_access_key"] == REDACTED
    assert out["model"]["session_token"] == REDACTED
    assert out["model"]["max_tokens"] == 384
    assert out["model"]["tokens_per_minute"] == 1000


def test_secret_values_are_redacted_anywhere():
    text = f"key {FAKE_KEY_ID} url https://user:pass@example.com/x auth: Bearer abcdefghijkl123"
    cleaned = redact_text(text)
    assert FAKE_KEY_ID not in cleaned
    assert "user:pass" not in cleaned
    assert "abcdefghijkl123" not in cleaned
    assert "https://" in cleaned and "example.com/x" in cleaned


def test_nested_lists_and_flatten():
    out = redact({"hosts": [f"s3://{FAKE_KEY_ID}@bucket"], "a": {"b": 1}})
    assert FAKE_KEY_ID not in str(out)
    assert flatten({"a": {"b": 1, "c": {"d": 2}}}) == {"a.b": 1, "a.c.d": 2}


def test_token_named_settings_are_not_secrets_but_credential_tokens_are():
    config = {"chars_per_token": 4.0, "bos_token": "<s>", "hf_token": "hf_abc", "github_token": "ghp_x",
              "MLFLOW_TRACKING_TOKEN": "t"}
    out = redact(config)
    assert out["chars_per_token"] == 4.0 and out["bos_token"] == "<s>"
    assert out["hf_token"] == out["github_token"] == out["MLFLOW_TRACKING_TOKEN"] == REDACTED
