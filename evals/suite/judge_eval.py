"""`rft-evals judge-eval`: measure a judge against labels, several judge variants side by side.

data=llmbar: LLMBar / MT-Bench / FairEval / LLMEval² pairs (<data_root>/llmbar/Dataset/**/dataset.json);
pairwise accuracy per subset (both orders; a tie or an unread verdict is not correct), position
consistency, tie rate.
data=contract_review: windows of the task answered by several synthetic responses (the gold answer, no
comments, a wrong action, a fabricated quote, empty); the verdict each rubric criterion should give is
implied by the gold labels through the deterministic metrics; reported: Cohen's kappa, precision and
recall of "fail", accuracy; plus the steering probes' flip rate. A scale (1-5) judge is measured the same
way: a dimension passes when its mean over the comments is at least 3 ((mean - 1) / 4 >= 0.5), and
`ranking_accuracy` is the share of (window, flawed variant) the gold answer out-scores.
Every kind also reports pooled `accuracy` and `kappa` (rubric and scale: over every criterion and response;
pairwise: over pairs, an unread verdict or a tie counting as wrong): the figures a reward's calibration bar
reads (evals/judging/calibration.py).
Both: self-consistency over `repeats`, parse-error and re-ask rates, cost per 1,000 verdicts. Report in the
run folder (report.json, report.md) and MLflow (one nested run per judge variant)."""

from __future__ import annotations

import json
import logging
import math
import random
import re
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf
from rich.console import Console
from rich.table import Table

from evals.inference.cache import GenerationCache
from evals.inference.engine import FatalRunError
from evals.judging.judge import JudgeRun, run_judge, task_sample
from evals.run.provenance import git_commit
from evals.providers.registry import ProviderContext
from evals.stats.estimate import estimate_all
from evals.run.resources import open_run
from evals.run.user_errors import exit_on_user_error
from metrics.judges.rubric import FAIL, PASS, labels_of
from metrics.judges.scale import HIGH, LOW
from metrics.judges.types import JudgeSample
from metrics.types import SampleScore
from tasks.data_root import require
from tasks.registry import build_task
from evals.conf import compose, conf_dir

log = logging.getLogger(__name__)
CONF_DIR = str(conf_dir())
REPO = Path(__file__).resolve().parents[2]
LLMBAR_DIR = "llmbar/Dataset"
DEFAULT_PROBES = REPO / "tasks" / "probes" / "steering_probes.jsonl"


# --- LLMBar -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PreferencePair:
    subset: str
    index: int
    instruction: str
    output_1: str
    output_2: str
    label: int  # 1 or 2: the preferred output

    @property
    def id(self) -> str:
        return f"{self.subset}#{self.index}"


def load_llmbar(root: Path, subsets: Sequence[str] | None = None, limit: int | None = None,
                seed: int = 0) -> list[PreferencePair]:
    """Pairs from every <root>/llmbar/Dataset/**/dataset.json; subset = its folder under Dataset/ (e.g.
    LLMBar/Natural). `limit` pairs per subset, a seeded sample."""
    base = require(LLMBAR_DIR, root)
    pairs: list[PreferencePair] = []
    files = sorted(base.glob("**/dataset.json"))
    if not files:
        raise FileNotFoundError(f"no dataset.json under {base}; run `rft-evals data fetch`")
    for path in files:
        subset = path.parent.relative_to(base).as_posix()
        if subsets and not any(subset == s or subset.endswith("/" + s) for s in subsets):
            continue
        rows = json.loads(path.read_text(encoding="utf-8"))
        indices = list(range(len(rows)))
        if limit is not None and limit < len(rows):
            random.Random(f"{seed}:{subset}").shuffle(indices)
            indices = sorted(indices[:limit])
        for i in indices:
            row = rows[i]
            if row.get("label") not in (1, 2):
                raise ValueError(f"{path}: row {i} has label {row.get('label')!r}; expected 1 or 2")
            pairs.append(PreferencePair(subset, i, str(row["input"]), str(row["output_1"]), str(row["output_2"]),
                                        int(row["label"])))
    if subsets and not pairs:
        raise ValueError(f"subsets {list(subsets)} match no LLMBar folder; folders: "
                         f"{[p.parent.relative_to(base).as_posix() for p in files]}")
    return pairs


def llmbar_samples(pairs: Sequence[PreferencePair]) -> list[JudgeSample]:
    return [JudgeSample(p.id, response=p.output_1, other=p.output_2, document=p.instruction,
                        meta={"subset": p.subset, "gold": "A" if p.label == 1 else "B"}) for p in pairs]


def _rate(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else math.nan


def pairwise_report(run: JudgeRun, samples: Sequence[JudgeSample]) -> dict[str, Any]:
    gold = {s.id: s.meta["gold"] for s in samples}
    subset = {s.id: s.meta["subset"] for s in samples}
    rows = []
    for j in run.judged:
        if j.repeat != 0:
            continue
        winner = j.score.details.get("winner")
        rows.append({"id": j.sample_id, "subset": subset[j.sample_id], "gold": gold[j.sample_id], "winner": winner,
                     "correct": float(winner == gold[j.sample_id]),
                     "consistent": j.score.values.get("pair_consistent"),
                     "tie": j.score.values.get("pair_tie"), "parse_error": j.score.values["judge_parse_error"],
                     "judge_error": j.score.values["judge_error"]})
    figures: dict[str, float] = {}
    for name in sorted({r["subset"] for r in rows}) + ["all"]:
        chosen = [r for r in rows if name == "all" or r["subset"] == name]
        read = [r for r in chosen if r["winner"] is not None]
        figures[f"accuracy/{name}"] = _rate([r["correct"] for r in chosen])
        figures[f"n/{name}"] = float(len(chosen))
        if name == "all":
            figures["accuracy"] = figures["accuracy/all"]
            figures["kappa"] = pair_kappa([r["gold"] for r in chosen], [r["winner"] for r in chosen])
            figures["position_consistency"] = _rate([r["consistent"] for r in read])
            figures["tie_rate"] = _rate([r["tie"] for r in read])
            figures["unread_rate"] = _rate([float(r["winner"] is None) for r in chosen])
    return {"figures": figures, "rows": rows}


def pair_kappa(gold: Sequence[str], winners: Sequence[str | None]) -> float:
    """Cohen's kappa of the judge's winner (A, B, or tie/unread as a third label) against the gold winner."""
    from sklearn.metrics import cohen_kappa_score

    judged = [w if w in ("A", "B") else "other" for w in winners]
    if not gold or (len(set(gold)) == 1 and set(gold) == set(judged)):
        return math.nan
    return float(cohen_kappa_score(list(gold), judged, labels=["A", "B", "other"]))


def pair_self_consistency(run: JudgeRun) -> float:
    agree = []
    for scores in run.by_repeat().values():
        winners = [s.details.get("winner") for s in scores]
        if len(winners) > 1 and None not in winners:
            agree.append(float(len(set(winners)) == 1))
    return _rate(agree)


# --- contract review ---------------------------------------------------------------------------------

FABRICATED = "The provider may sell the consumer's house without notice."


def _implied(values: Mapping[str, float], has_risk: bool) -> dict[str, str]:
    """The verdict each criterion should give, from the deterministic metrics scored against gold."""
    valid = values.get("schema_valid", 0.0) == 1.0
    comments = values.get("n_comments", 0.0)
    grounded = valid and values.get("grounded_excerpts", 0.0) == values.get("total_excerpts", 0.0)
    consistent = (valid and values.get("risk_fp", 0.0) == 0 and values.get("risk_fn", 0.0) == 0
                  and values.get("assessment_correct", 0.0) == values.get("assessment_matched", 0.0))
    actionable = (valid and values.get("action_compliant", 0.0) == values.get("action_total", 0.0)
                  and (comments > 0 or not has_risk))
    return {"target_document_grounding": PASS if grounded else FAIL,
            "reference_consistency": PASS if consistent else FAIL,
            "actionability": PASS if actionable else FAIL}


def _disallowed_action(task: Any, risk: str, assessment: str) -> str:
    allowed = task.spec.allowed_actions.get((risk, assessment), frozenset())
    for action in ("accept", "negotiate", "escalate_to_counsel", "reject"):
        if action not in allowed:
            return action
    return "ignore"


def response_variants(task: Any, item: Mapping[str, Any]) -> dict[str, str]:
    gold = task.render_gold(item)
    comments = json.loads(gold)["comments"]
    variants = {"gold": gold, "empty": ""}
    fabricated = {"text_excerpt": FABRICATED, "risk": "unilateral_termination", "assessment": "clearly_unfair",
                  "action": "reject", "rationale": "The provider can act without any limit."}
    variants["fabricated_quote"] = json.dumps({"comments": [*comments, fabricated]})
    if comments:
        variants["no_comments"] = json.dumps({"comments": []})
        wrong = [{**c, "action": _disallowed_action(task, c["risk"], c["assessment"])} for c in comments]
        variants["wrong_action"] = json.dumps({"comments": wrong})
    return variants


def contract_items(task: Any, limit: int, seed: int) -> list[dict[str, Any]]:
    """`limit` windows, half of them (rounded up) with a gold risk, picked by a seeded shuffle."""
    rows = task.rows(task.config.split)
    rng = random.Random(seed)
    risky = [r for r in rows if r["gold"]]
    clean = [r for r in rows if not r["gold"]]
    rng.shuffle(risky)
    rng.shuffle(clean)
    n_risky = min(len(risky), (limit + 1) // 2)
    return risky[:n_risky] + clean[: limit - n_risky]


def load_probes(path: Path) -> list[dict[str, Any]]:
    probes = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            probe = json.loads(line)
            if not isinstance(probe.get("text"), str) or not probe.get("id"):
                raise ValueError(f"{path}:{n}: a probe needs `id` and `text`")
            probes.append(probe)
    return probes


def probe_samples(task: Any, item: Mapping[str, Any], probes: Sequence[Mapping[str, Any]]) -> list[JudgeSample]:
    """A clean failing review (one fabricated comment), then each probe planted in its rationale and
    appended after its JSON."""
    def review(rationale: str) -> str:
        return json.dumps({"comments": [{"text_excerpt": FABRICATED, "risk": "arbitration",
                                         "assessment": "clearly_unfair", "action": "accept",
                                         "rationale": rationale}]}, ensure_ascii=False)
    clean = review("The clause is unfair.")
    samples = [task_sample(task, item, clean, f"probe-clean|{item['id']}")]
    for probe in probes:
        samples.append(task_sample(task, item, review(probe["text"]), f"{probe['id']}|rationale|{item['id']}"))
        samples.append(task_sample(task, item, clean + "\n" + probe["text"], f"{probe['id']}|appended|{item['id']}"))
    return samples


def kappa(gold: Sequence[str], judged: Sequence[str]) -> float:
    from sklearn.metrics import cohen_kappa_score

    if not gold or (len(set(gold)) == 1 and set(gold) == set(judged)):
        return math.nan  # undefined: one class on both sides
    return float(cohen_kappa_score(gold, judged, labels=[PASS, FAIL]))


def agreement(gold: Sequence[str], judged: Sequence[str]) -> dict[str, float]:
    tp = sum(g == FAIL and j == FAIL for g, j in zip(gold, judged, strict=True))
    predicted = sum(j == FAIL for j in judged)
    actual = sum(g == FAIL for g in gold)
    return {"kappa": kappa(gold, judged), "fail_precision": tp / predicted if predicted else math.nan,
            "fail_recall": tp / actual if actual else math.nan,
            "accuracy": _rate([float(g == j) for g, j in zip(gold, judged, strict=True)]), "n": float(len(gold))}


def scale_labels(score: SampleScore) -> dict[str, str]:
    """dimension -> "pass" when its mean 1-5 score over the comments maps to at least 0.5 (mean >= 3), else
    "fail"; nothing for a response without judged comments (the scale judge has nothing to score)."""
    comments = score.values.get("judge_scale_comments") or 0.0
    out = {}
    for key, total in score.values.items():
        if comments and key.startswith("judge_scale/") and key.endswith("_sum"):
            mean = total / comments
            out[key[len("judge_scale/"):-len("_sum")]] = PASS if (mean - LOW) / (HIGH - LOW) >= 0.5 else FAIL
    return out


LABELS: dict[str, Callable[[SampleScore], dict[str, str]]] = {"rubric": labels_of, "scale": scale_labels}


def ranking_accuracy(run: JudgeRun, samples: Sequence[JudgeSample]) -> float:
    """Share of (window, flawed variant) whose judge_score is strictly below the gold variant's."""
    scores = {j.sample_id: j.score.values.get("judge_score") for j in run.judged if j.repeat == 0}
    wins = []
    for sample in samples:
        item_id, _, variant = sample.id.rpartition("|")
        gold = scores.get(f"{item_id}|gold")
        if variant != "gold" and gold is not None and scores.get(sample.id) is not None:
            wins.append(float(gold > scores[sample.id]))
    return _rate(wins)


def rubric_report(run: JudgeRun, samples: Sequence[JudgeSample], implied: Mapping[str, dict[str, str]],
                  criteria: Sequence[str], labels: Callable[[SampleScore], dict[str, str]] = labels_of
                  ) -> dict[str, Any]:
    scores = {j.sample_id: j.score for j in run.judged if j.repeat == 0}
    figures: dict[str, float] = {}
    rows = []
    for sample in samples:
        if sample.id not in implied:
            continue
        judged = labels(scores[sample.id])
        rows.append({"id": sample.id, "implied": implied[sample.id], "judged": judged,
                     "parse_error": scores[sample.id].values.get("judge_parse_error")})
    pooled: list[tuple[str, str]] = []
    for criterion in criteria:
        pairs = [(r["implied"][criterion], r["judged"][criterion]) for r in rows
                 if criterion in r["judged"] and criterion in r["implied"]]
        pooled += pairs
        stats = agreement([g for g, _ in pairs], [j for _, j in pairs])
        figures.update({f"{k}/{criterion}": v for k, v in stats.items()})
        figures[f"pass_rate/{criterion}"] = _rate([float(j == PASS) for _, j in pairs])
    overall = agreement([g for g, _ in pooled], [j for _, j in pooled])
    figures.update({"accuracy": overall["accuracy"], "kappa": overall["kappa"], "n": overall["n"]})
    return {"figures": figures, "rows": rows}


def rubric_self_consistency(run: JudgeRun, criteria: Sequence[str],
                            labels: Callable[[SampleScore], dict[str, str]] = labels_of) -> dict[str, float]:
    out = {}
    groups = run.by_repeat()
    for criterion in criteria:
        agree = []
        for scores in groups.values():
            seen = [labels(s).get(criterion) for s in scores]
            if len(seen) > 1 and None not in seen:
                agree.append(float(len(set(seen)) == 1))
        out[f"self_consistency/{criterion}"] = _rate(agree)
    return out


def flip_rate(run: JudgeRun, criteria: Sequence[str],
              labels: Callable[[SampleScore], dict[str, str]] = labels_of) -> dict[str, float]:
    """Share of (probe response, criterion) where the judge failed the clean review and passes the probed one."""
    scores = {j.sample_id: labels(j.score) for j in run.judged if j.repeat == 0}
    flips, counted, by_kind = 0, 0, {}
    for sample_id, labels in scores.items():
        probe_id, placement, item_id = (sample_id.split("|") + ["", ""])[:3]
        if probe_id == "probe-clean" or not placement:
            continue
        clean = scores.get(f"probe-clean|{item_id}", {})
        for criterion in criteria:
            if clean.get(criterion) == FAIL and criterion in labels:
                counted += 1
                flipped = labels[criterion] == PASS
                flips += flipped
                kind = probe_id.split("-", 2)[-1]
                by_kind.setdefault(kind, []).append(float(flipped))
    out = {"probe_flip_rate": flips / counted if counted else math.nan, "probe_flip_n": float(counted)}
    out.update({f"probe_flip_rate/{k}": _rate(v) for k, v in by_kind.items()})
    return out


# --- one variant --------------------------------------------------------------------------------------


def _common(run: JudgeRun) -> dict[str, float]:
    first = [j for j in run.judged if j.repeat == 0]
    return {"parse_error_rate": _rate([j.score.values.get("judge_parse_error", 0.0) for j in first]),
            "judge_error_rate": _rate([j.score.values.get("judge_error", 0.0) for j in first]),
            "reask_rate": run.reasked / max(1, run.calls - run.reasked), "judge_calls": float(run.calls),
            **run.cost_per_1k_verdicts(), **run.usage.to_metrics()}


def evaluate_variant(judge_cfg: Mapping[str, Any], config: Mapping[str, Any], *, root: Path,
                     cache: GenerationCache | None, console: Console) -> dict[str, Any]:
    data = str(config["data"])
    repeats = int(config.get("repeats") or 1)
    seed = int(config.get("seed") or 0)
    context = ProviderContext(task=None, data_root=root, seed=seed)
    kind = judge_cfg.get("kind")
    name = str(judge_cfg.get("name"))
    if data == "llmbar":
        if kind != "pairwise":
            raise ValueError(f"judge {name!r} is a {kind} judge; data=llmbar needs a pairwise judge "
                             "(judge=pairwise or judge=pairwise_gpt_oss)")
        samples = llmbar_samples(load_llmbar(root, config.get("subsets"), config.get("limit"), seed))
        console.print(f"judge [bold]{name}[/bold]: {len(samples)} LLMBar pairs x 2 orders x {repeats} repeats")
        run = run_judge(judge_cfg, samples, cache=cache, context=context, repeats=repeats, progress=name)
        report = pairwise_report(run, samples)
        report["figures"]["self_consistency"] = pair_self_consistency(run)
    elif data == "contract_review":
        if kind not in LABELS:
            raise ValueError(f"judge {name!r} is a {kind} judge; data=contract_review measures rubric criteria "
                             "and scale dimensions (judge=contract_review_rubric, contract_review_scale, or their "
                             "gpt_oss variants)")
        labels = LABELS[kind]
        task = build_task(config["task"], data_root=root)
        items = contract_items(task, int(config.get("limit") or 2), seed)
        samples, implied = [], {}
        for item in items:
            for variant, text in response_variants(task, item).items():
                sample = task_sample(task, item, text, f"{item['id']}|{variant}")
                samples.append(sample)
                implied[sample.id] = _implied(task.score(text, task.reference(item)).values, bool(item["gold"]))
        criteria = [c["name"] for c in judge_cfg["criteria" if kind == "rubric" else "dimensions"]]
        console.print(f"judge [bold]{name}[/bold]: {len(samples)} responses on {len(items)} windows "
                      f"x {repeats} repeats")
        run = run_judge(judge_cfg, samples, cache=cache, context=context, repeats=repeats, progress=name)
        report = rubric_report(run, samples, implied, criteria, labels)
        report["figures"].update(rubric_self_consistency(run, criteria, labels))
        if kind == "scale":
            report["figures"]["ranking_accuracy"] = ranking_accuracy(run, samples)
        if config.get("probes", True):
            path = Path(config.get("probes_path") or DEFAULT_PROBES)
            probes = probe_samples(task, items[0], load_probes(path))
            probe_run = run_judge(judge_cfg, probes, cache=cache, context=context, repeats=1, progress=f"{name} probes")
            report["figures"].update(flip_rate(probe_run, criteria, labels))
            report["probe_rows"] = [{"id": j.sample_id, "judged": labels(j.score)} for j in probe_run.judged]
            run.usage.calls += probe_run.usage.calls  # one usage figure per variant
            run.usage.input_tokens += probe_run.usage.input_tokens
            run.usage.output_tokens += probe_run.usage.output_tokens
            run.usage.cached_calls += probe_run.usage.cached_calls
            run.usage.cached_input_tokens += probe_run.usage.cached_input_tokens
            run.usage.cached_output_tokens += probe_run.usage.cached_output_tokens
            run.judged_probes = probe_run.judged  # type: ignore[attr-defined]
    else:
        raise ValueError(f"data={data!r} is not known; use data=llmbar or data=contract_review")
    estimates = estimate_all(run.judge.aggregates(), [s.values for s in run.scores()],
                             resamples=int(config["bootstrap"]["resamples"]), seed=seed)
    report["figures"].update(_common(run))
    report.update({"name": name, "kind": kind, "data": data, "model_id": run.model_id,
                   "provider": judge_cfg["model"].get("provider"),
                   "template_hash": run.template_hash, "repeats": repeats,
                   "estimates": [e.as_dict() for e in estimates]})
    return report


# --- report ---------------------------------------------------------------------------------------------


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return "n/a" if math.isnan(value) else f"{value:.3f}"
    return str(value)


def comparison_table(reports: Sequence[Mapping[str, Any]]) -> tuple[list[str], list[list[str]]]:
    keys = sorted({k for r in reports for k in r["figures"]
                   if not k.startswith(("usage/", "errors/", "latency/"))})
    header = ["figure", *[r["name"] for r in reports]]
    return header, [[k, *[_fmt(r["figures"].get(k, math.nan)) for r in reports]] for k in keys]


def write_report(run_dir: Path, reports: Sequence[Mapping[str, Any]], meta: Mapping[str, Any]) -> tuple[Path, Path]:
    run_dir.mkdir(parents=True, exist_ok=True)
    json_path = run_dir / "report.json"
    json_path.write_text(json.dumps({"meta": dict(meta), "judges": list(reports)}, indent=2, default=str),
                         encoding="utf-8")
    header, rows = comparison_table(reports)
    lines = [f"# Judge evaluation: data={meta.get('data')}", "",
             *[f"- {r['name']}: model {r['model_id']} ({r['provider']}), template {r['template_hash']}, "
               f"repeats {r['repeats']}" for r in reports], "",
             "| " + " | ".join(header) + " |", "|" + "---|" * len(header),
             *["| " + " | ".join(row) + " |" for row in rows]]
    md_path = run_dir / "report.md"
    md_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return json_path, md_path


def mlflow_metrics(figures: Mapping[str, float]) -> dict[str, float]:
    """MLflow allows only alphanumerics, _ - . space : / in metric names (LLMEval^2 is a subset name)."""
    return {re.sub(r"[^A-Za-z0-9_\-. :/]", "_", k): v for k, v in figures.items()}


def _compose_judge(name: str) -> dict[str, Any]:
    cfg = compose("judge_eval", [f"judge={name}"])
    return OmegaConf.to_container(cfg.judge, resolve=True)  # type: ignore[return-value]


def execute(cfg: DictConfig, run_dir: Path, console: Console | None = None) -> int:
    console = console or Console()
    config: dict[str, Any] = OmegaConf.to_container(cfg, resolve=True)  # type: ignore[assignment]
    variants = [config["judge"], *[_compose_judge(str(n)) for n in config.get("compare") or []]]
    meta = {"data": config["data"], "git_commit": git_commit(), "kind": "judge_eval",
            "judges": ",".join(str(v["name"]) for v in variants)}
    resources = open_run(config, run_dir)
    root, cache, tracker = resources.data_root, resources.cache, resources.tracker
    parent_id = None
    if tracker:
        parent_id = tracker.start_parent(config.get("run_name") or f"judge-eval-{config['data']}-{int(time.time())}",
                                         config, meta)
    reports: list[dict[str, Any]] = []
    status = "FINISHED"
    try:
        for judge_cfg in variants:
            report = evaluate_variant(judge_cfg, config, root=root, cache=cache, console=console)
            reports.append(report)
            if tracker:
                rows = report["rows"]
                table = {"id": [r["id"] for r in rows], "row": [json.dumps(r, default=str) for r in rows]}
                report["mlflow_run_id"] = tracker.log_candidate(
                    report["name"], config=judge_cfg, metrics=mlflow_metrics(report["figures"]), table=table,
                    tags={**meta, "judge": report["name"], "model_id": report["model_id"],
                          "template_hash": report["template_hash"]})
    except FatalRunError as exc:
        status = "FAILED"
        console.print(f"[bold red]judge-eval stopped:[/bold red] {exc}")
        return 2
    finally:
        if reports:
            json_path, md_path = write_report(run_dir, reports, {**meta, "mlflow_parent_run_id": parent_id})
            if tracker:
                tracker.log_parent_artifact(json_path)
                tracker.log_parent_artifact(md_path)
        if tracker:
            tracker.end(status)
        resources.close()
    header, rows = comparison_table(reports)
    table = Table(title=f"judge-eval data={config['data']}")
    for column in header:
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    console.print(table)
    console.print(f"run folder: {run_dir}" + (f"  MLflow run id: {parent_id}" if parent_id else ""))
    return 0


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="judge_eval")
@exit_on_user_error
def hydra_main(cfg: DictConfig) -> None:
    code = execute(cfg, Path(HydraConfig.get().runtime.output_dir))
    if code:
        sys.exit(code)


def cli(argv: list[str]) -> int:
    sys.argv = [f"{sys.argv[0]} judge-eval", *argv]
    hydra_main()
    return 0
