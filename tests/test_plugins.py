"""Plug-ins (docs/architecture.md, "Adding a task / provider / judge / metric"): a throwaway package written
to tmp_path adds a task, a provider, a judge and a metric through entry points in a *.dist-info on sys.path,
and the task once more as `kind: "package.module:build"`, with no edit to this project. Each is found by its
registry and used through the public path: `rft-evals run` with the plug-in's own task, candidate and judge
configs (outside conf/, found through `hydra.searchpath`), and in process a run of one candidate
(evaluate_candidate) that builds the plug-in provider, asks the engine, scores with the plug-in task whose
config scorer runs the plug-in metric, and judges every answer with the plug-in judge, whose model is the
plug-in provider too."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest

from evals.providers.registry import PROVIDER_KINDS, ProviderContext, UnknownProviderError, build_provider
from evals.run.runner import RunSettings, evaluate_candidate
from metrics.config_metrics import CONFIG_METRICS, MetricConfigError, parse_metric_specs
from metrics.judges.base import JudgeConfigError
from metrics.judges.config import JUDGE_KINDS, judge_from_config
from metrics.judges.runner import run_judge
from metrics.judges.types import JudgeSample
from metrics.plugin_registry import Registry, UnknownNameError
from tasks.base import Task
from tasks.registry import TASKS, UnknownTaskError, build_task

PACKAGE = "acme_rft_plugin"

# The checklists in docs/architecture.md, as files of a package that is not this project.
FILES = {
    "__init__.py": "",
    # a metric: a MetricFactory; a config scorer names it in `metrics:`
    "metric.py": '''
        from metrics import aggregates
        from metrics.config_metrics import MetricFactory, strings_in
        from metrics.registry import Metric


        def _shouting(options, spec, where):
            def compute(ctx):  # ctx: metrics.config_metrics.AnswerContext
                letters = [c for text in strings_in(ctx.answer) for c in text if c.isalpha()]
                return {"shout_share": sum(c.isupper() for c in letters) / len(letters) if letters else 0.0}

            return Metric("shouting", compute, lambda _: [aggregates.mean("shout_share")],
                          description="the share of upper-case letters in the answer")


        SHOUTING = MetricFactory(_shouting, frozenset(), "the share of upper-case letters in the answer's strings")
    ''',
    # a task: everything tasks.base.Task declares; it scores with the config scorer and the plug-in metric
    "task.py": '''
        import datasets

        from metrics.config_metrics import config_scorer_from_dict
        from metrics.scorers import build_scorer
        from tasks.selection import select

        SCHEMA = {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"],
                  "additionalProperties": False}
        WORDS = {"test": ["quiet", "calm", "hush", "still"], "train": ["soft", "low"]}


        class EchoTask:
            scorer_name = "config"  # metrics/scorers.py: the config scorer runs the metrics scorer_spec names

            def __init__(self, name):
                self.name = name

            def load(self, split):
                return datasets.Dataset.from_list([{"id": f"{split}-{i}", "document": w, "reference": w.upper()}
                                                   for i, w in enumerate(WORDS[split])])

            def select(self, dataset, limit, seed=0):
                return select(dataset, limit, seed)

            def messages(self, item, examples=()):
                shots = [m for e in examples for m in ({"role": "user", "content": e["document"]},
                                                       {"role": "assistant", "content": e["reference"]})]
                return [{"role": "system", "content": "Repeat the word, loudly."}, *shots,
                        {"role": "user", "content": item["document"]}]

            def few_shot_examples(self, k, seed=0):
                return [dict(row) for row in self.load("train")][:k]

            def output_schema(self):
                return SCHEMA

            def prompt_template_hash(self):
                return "acme-echo-1"

            def reference(self, item):
                return {"gold": {"text": item["reference"]}, "document": item["document"]}

            def scorer_spec(self):
                return {"output_schema": SCHEMA, "metrics": [{"name": "exact_match", "normalize": False}, "shouting"]}

            def score(self, output_text, reference):
                return build_scorer(self.scorer_name, self.scorer_spec())(output_text, reference)

            def aggregates(self):
                return config_scorer_from_dict(self.scorer_spec()).aggregates()


        def build(cfg, data_root=None):
            return EchoTask(str(cfg.get("name") or "acme_echo"))
    ''',
    # a provider: evals.providers.base.Provider; it shouts the last user message back as the answer JSON
    "provider.py": '''
        import json

        from evals.providers.base import Generation


        class Shouter:
            max_concurrency = 2

            def __init__(self, name):
                self.name = name
                self.model_id = "acme-shouter-1"

            def identity(self):
                return {"model_id": self.model_id}

            def generate(self, request):
                said = request.messages[-1]["content"]
                return Generation(text=json.dumps({"text": said.upper()}), model_id=self.model_id)


        def build(config, context):
            return Shouter(str(config.get("name") or "shouter"))
    ''',
    # a judge: metrics.judges.base.Judge; its model repeats the answer loudly, and an answer is loud when
    # shouting it changes nothing
    "judge.py": '''
        import json

        from metrics.aggregates import mean
        from metrics.errors import ClassifiedError, ErrorKind
        from metrics.judges.base import JudgeSettings, request
        from metrics.judges.types import Verdict
        from metrics.types import SampleScore


        class LoudJudge:
            def __init__(self, settings):
                self.settings = settings

            @classmethod
            def from_config(cls, cfg):
                return cls(JudgeSettings.from_config(cfg))

            def template_hash(self):
                return "acme-loud-1"

            def plan(self, sample, repeat=0):
                answer = json.loads(sample.response)["text"]
                return [request(self.settings, sample, "loud", "Repeat the answer.", answer, None, repeat)], []

            def parse(self, req, reply):
                try:
                    echoed = json.loads(reply.text or "")["text"]
                except (ValueError, KeyError, TypeError):
                    error = ClassifiedError(ErrorKind.JUDGE, "the reply is not {text}", "judge")
                    return Verdict(req.part, error=error, reason="not_json")
                return Verdict(req.part, value="pass" if echoed == req.messages[-1]["content"] else "fail")

            def reask(self, req, reply, verdict):
                return req

            def combine(self, sample, verdicts):
                read = [v for v in verdicts if v.ok]
                return SampleScore(values={"acme_loud": float(all(v.value == "pass" for v in read))} if read else {})

            def aggregates(self):
                return [mean("acme_loud")]
    ''',
}
ENTRY_POINTS = f"""
[rft_evals.tasks]
acme_echo = {PACKAGE}.task:build

[rft_evals.providers]
acme_shouter = {PACKAGE}.provider:build

[rft_evals.judges]
acme_loud = {PACKAGE}.judge:LoudJudge.from_config

[rft_evals.metrics]
shouting = {PACKAGE}.metric:SHOUTING
"""


def write_plugin(site: Path, entry_points: str = ENTRY_POINTS) -> Path:
    package = site / PACKAGE
    package.mkdir(parents=True)
    for name, text in FILES.items():
        (package / name).write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    info = site / f"{PACKAGE}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {PACKAGE}\nVersion: 0.1\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(entry_points, encoding="utf-8")
    return site


@pytest.fixture
def plugin(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(write_plugin(tmp_path / "site")))
    yield tmp_path / "site"
    for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
        del sys.modules[name]


JUDGE = {"name": "loud", "kind": "acme_loud", "model": {"name": "loud-model", "provider": "acme_shouter"}}


def test_a_plugin_task_provider_judge_and_metric_run_through_the_registries(plugin, tmp_path):
    task = build_task({"name": "acme", "kind": "acme_echo"})  # entry point
    assert isinstance(task, Task) and task.name == "acme"
    items = [dict(row) for row in task.select(task.load("test"), 3, seed=0)]
    settings = RunSettings(run_dir=tmp_path / "run", bootstrap_resamples=20, judge_config=JUDGE)
    result = evaluate_candidate(task, items, "shouter", {"provider": "acme_shouter", "few_shot": 1},
                                context=ProviderContext(task=task), cache=None, settings=settings)
    assert result.model_id == "acme-shouter-1" and len(result.records) == 3
    for record, item in zip(result.records, items, strict=True):
        assert record.output == f'{{"text": "{item["reference"]}"}}' and not record.errors
        assert record.values["exact_match"] == 1.0  # the built-in metric, run by the config scorer
        assert record.values["shout_share"] == 1.0  # the plug-in metric
        assert record.values["acme_loud"] == 1.0  # the plug-in judge, its model the plug-in provider
    estimates = {e.name: e.value for e in result.estimates}
    assert estimates["exact_match"] == estimates["shout_share"] == estimates["acme_loud"] == 1.0


# Configs that live with the plug-in, outside conf/: Hydra finds them through `hydra.searchpath`.
CONFS = {
    "task/acme.yaml": "name: acme\nkind: acme_echo\nsplit: test\n",
    "candidates/acme.yaml": "shouter:\n  name: shouter\n  provider: acme_shouter\n  few_shot: 1\n",
    "judge/acme_loud.yaml": "name: loud\nkind: acme_loud\nmodel:\n  name: loud-model\n  provider: acme_shouter\n",
}


def test_rft_evals_run_uses_the_plugins_named_in_configs_outside_the_project(tmp_path):
    site = write_plugin(tmp_path / "site")
    for name, text in CONFS.items():
        (tmp_path / "conf" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "conf" / name).write_text(text, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    command = [sys.executable, "-m", "evals.cli", "run", "task=acme", "candidates=acme", "judge=acme_loud",
               "limit=3", "tracking=none", "cache.enabled=false", f"hydra.searchpath=[file://{tmp_path}/conf]",
               f"hydra.run.dir={tmp_path}/run"]
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    shouter = json.loads((tmp_path / "run" / "summary.json").read_text())["candidates"]["shouter"]
    assert shouter["provider"] == "acme_shouter" and shouter["model_id"] == "acme-shouter-1" and shouter["n"] == 3
    assert {name: m["value"] for name, m in shouter["metrics"].items()} == \
        {"exact_match": 1.0, "shout_share": 1.0, "acme_loud": 1.0}


def test_a_task_config_names_an_outside_builder_by_its_path(plugin):
    task = build_task({"name": "by_path", "kind": f"{PACKAGE}.task:build"})
    assert isinstance(task, Task) and type(task).__module__ == f"{PACKAGE}.task"
    item = dict(task.load("test")[0])
    quiet, loud = (task.score(f'{{"text": "{w}"}}', task.reference(item)).values for w in ("quiet", "QUIET"))
    assert quiet == {"exact_match": 0.0, "shout_share": 0.0} and loud == {"exact_match": 1.0, "shout_share": 1.0}
    with pytest.raises(UnknownTaskError, match=f"{PACKAGE}.nowhere"):
        build_task({"name": "typo", "kind": f"{PACKAGE}.nowhere:build"})


def test_the_plugin_judge_says_quiet_answers_are_not_loud(plugin):
    judge = judge_from_config({"name": "loud", "kind": "acme_loud"})
    shouter = build_provider({"provider": "acme_shouter"}, ProviderContext(task=None))

    def call(request):
        from evals.providers.base import GenerationRequest

        return shouter.generate(GenerationRequest(item_id=request.key, messages=request.messages)).text

    samples = [JudgeSample("a", '{"text": "HUSH"}'), JudgeSample("b", '{"text": "hush"}')]
    assert [j.score.values for j in run_judge(judge, samples, call)] == [{"acme_loud": 1.0}, {"acme_loud": 0.0}]


def test_unknown_names_list_the_plugins_and_say_how_to_add_one(plugin):
    errors = []
    for kind, attempt in [(UnknownTaskError, lambda: build_task({"name": "x", "kind": "nope"})),
                          (UnknownProviderError, lambda: build_provider({"provider": "nope"}, ProviderContext(None))),
                          (JudgeConfigError, lambda: judge_from_config({"kind": "nope"})),
                          (MetricConfigError, lambda: parse_metric_specs(["nope"], "metrics"))]:
        with pytest.raises(kind) as error:
            attempt()
        errors.append(str(error.value))
    for message, plugin_name, group in zip(errors, ["acme_echo", "acme_shouter", "acme_loud", "shouting"],
                                           ["tasks", "providers", "judges", "metrics"], strict=True):
        assert "'nope'" in message and plugin_name in message and f"rft_evals.{group}" in message


def test_plugins_go_when_their_package_leaves_sys_path(tmp_path, monkeypatch):
    with monkeypatch.context() as patch:
        patch.syspath_prepend(str(write_plugin(tmp_path / "site")))
        assert "acme_echo" in TASKS and "acme_shouter" in PROVIDER_KINDS and "acme_loud" in JUDGE_KINDS
        assert "shouting" in CONFIG_METRICS
    assert not {"acme_echo", "acme_shouter", "acme_loud", "shouting"} & {*TASKS, *PROVIDER_KINDS, *JUDGE_KINDS,
                                                                         *CONFIG_METRICS}


def test_a_plugin_cannot_take_a_built_in_name(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(write_plugin(tmp_path / "site", f"[rft_evals.judges]\n"
                                                                     f"rubric = {PACKAGE}.judge:LoudJudge\n")))
    with pytest.warns(UserWarning, match="'rubric'.*built-in judge kind"):
        names = JUDGE_KINDS.names()
    assert names.count("rubric") == 1
    assert type(judge_from_config({"kind": "rubric", "criteria": [{"name": "c", "question": "q?"}]})).__name__ \
        == "RubricJudge"


# --- the registry itself ------------------------------------------------------------------------------------


def test_register_decorator_lazy_targets_and_duplicates():
    registry: Registry[object] = Registry("widget", "rft_evals.test_widgets")

    @registry.register("square")
    def square(x):
        return x * x

    registry.register("dumps", "json:dumps")  # lazy: imported when first looked up
    assert registry.lookup("square") is square and registry["dumps"]([1]) == "[1]"
    assert registry.names() == ["dumps", "square"] and len(registry) == 2
    with pytest.raises(ValueError, match="already registered"):
        registry.register("square", square)
    with pytest.raises(UnknownNameError) as error:
        registry.lookup("cube", "conf/widget.yaml")
    message = str(error.value)
    assert message.startswith("conf/widget.yaml: 'cube'") and "['dumps', 'square']" in message
    assert "rft_evals.test_widgets" in message and "docs/architecture.md" in message
    registry.register("broken", "json:no_such_function")
    with pytest.raises(ValueError, match="no attribute 'no_such_function'"):
        registry.lookup("broken")


def test_a_registry_without_paths_refuses_a_module_path():
    registry: Registry[object] = Registry("scorer", "rft_evals.test_scorers")
    with pytest.raises(UnknownNameError, match="'os:system' is not a scorer"):
        registry.lookup("os:system")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no plug-in in this group: discovery warns about nothing
        assert registry.names() == []
