"""The parity matrix: for every task (the four task kinds and a config task), at least 50 recorded answers
(gold, another item's gold, the task's baseline, SmolLM2-135M answers recorded by
scripts/record_parity_answers.py, degenerate answers) are scored through the evaluation run path and through
every registered reward runtime (metrics/reward/runtimes.py): the Lambda zip in a virtualenv holding only boto3,
the TRL adapter, the verl adapter, the bundle's evaluation path. Scores, components and the neutral flag must be
identical (exact floats). Each runtime reads the references as `rft-evals export-rft` wrote them for it (nova
JSONL, trl dataset, verl parquet).

No reward value is written here: the runtimes are compared with one another, so a reward config may change.
One boto3-only venv per test session; about 2-3 minutes on 2 shared cores."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from _task_matrix import CONFIG_TASK, EVERY_TASK, ROOT, build, config_reward_path, reward_name, write_config_task
from evals.inference.engine import CallOutcome
from evals.rft.export import export
from evals.providers.base import Generation, GenerationRequest
from evals.run.runner import RunSettings, score_outcome
from metrics.reward.bundle import RewardBundle
from metrics.reward.runtimes import RUNTIMES, Answer, Scored, scored_from_lambda

ITEMS = 8  # items per task; each gets the answers below, plus the recorded SmolLM2 answers
MIN_ANSWERS = 50
SMOLLM2 = ROOT / "tests/fixtures/parity_smollm2.jsonl"
HEAVY = ("numpy", "datasets", "mlflow", "hydra", "sklearn", "yaml", "tasks", "evals", "torch", "trl", "verl")
BIN = Path(sys.executable).parent


@dataclass
class Prepared:
    task: Any
    bundle: RewardBundle
    code: Path  # the Lambda zip, extracted
    answers: list[Answer]  # references as the nova export wrote them
    by_format: dict[str, dict[str, Any]]  # format -> item id -> the reference as that export wrote it
    kinds: dict[str, str]  # answer id -> gold | other_gold | baseline | smollm2 | degenerate:<what>
    nova: dict[str, dict[str, Any]]  # item id -> its record in the nova export (messages, reference_answer)
    expected: list[Scored]  # the evaluation run path (evals.run.runner.score_outcome with the reward configured)


@pytest.fixture(scope="session")
def boto3_venv(tmp_path_factory) -> Path:
    """One virtualenv with nothing but boto3, as on AWS Lambda's Python runtime."""
    venv = tmp_path_factory.mktemp("boto3_venv") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = subprocess.run([str(venv / "bin/pip"), "install", "-q", "boto3"], capture_output=True, text=True)
    if pip.returncode != 0:
        pytest.fail(f"pip install boto3 into a fresh venv failed (no index or cache?): {pip.stderr[-500:]}")
    return venv / "bin/python"


@pytest.fixture(scope="session")
def config_spec(data_root, tmp_path_factory) -> Path:
    return write_config_task(data_root, tmp_path_factory.mktemp("config_task"))


def _baseline(task, items: list[dict[str, Any]], data_root: Path) -> dict[str, str]:
    """The task's baseline answers from the real baseline providers: the majority-class answer where the task has
    one, TF-IDF for contract_review (it trains in seconds), else (cuad_risks: TF-IDF over its training contracts
    takes minutes) the flag-nothing answer, the majority class of its sentences."""
    from evals.providers.registry import ProviderContext, build_provider

    if hasattr(task, "majority_answer"):
        model = "majority_baseline"
    elif task.name == "contract_review":
        model = "tfidf_baseline"
    else:
        return {str(item["id"]): task.render_sentence_flags(item, []) for item in items}
    cfg = yaml.safe_load((ROOT / f"conf/model/{model}.yaml").read_text(encoding="utf-8"))
    provider = build_provider(cfg, ProviderContext(task, data_root))
    return {str(item["id"]): provider.generate(GenerationRequest(str(item["id"]), tuple(task.messages(item)),
                                                                 context=item)).text for item in items}


def _varied(task, items: list[dict[str, Any]], k: int) -> list[dict[str, Any]]:
    """k items, those with a gold answer not seen yet first (in export order), so the answers' rewards differ."""
    seen: set[str] = set()
    first, rest = [], []
    for item in items:
        gold = task.render_gold(item)
        (rest if gold in seen else first).append(item)
        seen.add(gold)
    chosen = (first + rest)[:k]
    return sorted(chosen, key=items.index)


def _smollm2_ids(name: str) -> set[str]:
    lines = SMOLLM2.read_text(encoding="utf-8").splitlines()
    return {r["item_id"] for r in map(json.loads, lines) if r["task"] == name}


def _answers(task, items: list[dict[str, Any]], baseline: Mapping[str, str], name: str) -> list[tuple[str, str, str]]:
    """(item id, kind, answer text) for every item, then the recorded SmolLM2 answers of this task."""
    out = []
    for i, item in enumerate(items):
        gold = task.render_gold(item)
        other = task.render_gold(items[(i + 1) % len(items)])
        document = str(item["document"])
        for kind, text in (("gold", gold), ("other_gold", other), ("baseline", baseline[str(item["id"])]),
                           ("degenerate:empty", ""), ("degenerate:not_json", "I cannot answer that."),
                           ("degenerate:empty_object", "{}"), ("degenerate:copied_document", document[:2000]),
                           ("degenerate:cut_gold", gold[: len(gold) // 2]),
                           ("degenerate:fenced_gold", f"```json\n{gold}\n```")):
            out.append((str(item["id"]), kind, text))
    ids = {str(item["id"]) for item in items}
    for line in SMOLLM2.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if record["task"] == name and record["item_id"] in ids:
            out.append((record["item_id"], "smollm2", record["output"]))
    return out


def _run_path(task, item: Mapping[str, Any], text: str, bundle: RewardBundle) -> Scored:
    """What `rft-evals run` records for this output: the task's own scorer, then the configured reward."""
    request = GenerationRequest(str(item["id"]), tuple(task.messages(item)))
    outcome = CallOutcome(0, request, Generation(text=text), None)
    record = score_outcome(task, item, outcome, "parity", "candidate", RunSettings(reward=bundle.reward))
    reward = record.details["reward"]
    return Scored(record.values["reward"], {c["name"]: c["value"] for c in reward["components"]},
                  reward["neutral"])


def _build_zip(name: str, config_spec: Path, folder: Path, data_root: Path) -> Path:
    out = folder / "reward_lambda.zip"
    task_arg = str(config_spec) if name == CONFIG_TASK else name
    reward = str(config_reward_path(config_spec)) if name == CONFIG_TASK else reward_name(name)
    env = {**os.environ, "RFT_DATA_DIR": str(data_root), "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(["bash", str(ROOT / "scripts/build_lambda.sh"), "--task", task_arg, "--reward", reward,
                             "--out", str(out)], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    code = folder / "code"
    zipfile.ZipFile(out).extractall(code)
    return code


def _export(name: str, task, config_spec: Path, folder: Path, data_root: Path) -> dict[str, Any]:
    """The three exports of the test split's first 100 items: nova through the CLI, trl and verl."""
    import datasets
    import pyarrow.parquet as pq

    from evals.cli import main

    overrides = [f"task={name}"] + ([f"task.spec={config_spec}"] if name == CONFIG_TASK else [])
    nova = folder / "nova.jsonl"
    assert main(["export-rft", *overrides, "split=test", "limit=100", f"out={nova}", f"data_root={data_root}"]) == 0
    export(task, "test", folder / "trl", limit=100, fmt="trl")
    export(task, "test", folder / "verl.parquet", limit=100, fmt="verl")
    verl = pq.read_table(folder / "verl.parquet")
    assert {"data_source", "prompt", "reward_model", "extra_info"} <= set(verl.column_names)
    trl = datasets.load_from_disk(str(folder / "trl"))
    assert {"prompt", "reference_answer"} <= set(trl.column_names)
    assert all(m["role"] in ("system", "user") for m in trl[0]["prompt"])
    return {"nova": [json.loads(line) for line in nova.read_text(encoding="utf-8").splitlines()],
            "trl": {row["id"]: row["reference_answer"] for row in trl},
            "verl": {row["extra_info"]["id"]: row["reward_model"]["ground_truth"] for row in verl.to_pylist()}}


_prepared: dict[str, Prepared] = {}


@pytest.fixture(scope="session")
def prepare(data_root, config_spec, tmp_path_factory):
    def get(name: str) -> Prepared:
        if name not in _prepared:
            folder = tmp_path_factory.mktemp(f"parity_{name}")
            task = build(name, data_root, config_spec)
            exported = _export(name, task, config_spec, folder, data_root)
            code = _build_zip(name, config_spec, folder, data_root)
            bundle = RewardBundle.from_json(code / "reward_bundle.json")  # the very file the Lambda reads
            records = {r["id"]: r for r in exported["nova"]}
            exported_items = [dict(r) for r in task.select(task.load("test"), 100, 0)]
            recorded = _smollm2_ids(name)  # scripts/record_parity_answers.py picked them from the same shuffle
            items = _varied(task, exported_items, ITEMS)
            items += [i for i in exported_items if str(i["id"]) in recorded and i not in items]
            assert recorded <= {str(i["id"]) for i in items}, "recorded SmolLM2 answers for items not exported"
            assert all(records[str(i["id"])]["reference_answer"] == task.reference(i) for i in items)
            by_id = {str(i["id"]): i for i in items}
            answers, kinds, expected = [], {}, []
            for n, (item_id, kind, text) in enumerate(_answers(task, items, _baseline(task, items, data_root), name)):
                answer_id = f"{item_id}#{n}"
                answers.append(Answer(answer_id, text, records[item_id]["reference_answer"]))
                kinds[answer_id] = kind
                expected.append(_run_path(task, by_id[item_id], text, bundle))
            by_format = {"trl": exported["trl"], "verl": exported["verl"]}
            _prepared[name] = Prepared(task, bundle, code, answers, by_format, kinds, records, expected)
        return _prepared[name]

    return get


def _in_format(prepared: Prepared, fmt: str) -> list[Answer]:
    """The answers with the references as the `fmt` export wrote them (JSON text)."""
    refs = prepared.by_format[fmt]
    return [Answer(a.id, a.output, refs[a.id.rsplit("#", 1)[0]]) for a in prepared.answers]


def _nova_event(prepared: Prepared) -> list[dict[str, Any]]:
    """The nova export's records with each answer as the rollout (the last assistant message); every other
    sample carries its reference under `metadata`, as Bedrock and HyperPod send it."""
    event = []
    for n, a in enumerate(prepared.answers):
        record = prepared.nova[a.id.rsplit("#", 1)[0]]
        sample = {"id": a.id, "messages": [*record["messages"], {"role": "assistant", "content": a.output}]}
        if n % 2:
            sample["metadata"] = {"reference_answer": record["reference_answer"]}
        else:
            sample["reference_answer"] = record["reference_answer"]
        event.append(sample)
    return event


def _lambda_in_boto3_venv(prepared: Prepared, python: Path, folder: Path) -> list[Scored]:
    """The zip's handler in the boto3-only venv, on events built from the nova export's records."""
    event = _nova_event(prepared)
    event_path = folder / "event.json"
    event_path.write_text(json.dumps(event), encoding="utf-8")
    script = ("import json, sys\n"
              "from metrics.reward.lambda_handler import handler\n"
              "class C:\n    def get_remaining_time_in_millis(self): return 600000\n"
              "out = handler(json.load(open(sys.argv[1])), C())\n"
              f"heavy = sorted(m for m in {HEAVY!r} if m in sys.modules)\n"
              "print(json.dumps({'results': out, 'heavy': heavy}))\n")
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(prepared.code), "AWS_DEFAULT_REGION": "us-east-1"}
    result = subprocess.run([str(python), "-c", script, str(event_path)], capture_output=True, text=True, env=env,
                            cwd=prepared.code)  # the code folder is the working directory, as /var/task on Lambda
    assert result.returncode == 0, result.stderr[-2000:]
    payload = json.loads(result.stdout.strip().splitlines()[-1])
    assert payload["heavy"] == []
    assert [r["id"] for r in payload["results"]] == [a.id for a in prepared.answers]
    return [scored_from_lambda(r) for r in payload["results"]]


# runtime name -> how the parity test runs it; tests/test_parity_matrix.py::test_every_runtime_has_a_parity_case
# fails when metrics/reward/runtimes.py registers a runtime that is not here.
PARITY_CASES = {
    "lambda": lambda prepared, ctx: _lambda_in_boto3_venv(prepared, ctx["python"], ctx["folder"]),
    "trl": lambda prepared, ctx: RUNTIMES["trl"](prepared.bundle, _in_format(prepared, "trl")),
    "verl": lambda prepared, ctx: RUNTIMES["verl"](prepared.bundle, _in_format(prepared, "verl")),
    "evaluation": lambda prepared, ctx: RUNTIMES["evaluation"](prepared.bundle, prepared.answers),
}


def test_every_runtime_has_a_parity_case():
    missing = sorted(set(RUNTIMES) - set(PARITY_CASES))
    assert not missing, f"runtimes registered without a parity case in {__file__}: {missing}"
    assert not set(PARITY_CASES) - set(RUNTIMES), "a parity case for a runtime that is not registered"


@pytest.mark.parametrize("runtime", sorted(RUNTIMES))
@pytest.mark.parametrize("name", EVERY_TASK)
def test_runtime_scores_every_answer_as_the_run_path(name, runtime, prepare, boto3_venv, tmp_path):
    prepared = prepare(name)
    got = PARITY_CASES[runtime](prepared, {"python": boto3_venv, "folder": tmp_path})
    assert len(got) == len(prepared.expected) >= MIN_ANSWERS
    mismatches = [(a.id, prepared.kinds[a.id], want, have)
                  for a, want, have in zip(prepared.answers, prepared.expected, got, strict=True) if want != have]
    assert not mismatches, f"{runtime} differs from the run path on {len(mismatches)} answers: {mismatches[:3]}"
    _assert_gold_beats_empty(prepared, got)


def _assert_gold_beats_empty(prepared: Prepared, scored: list[Scored]) -> None:
    by_item: dict[str, dict[str, float | None]] = {}
    for a, s in zip(prepared.answers, scored, strict=True):
        by_item.setdefault(a.id.rsplit("#", 1)[0], {})[prepared.kinds[a.id]] = s.score
    for item_id, got in by_item.items():
        assert got["gold"] > got["degenerate:empty"], (item_id, got)


@pytest.mark.parametrize("name", EVERY_TASK)
def test_the_answers_are_varied(name, prepare):
    prepared = prepare(name)
    kinds = [prepared.kinds[a.id] for a in prepared.answers]
    assert len(prepared.answers) >= MIN_ANSWERS and "smollm2" in kinds and "baseline" in kinds
    distinct = {(s.score, tuple(sorted(s.components.items()))) for s in prepared.expected}
    assert len({s.score for s in prepared.expected}) >= 2 and len(distinct) >= 3  # not one reward compared 50 times
    assert any(s.components and not s.neutral for s in prepared.expected)


@pytest.mark.usefixtures("fake_aws_credentials")
def test_judged_reward_is_identical_in_every_runtime(prepare):
    """With judge criteria (conf/reward/contract_review.yaml), the judge served by the loopback fake Bedrock with
    replies that depend only on the request: every runtime, in process, gives the run path's rewards."""
    from _reward_helpers import verdict_by_content
    from evals.rft.bundle import build_bundle, load_reward_config
    from fakes.bedrock_server import FakeBedrock, Script
    from metrics.reward.config import RewardConfig

    prepared = prepare("contract_review")
    answers = prepared.answers[:18]
    with FakeBedrock(Script(respond=verdict_by_content)) as fake:
        config = load_reward_config("contract_review")
        data = config.to_dict()
        data["judge"] = {**data["judge"], "endpoint_url": fake.url}
        bundle = RewardBundle.from_dict(json.loads(json.dumps(
            build_bundle(prepared.task, RewardConfig.from_mapping(data, config.source)).to_dict())))
        results = {name: runtime(bundle, answers) for name, runtime in RUNTIMES.items()}
    first = results["lambda"]
    assert any("judge_grounding" in s.components for s in first)  # the judge really scored
    assert not any(s.neutral for s, a in zip(first, answers, strict=True) if prepared.kinds[a.id] == "gold")
    for name, scored in results.items():
        assert scored == first, name
