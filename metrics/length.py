"""Output length: bounded answers keep training rollouts and Lambda payloads small."""

from __future__ import annotations


def length_values(output_text: str, max_chars: int) -> dict[str, float]:
    n = len(output_text)
    return {"length_chars": float(n), "length_ok": float(n <= max_chars)}
