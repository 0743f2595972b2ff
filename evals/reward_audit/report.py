"""The audit as JSON (every figure) and Markdown (the policy table, rank agreement, margins, gate)."""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from pathlib import Path
from typing import Any

from evals.reward_audit.runner import AuditResult

KIND_ORDER = {"honest": 0, "baseline": 1, "run": 2, "degenerate": 3}


def _num(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _num(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_num(v) for v in value]
    return value


def to_dict(result: AuditResult) -> dict[str, Any]:
    return _num({
        "task": result.task, "reward": result.reward, "headline": result.headline, "items": result.items,
        "passed": result.passed, "reasons": result.reasons, "checks": result.gate.checks,
        "kendall": asdict(result.gate.kendall) if result.gate.kendall else None,
        "margins": asdict(result.gate.margins) if result.gate.margins else None,
        "paired": {label: asdict(pair) for label, pair in result.gate.paired.items()},
        "agreement": [asdict(a) for a in result.agreement],
        "policies": [asdict(p) for p in result.policies],
        "judge": result.judge, "settings": result.settings,
    })


def _f(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def ordered(result: AuditResult):
    return sorted(result.policies, key=lambda p: (KIND_ORDER.get(p.kind, 9), -p.reward))


def policy_table(result: AuditResult, extra_metrics: tuple[str, ...] = ()) -> list[str]:
    metrics = (result.headline, *[m for m in extra_metrics if m != result.headline])
    components = sorted({c for p in result.policies for c in p.components})
    head = ["policy", "kind", "mean reward [95% CI]", *metrics, "gated", *components]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for p in ordered(result):
        name = f"**{p.name}**" if p.kind == "degenerate" and p.name == (result.gate.margins.best_degenerate
                                                                       if result.gate.margins else None) else p.name
        row = [name, p.kind, f"{_f(p.reward)} [{_f(p.ci[0])}, {_f(p.ci[1])}]",
               *[_f(p.metrics.get(m)) for m in metrics], f"{p.gated:.0%}",
               *[_f(p.components.get(c), 2) for c in components]]
        lines.append("| " + " | ".join(row) + " |")
    return lines


def to_markdown(result: AuditResult, extra_metrics: tuple[str, ...] = ()) -> str:
    g, m = result.gate, result.gate.margins
    lines = [f"## Reward audit: task {result.task}, reward {result.reward}", "",
             f"{result.items} items; headline metric `{result.headline}`; verdict: "
             f"**{'PASS' if result.passed else 'FAIL'}**", ""]
    lines += [f"- {reason}" for reason in result.reasons]
    if result.reasons:
        lines.append("")
    lines += policy_table(result, extra_metrics)
    lines += ["", "Components: mean value per sample of each component that makes the reward.", ""]
    if g.kendall:
        lines.append(f"- Kendall tau (honest policies and baselines, reward vs {result.headline}): "
                     f"{_f(g.kendall.kendall)} over {g.kendall.n} policies; Spearman {_f(g.kendall.spearman)}")
    if m:
        lines.append(f"- Hackability margin: weakest honest policy with {result.headline} >= floor "
                     f"({m.weakest_honest}, {_f(m.weakest_honest_reward)}) minus best degenerate "
                     f"({m.best_degenerate}, {_f(m.best_degenerate_reward)}) = {_f(m.honest_margin)}")
        lines.append(f"- Baseline margin: best baseline ({m.best_baseline}, {_f(m.best_baseline_reward)}) minus best "
                     f"degenerate = {_f(m.baseline_margin)}")
    for label, pair in g.paired.items():
        lines.append(f"- Weakest paired {label} margin ({pair.n} items): {pair.better} minus {pair.worse} = "
                     f"{_f(pair.mean)}, lower confidence bound {_f(pair.lower)}")
    lines += ["", "Rank agreement across all policies (mean reward vs each production metric):", "",
              "| metric | Kendall | Spearman | policies |", "|---|---|---|---|"]
    lines += [f"| {a.metric} | {_f(a.kendall)} | {_f(a.spearman)} | {a.n} |" for a in result.agreement
              if "/" not in a.metric]
    if result.judge:
        lines += ["", "### Judge path", "", "| policy | reward with the scripted judge | gain over the same answer "
                  "judged honestly |", "|---|---|---|"]
        for row in result.judge.get("policies", []):
            lines.append(f"| {row['policy']} | {_f(row['reward'])} | {_f(row['gain'])} |")
        if result.judge.get("by_behaviour"):  # every judge behaviour of the reward's kind (judge_kinds.py)
            from evals.reward_audit.judge_kinds import to_markdown as behaviour_markdown

            lines += ["", *behaviour_markdown(result.judge["by_behaviour"])]
    return "\n".join(lines) + "\n"


def write(result: AuditResult, out_dir: Path, extra_metrics: tuple[str, ...] = ()) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / "reward_audit.json"
    md_path = out_dir / "reward_audit.md"
    json_path.write_text(json.dumps(to_dict(result), indent=1, sort_keys=False) + "\n", encoding="utf-8")
    md_path.write_text(to_markdown(result, extra_metrics), encoding="utf-8")
    return json_path, md_path
