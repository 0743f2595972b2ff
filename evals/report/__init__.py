"""The nightly report, rendered only from a nightly.json dict: a self-contained HTML page, a Markdown
summary, and the figures as PNG files (for MLflow artifacts)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evals.report import view
from evals.report.html import render_html
from evals.report.markdown import render_markdown
from evals.report.plots import RenderedFigure, render_task
from evals.report.view import ReportInputError

HTML_NAME = "report.html"
MARKDOWN_NAME = "report.md"
FIGURES_DIR = "figures"

__all__ = ["ReportFiles", "ReportInputError", "render_figures", "render_html", "render_markdown", "write_report"]


@dataclass(frozen=True)
class ReportFiles:
    html: Path
    markdown: Path
    figures: list[Path]
    notes: list[str] = field(default_factory=list)  # "task / figure: why it was not drawn"


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.")[:60] or "task"


def render_figures(nightly: Mapping[str, Any]) -> dict[str, list[RenderedFigure]]:
    """task name -> its figures (drawn or skipped with a note)."""
    nightly = view.check_nightly(nightly)
    return {str(name): render_task(str(name), view.mapping(task), view.task_roles(nightly, view.mapping(task)))
            for name, task in view.mapping(nightly.get("tasks")).items()}


def write_report(nightly: Mapping[str, Any], out_dir: Path) -> ReportFiles:
    """Write out_dir/report.html, out_dir/report.md and out_dir/figures/<n>-<task>__<figure>.png."""
    nightly = view.check_nightly(nightly)
    out_dir = Path(out_dir)
    figure_dir = out_dir / FIGURES_DIR
    figure_dir.mkdir(parents=True, exist_ok=True)
    figures = render_figures(nightly)
    paths, notes = [], []
    # The index keeps two task names that slug alike from overwriting each other's files.
    for index, (task_name, rendered) in enumerate(figures.items()):
        for fig in rendered:
            if fig.png is None:
                notes.append(f"{task_name} / {fig.key}: {fig.note}")
                continue
            path = figure_dir / f"{index}-{_slug(task_name)}__{fig.key}.png"
            path.write_bytes(fig.png)
            paths.append(path)
    html_path, md_path = out_dir / HTML_NAME, out_dir / MARKDOWN_NAME
    html_path.write_text(render_html(nightly, figures), encoding="utf-8")
    md_path.write_text(render_markdown(nightly, html_name=str(html_path)), encoding="utf-8")
    return ReportFiles(html_path, md_path, paths, notes)
