"""The report's figures, drawn with matplotlib's object API on the Agg canvas (no pyplot, so no global
figure registry or state shared between figures or with the caller).

Each plot is a function `PlotContext -> Figure` that raises `NoData(reason)` when the nightly dict has nothing
for it; `render_task` turns the registry `PLOTS` into PNG bytes or a note, so one odd task never sinks the report.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import matplotlib
import numpy as np
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from evals.report import view

DPI = 110
ROLE_COLOURS = {"base": "#8c8c8c", "sft": "#4c72b0", "rft": "#dd8452"}
OTHER_COLOURS = ("#55a868", "#8172b3", "#937860", "#da8bc3", "#64b5cd", "#ccb974", "#c44e52")
VERDICT_COLOURS = {"better": "#2e7d32", "worse": "#c62828", "ns": "#616161", "na": "#9e9e9e"}
HIGHLIGHT = {"reward_hacking_suspects": ("#c62828", "reward-hacking suspect"),
             "underrated": ("#1565c0", "underrated")}
MAX_SCATTER_COLUMNS = 4
MAX_SCATTER_ROWS = 2
# Local style, applied with rc_context around drawing and saving only.
STYLE = {"font.size": 9, "axes.titlesize": 9.5, "axes.labelsize": 9, "xtick.labelsize": 8, "ytick.labelsize": 8,
         "legend.fontsize": 8, "axes.spines.top": False, "axes.spines.right": False, "axes.grid": True,
         "grid.alpha": 0.25, "grid.linewidth": 0.6, "figure.facecolor": "white"}


class NoData(Exception):
    """Nothing to draw for this plot; the message says why and appears in the report instead."""


@dataclass(frozen=True)
class PlotContext:
    task_name: str
    task: Mapping[str, Any]
    roles: Mapping[str, str]
    candidates: tuple[str, ...]

    @classmethod
    def of(cls, task_name: str, task: Mapping[str, Any], roles: Mapping[str, str]) -> PlotContext:
        return cls(task_name, task, roles, tuple(view.candidates(task, roles)))

    def colour(self, candidate: str) -> str:
        role = view.role_of(candidate, self.roles)
        if role in ROLE_COLOURS:
            return ROLE_COLOURS[role]
        others = [c for c in self.candidates if view.role_of(c, self.roles) not in ROLE_COLOURS]
        index = others.index(candidate) if candidate in others else len(others)
        return OTHER_COLOURS[index % len(OTHER_COLOURS)]

    def label(self, candidate: str) -> str:
        return text(view.candidate_label(candidate, self.roles))


def text(value: Any, limit: int = 48) -> str:
    """A data string made safe for matplotlib: '$' would start mathtext, and long names crowd the axes."""
    s = str(value).replace("\n", " ").replace("$", r"\$")
    return s if len(s) <= limit else s[: limit - 1] + "…"


def _figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _note(ax: Any, message: str) -> None:
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, color="#757575", fontsize=8)


def _errors(values: np.ndarray, lows: np.ndarray, highs: np.ndarray) -> np.ndarray:
    """Asymmetric error bar lengths; NaN or inverted bounds draw no bar instead of failing."""
    below = np.where(np.isnan(lows) | np.isnan(values), 0.0, np.clip(values - lows, 0.0, None))
    above = np.where(np.isnan(highs) | np.isnan(values), 0.0, np.clip(highs - values, 0.0, None))
    return np.vstack([below, above])


def _finite(values: Sequence[float]) -> list[float]:
    return [v for v in values if math.isfinite(v)]


# --- the plots ----------------------------------------------------------------------------------------


def metric_bars(ctx: PlotContext) -> Figure:
    """Small multiples: one panel per metric, one bar per candidate with its 95% CI."""
    every = view.metric_names(ctx.task)
    # A panel only for a metric some candidate has a value for: an all-n/a panel says nothing.
    names = [m for m in every if any(view.is_num(view.metric(ctx.task, c, m).value) for c in ctx.candidates)]
    if not names or not ctx.candidates:
        raise NoData("no metrics recorded for any candidate")
    ncols = min(4, len(names))
    nrows = math.ceil(len(names) / ncols)
    fig = _figure(2.75 * ncols, 0.55 + 1.95 * nrows)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    x = np.arange(len(ctx.candidates))
    colours = [ctx.colour(c) for c in ctx.candidates]
    for ax, name in zip(axes.flat, names, strict=False):
        est = [view.metric(ctx.task, name_c, name) for name_c in ctx.candidates]
        values = np.array([e.value for e in est])
        lows, highs = np.array([e.ci_low for e in est]), np.array([e.ci_high for e in est])
        ax.bar(x, np.nan_to_num(values), color=colours, width=0.7, alpha=0.9)
        ax.errorbar(x, np.nan_to_num(values), yerr=_errors(values, lows, highs), fmt="none", ecolor="#212121",
                    elinewidth=1, capsize=3)
        bounds = _finite(list(values) + list(lows) + list(highs))
        unit = bool(bounds) and min(bounds) >= 0 and max(bounds) <= 1
        top = 1.0 if unit else (max(bounds) if bounds else 1.0)
        ax.set_ylim(min(0.0, *(bounds or [0.0])), top * 1.2 if top > 0 else 1.0)
        if unit:
            ax.set_yticks([0.0, 0.25, 0.5, 0.75, 1.0])  # the headroom above 1 is for labels, not a scale
        for xi, v, hi in zip(x, values, highs, strict=True):
            label = "n/a" if math.isnan(v) else f"{v:.2f}" if abs(v) < 10 else f"{v:.0f}"
            anchor = 0.0 if math.isnan(v) else max(v, hi) if math.isfinite(hi) else v  # above the CI cap
            ax.annotate(label, (xi, anchor), xytext=(0, 2), textcoords="offset points",
                        ha="center", va="bottom", fontsize=7, color="#9e9e9e" if math.isnan(v) else "#212121")
        ax.set_title(text(name, 32) + ("" if view.higher_is_better(ctx.task, name) else "  (lower is better)"))
        ax.set_xticks([])
        ax.grid(axis="x", visible=False)
    for ax in list(axes.flat)[len(names):]:
        ax.set_visible(False)
    handles = [Patch(color=c, label=ctx.label(n)) for n, c in zip(ctx.candidates, colours,
                                                                                        strict=True)]
    fig.legend(handles=handles, loc="outside upper center", ncols=min(len(handles), 4), frameon=False)
    skipped = [m for m in every if m not in names]
    if skipped:
        fig.supxlabel(text("no value for any candidate: " + ", ".join(skipped), 160), fontsize=7.5, color="#757575")
    return fig


def _forest_pairs(ctx: PlotContext) -> list[tuple[str, str]]:
    pairs = view.delta_pairs(ctx.task, ctx.roles)
    stored = [(d.a, d.b) for d in view.deltas(ctx.task)]
    extra = [p for p in dict.fromkeys(stored) if p not in pairs and (p[1], p[0]) not in pairs]
    return pairs + extra


def _forest_limit(rows: Sequence[view.Delta]) -> float:
    """Half-width of the x axis: fit the unit-scale metrics; counts (e.g. n_comments) are clipped with a note."""
    spans = [abs(v) for d in rows for v in (d.diff, d.ci_low, d.ci_high) if math.isfinite(v)]
    unit = [s for s in spans if s <= 1.0]
    limit = max(unit or spans or [0.05])
    return max(limit, 0.05) * 1.12


def delta_forest(ctx: PlotContext) -> Figure:
    """Paired differences a - b with 95% CIs, one panel per pair; Holm-significant ones filled and coloured."""
    pairs = _forest_pairs(ctx)
    if not pairs:
        raise NoData("no paired comparisons (a single candidate, or no shared items)")
    metric_order = list(dict.fromkeys(view.metric_names(ctx.task) + [d.metric for d in view.deltas(ctx.task)]))
    per_pair = {p: [d for m in metric_order if (d := view.delta(ctx.task, m, *p)) is not None
                    and math.isfinite(d.diff)] for p in pairs}
    shown = [m for m in metric_order if any(d.metric == m for ds in per_pair.values() for d in ds)]
    if not any(math.isfinite(d.diff) for ds in per_pair.values() for d in ds):
        raise NoData("no comparison has a value (every difference is null)")
    # At least 7 inches wide so the three-entry legend fits under a single panel.
    fig = _figure(min(max(3.6 * len(pairs) + 2.2, 7.0), 12.5), 1.1 + 0.26 * len(shown))
    # One x scale for every pair: the panels are compared side by side.
    axes = fig.subplots(1, len(pairs), sharey=True, sharex=True, squeeze=False)[0]
    y_of = {m: i for i, m in enumerate(shown)}
    limit = _forest_limit([d for ds in per_pair.values() for d in ds])
    for ax, pair in zip(axes, pairs, strict=True):
        rows = per_pair[pair]
        ax.axvline(0, color="#424242", linewidth=0.9)
        for d in rows:
            y = y_of[d.metric]
            colour = VERDICT_COLOURS[d.verdict]
            if math.isfinite(d.ci_low) and math.isfinite(d.ci_high):
                ax.hlines(y, max(d.ci_low, -limit), min(d.ci_high, limit), color=colour, linewidth=1.6)
            if not math.isfinite(d.diff):
                ax.annotate("n/a", (0, y), xytext=(4, 0), textcoords="offset points", va="center", fontsize=7,
                            color=VERDICT_COLOURS["na"])
                continue
            clipped = abs(d.diff) > limit
            xpos = max(-limit, min(d.diff, limit))
            marker = (">" if d.diff > 0 else "<") if clipped else "o"
            ax.plot([xpos], [y], marker=marker, markersize=6.5, color=colour,
                    markerfacecolor=colour if d.significant else "white", markeredgewidth=1.4)
            if clipped:
                ax.annotate(f"{d.diff:+.2g}", (xpos, y), xytext=(-4 if d.diff > 0 else 4, 5),
                            textcoords="offset points", ha="right" if d.diff > 0 else "left", fontsize=7,
                            color=colour)
            elif d.significant:
                ax.annotate("*", (xpos, y), xytext=(0, 3), textcoords="offset points", ha="center", fontsize=9,
                            color=colour)
        ax.set_xlim(-limit, limit)
        role_a, role_b = view.role_of(pair[0], ctx.roles), view.role_of(pair[1], ctx.roles)
        head = f"{(role_a or '').upper()} − {(role_b or '').upper()}\n" if role_a and role_b else ""
        ax.set_title(f"{head}{text(pair[0], 24)} − {text(pair[1], 24)}")
        ax.set_xlabel("difference (a − b)")
        ax.grid(axis="y", visible=False)
    axes[0].set_yticks(range(len(shown)), [text(m, 44) for m in shown])
    axes[0].set_ylim(len(shown) - 0.5, -0.5)
    handles = [Line2D([], [], marker="o", linestyle="", color=VERDICT_COLOURS[k],
                                       markerfacecolor=VERDICT_COLOURS[k] if k != "ns" else "white", label=label)
               for k, label in (("better", "better (Holm p<0.05)"), ("worse", "worse (Holm p<0.05)"),
                                ("ns", "not significant"))]
    fig.legend(handles=handles, loc="outside lower center", ncols=3, frameon=False)
    return fig


@dataclass(frozen=True)
class _ScatterPanel:
    who: str
    production_metric: str
    reward: list[float]
    production: list[float]
    item_ids: list[str]
    entry: Mapping[str, Any] = field(repr=False)


def _scatter_panels(ctx: PlotContext) -> list[_ScatterPanel]:
    entries = view.agreement_entries(ctx.task, ctx.candidates)
    per_candidate = [(w, e) for w, e in entries if w != "pooled" and view.rows(e.get("points"))]
    chosen = (per_candidate or [(w, e) for w, e in entries if view.rows(e.get("points"))])[:MAX_SCATTER_COLUMNS]
    panels = []
    for who, entry in chosen:
        points = view.rows(entry.get("points"))
        metrics = [str(m) for m in view.mapping(entry.get("production"))]
        if not metrics:
            metrics = list(dict.fromkeys(str(k) for p in points for k in view.mapping(p.get("production"))))
        for metric_name in metrics[:MAX_SCATTER_ROWS]:
            pairs = [(view.num(p.get("reward")), view.num(view.mapping(p.get("production")).get(metric_name)),
                      str(p.get("item_id", ""))) for p in points]
            pairs = [t for t in pairs if math.isfinite(t[0]) and math.isfinite(t[1])]
            if not pairs:
                continue  # no sample has both values: no panel (an empty frame says nothing)
            panels.append(_ScatterPanel(who, metric_name, [t[0] for t in pairs], [t[1] for t in pairs],
                                        [t[2] for t in pairs], entry))
    return panels


def _correlation_title(panel: _ScatterPanel, label: str) -> str:
    stats = view.mapping(view.mapping(panel.entry.get("production")).get(panel.production_metric))
    rho = view.mapping(stats.get("spearman"))
    value = view.num(rho.get("value"))
    if math.isnan(value):
        return f"{label}\nSpearman ρ n/a · n={len(panel.reward)}"
    ci = ""
    if view.is_num(rho.get("ci_low")) and view.is_num(rho.get("ci_high")):
        ci = f" [{view.num(rho.get('ci_low')):.2f}, {view.num(rho.get('ci_high')):.2f}]"
    return f"{label}\nSpearman ρ = {value:.2f}{ci} · n={len(panel.reward)}"


def reward_scatter(ctx: PlotContext) -> Figure:
    """Training reward against each production metric, per candidate; disagreeing items ringed."""
    panels = _scatter_panels(ctx)
    if not any(p.reward for p in panels):
        raise NoData("no reward/production points in the agreement data")
    whos = list(dict.fromkeys(p.who for p in panels))
    metrics = list(dict.fromkeys(p.production_metric for p in panels))
    fig = _figure(min(3.2 * len(whos), 12.5) + 0.3, 0.5 + 2.9 * len(metrics))
    # Candidates side by side share both axes: the same reward and the same metric, read across the row.
    axes = fig.subplots(len(metrics), len(whos), squeeze=False, sharey=True, sharex="row")
    used: dict[str, Any] = {}
    for panel in panels:
        ax = axes[metrics.index(panel.production_metric)][whos.index(panel.who)]
        colour = ctx.colour(panel.who) if panel.who in ctx.candidates else "#546e7a"
        ax.scatter(panel.production, panel.reward, s=22, color=colour, alpha=0.6, edgecolors="none")
        for key, (ring, name) in HIGHLIGHT.items():
            ids = {str(s.get("item_id")) for s in view.rows(panel.entry.get(key))
                   if str(s.get("production_metric", panel.production_metric)) == panel.production_metric}
            xs = [x for x, i in zip(panel.production, panel.item_ids, strict=True) if i in ids]
            ys = [y for y, i in zip(panel.reward, panel.item_ids, strict=True) if i in ids]
            if xs:
                used[name] = ax.scatter(xs, ys, s=70, facecolors="none", edgecolors=ring, linewidths=1.4, label=name)
        stats = view.mapping(view.mapping(panel.entry.get("production")).get(panel.production_metric))
        if view.is_num(stats.get("reward_threshold")):
            ax.axhline(view.num(stats.get("reward_threshold")), color="#9e9e9e", linestyle="--", linewidth=0.8)
        if view.is_num(stats.get("production_threshold")):
            ax.axvline(view.num(stats.get("production_threshold")), color="#9e9e9e", linestyle="--", linewidth=0.8)
        label = ctx.label(panel.who) if panel.who in ctx.candidates else text(panel.who)
        ax.set_title(_correlation_title(panel, label))
        ax.set_xlabel(text(panel.production_metric, 32))
        ax.set_ylabel(text(view.mapping(panel.entry).get("reward_metric") or "reward", 24))
        if not panel.reward:
            _note(ax, "no points")
    for row in axes:
        for ax in row:
            if not ax.has_data() and not ax.texts:
                ax.set_visible(False)
    if used:
        fig.legend(handles=list(used.values()), loc="outside lower center", ncols=len(used), frameon=False)
    return fig


def category_heatmap(ctx: PlotContext) -> Figure:
    """Per-category F1, candidates x categories, each cell annotated; grey cells have no value."""
    per_category = view.mapping(ctx.task.get("per_category"))
    cands = [c for c in ctx.candidates if c in per_category] + [str(c) for c in per_category
                                                                if c not in ctx.candidates]
    categories = list(dict.fromkeys(str(k) for c in cands for k in view.mapping(per_category.get(c))))
    if not cands or not categories:
        raise NoData("the task has no per-category scores")
    grid = np.array([[view.num(view.mapping(view.mapping(per_category.get(c)).get(k)).get("f1"))
                      for k in categories] for c in cands], dtype=float)
    support: dict[str, float] = {}
    for c in cands:
        for k in categories:
            s = view.num(view.mapping(view.mapping(per_category.get(c)).get(k)).get("support"))
            if math.isfinite(s):
                support[k] = max(support.get(k, 0.0), s)
    fig = _figure(max(5.0, min(0.95 * len(categories) + 2.6, 12.5)), 1.3 + 0.48 * len(cands))
    ax = fig.subplots()
    cmap = matplotlib.colormaps["viridis"].with_extremes(bad="#eeeeee")
    image = ax.imshow(np.ma.masked_invalid(grid), cmap=cmap, vmin=0.0, vmax=1.0, aspect="auto")
    for (i, j), v in np.ndenumerate(grid):
        ax.text(j, i, "–" if math.isnan(v) else f"{v:.2f}", ha="center", va="center", fontsize=8,
                color="#616161" if math.isnan(v) else ("white" if v < 0.55 else "#212121"))
    ax.set_xticks(range(len(categories)),
                  [text(k, 22) + (f"\n(n={support[k]:.0f})" if k in support else "") for k in categories],
                  rotation=30, ha="right", rotation_mode="anchor")
    ax.set_yticks(range(len(cands)), [ctx.label(c) if c in ctx.candidates else text(c) for c in cands])
    ax.grid(False)
    fig.colorbar(image, ax=ax, label="F1", shrink=0.9)
    return fig


def cost_latency(ctx: PlotContext) -> Figure:
    """Cost per candidate (bars) next to latency p50 and p95 (grouped bars)."""
    cost = np.array([view.usage(ctx.task, c, "usage/cost_usd") for c in ctx.candidates])
    p50 = np.array([view.usage(ctx.task, c, "latency/p50_ms") for c in ctx.candidates])
    p95 = np.array([view.usage(ctx.task, c, "latency/p95_ms") for c in ctx.candidates])
    if not ctx.candidates or all(np.isnan(a).all() for a in (cost, p50, p95)):
        raise NoData("no usage (cost or latency) recorded")
    no_cost = not np.nan_to_num(cost).any()  # local models cost nothing: a panel of zero bars says nothing
    no_latency = np.isnan(p50).all() and np.isnan(p95).all()
    panels = (0 if no_cost else 1) + (0 if no_latency else 1)
    if panels == 0:
        raise NoData("every candidate cost $0 and no latency was recorded")
    fig = _figure(5.5 * panels, 2.9)
    axes = list(fig.subplots(1, panels, squeeze=False)[0])
    ax_cost = None if no_cost else axes.pop(0)
    ax_lat = None if no_latency else axes.pop(0)
    x = np.arange(len(ctx.candidates))
    labels = [ctx.label(c) for c in ctx.candidates]
    colours = [ctx.colour(c) for c in ctx.candidates]
    if ax_cost is not None:
        ax_cost.bar(x, np.nan_to_num(cost), color=colours, width=0.6)
        for xi, v in zip(x, cost, strict=True):
            ax_cost.annotate("n/a" if math.isnan(v) else f"${v:,.4f}", (xi, 0 if math.isnan(v) else v),
                             xytext=(0, 2), textcoords="offset points", ha="center", fontsize=7)
        ax_cost.set_title("cost (USD, whole run)")
    if ax_lat is None:
        _finish_usage_axes([ax_cost], x, labels)
        return fig
    ax_lat.bar(x - 0.18, np.nan_to_num(p50), width=0.36, color=colours, alpha=0.55, label="p50")
    ax_lat.bar(x + 0.18, np.nan_to_num(p95), width=0.36, color=colours, alpha=1.0, hatch="//", label="p95",
               edgecolor="white")
    for xi, a, b in zip(x, p50, p95, strict=True):
        for dx, v in ((-0.18, a), (0.18, b)):
            ax_lat.annotate("n/a" if math.isnan(v) else f"{v:,.0f}", (xi + dx, 0 if math.isnan(v) else v),
                            xytext=(0, 2), textcoords="offset points", ha="center", fontsize=7)
    ax_lat.set_title("latency per call (ms): p50 light, p95 hatched"
                     + (" · cost $0 for every candidate" if no_cost else ""))
    _finish_usage_axes([a for a in (ax_cost, ax_lat) if a is not None], x, labels)
    return fig


def _finish_usage_axes(axes: Sequence[Any], x: np.ndarray, labels: Sequence[str]) -> None:
    for ax in axes:
        ax.set_xticks(x, labels, rotation=15, ha="right", rotation_mode="anchor")
        ax.grid(axis="x", visible=False)
        ax.margins(y=0.18)
        ax.set_ylim(bottom=0)  # costs and latencies are never negative; an all-zero panel drew -0.05


def pairwise_win_rates(ctx: PlotContext) -> Figure:
    """Pairwise-judge win rate of a over b with its CI; 0.5 is a tie."""
    results = view.rows(ctx.task.get("pairwise_judge"))
    if not results:
        raise NoData("no pairwise judge configured")
    fig = _figure(7.5, 0.9 + 0.45 * len(results))
    ax = fig.subplots()
    ys = np.arange(len(results))
    for y, r in zip(ys, results, strict=True):
        rate, low, high = view.num(r.get("win_rate")), view.num(r.get("ci_low")), view.num(r.get("ci_high"))
        if math.isfinite(low) and math.isfinite(high):
            ax.hlines(y, low, high, color="#424242", linewidth=1.6)
        if math.isfinite(rate):
            ax.plot([rate], [y], "o", color=VERDICT_COLOURS["better" if rate > 0.5 else "worse"], markersize=7)
        counts = "/".join(str(r.get(k, "–")) for k in ("wins", "ties", "losses"))
        ax.annotate(f"{'n/a' if math.isnan(rate) else f'{rate:.2f}'}  (W/T/L {counts})", (1.0, y),
                    xytext=(6, 0), textcoords="offset points", va="center", fontsize=7, annotation_clip=False)
    ax.axvline(0.5, color="#9e9e9e", linestyle="--", linewidth=0.9)
    ax.set_xlim(0, 1)
    ax.set_yticks(ys, [f"{text(r.get('a'), 20)} vs {text(r.get('b'), 20)}" for r in results])
    ax.set_ylim(len(results) - 0.5, -0.5)
    ax.set_xlabel("win rate of the first (ties count half)")
    return fig


# --- registry and rendering ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PlotSpec:
    key: str
    title: str
    draw: Callable[[PlotContext], Figure]


PLOTS: tuple[PlotSpec, ...] = (
    PlotSpec("metrics", "Metrics per candidate (95% CI)", metric_bars),
    PlotSpec("deltas", "Paired differences (95% CI, Holm-adjusted significance)", delta_forest),
    PlotSpec("reward_vs_production", "Reward vs production per candidate (dashed: pass thresholds; ringed: the "
             "disagreement examples below)", reward_scatter),
    PlotSpec("category_f1", "F1 per risk category", category_heatmap),
    PlotSpec("cost_latency", "Cost and latency", cost_latency),
    PlotSpec("pairwise_judge", "Pairwise-judge win rates", pairwise_win_rates),
)


@dataclass(frozen=True)
class RenderedFigure:
    key: str
    title: str
    png: bytes | None  # None when skipped; `note` then says why
    note: str = ""
    failed: bool = False  # True when drawing raised something other than NoData (a bug, shown as a note)


@contextmanager
def _style() -> Iterator[None]:
    with matplotlib.rc_context(STYLE):
        yield


def png_bytes(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    with _style():
        fig.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def render(spec: PlotSpec, ctx: PlotContext) -> RenderedFigure:
    try:
        with _style():
            fig = spec.draw(ctx)
            return RenderedFigure(spec.key, spec.title, png_bytes(fig))
    except NoData as reason:
        return RenderedFigure(spec.key, spec.title, None, str(reason))
    except Exception as error:  # noqa: BLE001 - a plot bug must not lose the rest of the report
        return RenderedFigure(spec.key, spec.title, None, f"plot failed: {type(error).__name__}: {error}",
                              failed=True)


def render_task(task_name: str, task: Mapping[str, Any], roles: Mapping[str, str],
                specs: Sequence[PlotSpec] = PLOTS) -> list[RenderedFigure]:
    ctx = PlotContext.of(task_name, task, roles)
    return [render(spec, ctx) for spec in specs]
