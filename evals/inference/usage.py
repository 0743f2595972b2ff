"""Usage and cost per model: calls, cache hits, tokens, cost, latency percentiles, retries, errors.

Tokens and cost count fresh calls only (what this run spent); cached calls are counted apart, with the
tokens and cost they saved. Latency percentiles are over fresh successful calls, end to end (retries
and backoff included), since cached calls take no time and failed ones would mix in timeouts."""

from __future__ import annotations

import math
import threading
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import InitVar, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # rich is imported only when a table is drawn
    from rich.table import Table

    from evals.inference._outcome import CallOutcome

PERCENTILES = (50, 95, 99)


def percentile(values: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy.percentile's default method). NaN if empty."""
    if not values:
        return math.nan
    if not 0 <= q <= 100:
        raise ValueError(f"percentile must be in [0, 100], got {q}")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100.0
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _price(model_cfg: Mapping[str, Any], key: str) -> float:
    value = model_cfg.get(key)
    if value is None:
        return 0.0
    try:
        price = float(value)
    except (TypeError, ValueError):
        price = math.nan
    if not math.isfinite(price) or price < 0:
        raise ValueError(f"model config {model_cfg.get('name', '?')!r}: {key} must be a number >= 0 "
                         f"(USD per 1K tokens), got {value!r}")
    return price


@dataclass
class UsageStats:
    """Per model. Build with `UsageStats(name=..., model_config=cfg)` (prices read from the config) or
    with explicit prices. Thread-safe: the engine records from its collector thread."""

    name: str
    price_per_1k_input: float = 0.0
    price_per_1k_output: float = 0.0
    calls: int = 0  # outcomes recorded: fresh + cached + failed
    cached_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    cached_output_tokens: int = 0
    attempts: int = 0  # provider calls actually made
    retries: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    model_config: InitVar[Mapping[str, Any] | None] = None

    def __post_init__(self, model_config: Mapping[str, Any] | None) -> None:
        if model_config is not None:
            self.price_per_1k_input = _price(model_config, "price_per_1k_input")
            self.price_per_1k_output = _price(model_config, "price_per_1k_output")

    @classmethod
    def from_config(cls, model_cfg: Mapping[str, Any], name: str | None = None) -> UsageStats:
        return cls(name=name or str(model_cfg.get("name", "?")), model_config=model_cfg)

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        return (input_tokens * self.price_per_1k_input + output_tokens * self.price_per_1k_output) / 1000.0

    @property
    def cost_usd(self) -> float:
        return self.cost(self.input_tokens, self.output_tokens)

    @property
    def saved_usd(self) -> float:
        return self.cost(self.cached_input_tokens, self.cached_output_tokens)

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def record(self, outcome: CallOutcome) -> None:
        with self._lock:
            self.calls += 1
            self.attempts += outcome.attempts
            self.retries += max(0, outcome.attempts - 1)
            if outcome.error is not None:
                self.errors[str(outcome.error.kind)] += 1
                return
            generation = outcome.generation
            if generation is None:
                return
            if outcome.cached:
                self.cached_calls += 1
                self.cached_input_tokens += generation.usage.input_tokens
                self.cached_output_tokens += generation.usage.output_tokens
            else:
                self.input_tokens += generation.usage.input_tokens
                self.output_tokens += generation.usage.output_tokens
                self.latencies_ms.append(outcome.latency_ms)

    def latency_ms(self, q: float) -> float:
        with self._lock:
            return percentile(self.latencies_ms, q)

    def table(self) -> Table:
        """This model's row as a rich table (for console.print)."""
        return usage_table([self], title=f"Usage: {self.name}")

    def to_metrics(self, prefix: str = "") -> dict[str, float]:
        """Flat names for MLflow, e.g. usage/cost_usd, latency/p95_ms, errors/throttled.
        Latency keys are left out when no fresh call succeeded (no NaN in the tracking store)."""
        with self._lock:
            metrics: dict[str, float] = {
                "usage/calls": float(self.calls),
                "usage/cached_calls": float(self.cached_calls),
                "usage/attempts": float(self.attempts),
                "usage/input_tokens": float(self.input_tokens),
                "usage/output_tokens": float(self.output_tokens),
                "usage/cost_usd": self.cost_usd,
                "usage/cache_saved_usd": self.saved_usd,
                "usage/retries": float(self.retries),
                "usage/errors": float(sum(self.errors.values())),
            }
            metrics.update({f"errors/{kind}": float(n) for kind, n in sorted(self.errors.items())})
            if self.latencies_ms:
                for q in PERCENTILES:
                    metrics[f"latency/p{q}_ms"] = percentile(self.latencies_ms, q)
                metrics["latency/mean_ms"] = sum(self.latencies_ms) / len(self.latencies_ms)
        return {f"{prefix}{name}": value for name, value in metrics.items()}


def _fmt_ms(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:,.0f}"


def _fmt_count(n: int) -> str:
    for threshold, unit, suffix in ((1e9, 1e9, "G"), (1e6, 1e6, "M"), (1e4, 1e3, "k")):
        if n >= threshold:
            return f"{n / unit:.3g}{suffix}"
    return f"{n:,}"


def usage_table(stats: Iterable[UsageStats], title: str = "Usage and cost per model") -> Table:
    from rich import box
    from rich.table import Table

    # Seven columns with light borders fit an 80-column terminal; long cells wrap at spaces.
    table = Table(title=title, box=box.SIMPLE_HEAD)
    table.add_column("model", overflow="fold", min_width=12)
    table.add_column("calls (cached)", justify="right")
    table.add_column("tokens in / out", justify="right")
    table.add_column("cost $", justify="right")
    table.add_column("p50 / p95 / p99 ms", justify="right")
    table.add_column("retries", justify="right")
    table.add_column("errors", min_width=10)
    for s in stats:
        errors = ", ".join(f"{kind} {n}" for kind, n in sorted(s.errors.items())) or "0"
        table.add_row(s.name, f"{s.calls:,} ({s.cached_calls:,})",
                      f"{_fmt_count(s.input_tokens)} / {_fmt_count(s.output_tokens)}", f"{s.cost_usd:.4f}",
                      " / ".join(_fmt_ms(s.latency_ms(q)) for q in PERCENTILES), f"{s.retries:,}", errors)
    return table


def print_usage(stats: Iterable[UsageStats], console: Any = None) -> None:
    from rich.console import Console

    (console or Console()).print(usage_table(stats))
