"""The checkpoint sweep in pictures and tables, from its JSON form (evals/training/sweep_analysis.as_dict:
{"curves": {metric: [{step, value, ci_low, ci_high, n}]}, "divergences": [{step, metric, message, ...}]}).
`rft-evals sweep` draws sweep.png with it, and the nightly report embeds the same figure when its suite
names a sweep (conf/suite/trained.yaml `sweep:`), so the two never show different curves."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from matplotlib.figure import Figure

from evals.report.plots import RenderedFigure, png_bytes

REWARD = "reward"  # the training reward's curve: drawn first, in its own colour
REWARD_COLOUR, METRIC_COLOUR, FLAG_COLOUR = "#dd8452", "#4c72b0", "#c62828"


def _metrics(sweep: Mapping[str, Any]) -> list[str]:
    """The curves' metrics in their stored order, the reward first."""
    curves = sweep.get("curves") or {}
    return [m for m in curves if m == REWARD] + [m for m in curves if m != REWARD]


def figure(sweep: Mapping[str, Any], title: str) -> Figure:
    """One panel per metric: value and 95% CI band against the RFT step; a red X where a divergence was
    flagged (reward up while that metric fell beyond its CI)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    metrics = _metrics(sweep)
    if not metrics:
        raise ValueError("the sweep holds no curves: every step's metrics were missing from its run")
    fig = Figure(figsize=(3.2 * len(metrics), 3.0), dpi=110)
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(metrics), squeeze=False)[0]
    flags = sweep.get("divergences") or []
    flagged = {(f.get("metric"), f.get("step")) for f in flags}
    for ax, metric in zip(axes, metrics, strict=True):
        points = sweep["curves"][metric]
        steps = [p["step"] for p in points]
        colour = REWARD_COLOUR if metric == REWARD else METRIC_COLOUR
        ax.fill_between(steps, [p["ci_low"] for p in points], [p["ci_high"] for p in points], color=colour,
                        alpha=0.2, linewidth=0)
        ax.plot(steps, [p["value"] for p in points], marker="o", color=colour)
        for p in points:
            if (metric, p["step"]) in flagged:
                ax.plot([p["step"]], [p["value"]], marker="X", markersize=11, color=FLAG_COLOUR)
        ax.set_xticks(steps)
        ax.set_ylim(-0.03, 1.03)  # every swept metric is a share or a reward in [0, 1]
        ax.set_title(metric + (" (training reward)" if metric == REWARD else ""))
        ax.set_xlabel("RFT step (0 = SFT)")
        ax.grid(alpha=0.25)
    fig.suptitle(title + ("  -  DIVERGENCE (red X)" if flags else "  -  no divergence"), fontsize=10)
    fig.tight_layout()
    return fig


def table_rows(sweep: Mapping[str, Any]) -> tuple[list[str], list[list[str]]]:
    """Header (step, then each metric) and one row per step: value [95% CI], '-' where a step lacks it."""
    metrics = _metrics(sweep)
    curves = sweep.get("curves") or {}
    steps = sorted({p["step"] for m in metrics for p in curves[m]})
    rows = []
    for step in steps:
        row = [str(step)]
        for metric in metrics:
            point = next((p for p in curves[metric] if p["step"] == step), None)
            row.append("-" if point is None else
                       f"{point['value']:.3f} [{point['ci_low']:.3f}, {point['ci_high']:.3f}]")
        rows.append(row)
    return ["step", *metrics], rows


def flag_lines(sweep: Mapping[str, Any]) -> list[str]:
    flags: Sequence[Mapping[str, Any]] = sweep.get("divergences") or []
    return ([f"divergence: {f.get('message', '')}" for f in flags] or
            ["No divergence: no step raised the reward while a production metric fell beyond its CI."])


def markdown(sweep: Mapping[str, Any], heading: str = "##") -> str:
    header, rows = table_rows(sweep)
    items = f"{sweep['limit']} held-out items; " if sweep.get("limit") else ""
    lines = [f"{heading} Checkpoint sweep ({items}step 0 = SFT)", "", "| " + " | ".join(header) + " |",
             "|---" * len(header) + "|", *("| " + " | ".join(row) + " |" for row in rows), ""]
    lines += [f"- **{line}**" if line.startswith("divergence") else f"- {line}" for line in flag_lines(sweep)]
    return "\n".join(lines) + "\n"


def rendered(nightly: Mapping[str, Any]) -> RenderedFigure | None:
    """The nightly's sweep as a RenderedFigure (key "sweep"), a note when the suite named a sweep that is not
    there, or None when the suite names no sweep."""
    sweep = nightly.get("sweep")
    if not isinstance(sweep, Mapping):
        return None
    title = "Checkpoint sweep: training reward and production metrics per RFT step"
    if sweep.get("note") or not sweep.get("curves"):
        return RenderedFigure("sweep", title, None, str(sweep.get("note") or "the sweep holds no curves"))
    try:
        return RenderedFigure("sweep", title, png_bytes(figure(sweep, f"{sweep.get('limit') or '?'} held-out items")))
    except Exception as error:  # noqa: BLE001 - a plot bug must not lose the rest of the report
        return RenderedFigure("sweep", title, None, f"plot failed: {type(error).__name__}: {error}", failed=True)
