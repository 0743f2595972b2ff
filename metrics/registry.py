"""Named metrics, so a task's scorer is a table chosen by config rather than an if-chain.

A Metric maps a per-sample context to values (floats, every name present on every sample it scores),
optionally to details for the record, and declares how its values aggregate over a run given the task's
spec. A MetricRegistry holds metrics by name; a task scores with the names its config lists. Contexts are
duck-typed: a metric reads the attributes it needs (`output_text`, `spec`, ...), so a later task can reuse
an entry by giving its context the same attributes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from metrics.aggregates import Aggregate

C = TypeVar("C")


def _no_aggregates(spec: Any) -> Sequence[Aggregate]:
    return ()


@dataclass(frozen=True)
class Metric(Generic[C]):
    name: str
    compute: Callable[[C], Mapping[str, float]]
    aggregates: Callable[[Any], Sequence[Aggregate]] = _no_aggregates
    details: Callable[[C], Mapping[str, Any]] | None = None
    description: str = ""


class MetricRegistry(Generic[C]):
    def __init__(self, metrics: Iterable[Metric[C]] = ()) -> None:
        self._metrics: dict[str, Metric[C]] = {}
        for metric in metrics:
            self.register(metric)

    def register(self, metric: Metric[C]) -> Metric[C]:
        if metric.name in self._metrics:
            raise ValueError(f"metric {metric.name!r} is already registered")
        self._metrics[metric.name] = metric
        return metric

    def names(self) -> tuple[str, ...]:
        return tuple(self._metrics)

    def get(self, name: str) -> Metric[C]:
        try:
            return self._metrics[name]
        except KeyError:
            raise ValueError(f"unknown metric {name!r}; registered: {sorted(self._metrics)}") from None

    def select(self, names: Iterable[str]) -> tuple[Metric[C], ...]:
        chosen = tuple(self.get(n) for n in names)
        if len({m.name for m in chosen}) != len(chosen):
            raise ValueError(f"metric list names a metric twice: {[m.name for m in chosen]}")
        return chosen

    def run(self, names: Iterable[str], ctx: C) -> tuple[dict[str, float], dict[str, Any]]:
        """Values and details of the named metrics on one sample; two metrics writing the same value name
        is a configuration bug and raises."""
        values: dict[str, float] = {}
        details: dict[str, Any] = {}
        for metric in self.select(names):
            produced = metric.compute(ctx)
            clash = values.keys() & produced.keys()
            if clash:
                raise ValueError(f"metric {metric.name!r} overwrites values {sorted(clash)}")
            values.update({k: float(v) for k, v in produced.items()})
            if metric.details is not None:
                details.update(metric.details(ctx))
        return values, details

    def aggregates(self, names: Iterable[str], spec: Any) -> list[Aggregate]:
        return [agg for metric in self.select(names) for agg in metric.aggregates(spec)]
