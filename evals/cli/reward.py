"""`rft-evals reward bundle|invoke`: build the reward Lambda's bundle from the task and reward configs, and
run the handler locally on an event file (as `sam local invoke` would, without Docker).

    rft-evals reward bundle --task nda_policy --out build/reward_bundle.json   # reward: nda_policy_deterministic
    rft-evals reward bundle --task my_tasks/clause_type.yaml                 # a config task's spec file
    rft-evals reward invoke --event event.json [--bundle build/reward_bundle.json | --task T --reward NAME]

Without --reward, a task's reward is conf/reward/<task kind>_deterministic.yaml (contract_review:
contract_review_deterministic)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evals.conf import conf_dir
from metrics.reward.bundle import RewardBundle
from metrics.reward.config import RewardConfig, RewardConfigError
from metrics.scorers import SCORERS
from tasks.base import Task
from tasks.capabilities import RendersGold, reference_text_of

CONF_DIR = conf_dir()
DEFAULT_REWARD = "contract_review_deterministic"
LAMBDA_TIMEOUT_S = 900


def _yaml(path: Path, what: str) -> Any:
    import yaml

    if not path.exists():
        names = sorted(p.stem for p in path.parent.glob("*.yaml"))
        raise FileNotFoundError(f"{what} config {path} does not exist; choose one of {names} or give a path")
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _conf_path(name_or_path: str, group: str) -> Path:
    path = Path(name_or_path)
    return path if path.suffix in (".yaml", ".yml", ".json") else CONF_DIR / group / f"{name_or_path}.yaml"


def load_reward_config(name_or_path: str) -> RewardConfig:
    """A reward config by name (conf/reward/<name>.yaml) or path (.yaml or .json)."""
    path = _conf_path(name_or_path, "reward")
    if path.suffix == ".json":
        from metrics.reward.config import load_reward_config_json

        return load_reward_config_json(path)
    try:
        shown = str(path.relative_to(CONF_DIR.parent))
    except ValueError:
        shown = str(path)
    return RewardConfig.from_mapping(_yaml(path, "reward"), shown)


def build_bundle(task: Any, reward: RewardConfig) -> RewardBundle:
    """The bundle of a built task (its scorer name and spec, its Reference text) and a reward config."""
    scorer = task.scorer_name if isinstance(task, Task) else None
    if scorer not in SCORERS:
        raise ValueError(f"task {task.name!r} ({type(task).__name__}) names no known scorer (scorer_name="
                         f"{scorer!r}; known: {sorted(SCORERS)}) or does not keep the task contract of "
                         "tasks/base.py (scorer_spec(), ...): the reward Lambda cannot score it; give the task "
                         "both (see metrics/scorers.py)")
    spec = task.scorer_spec()
    try:
        json.dumps(spec, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"task {task.name!r}: scorer_spec() is not JSON ({exc}); the bundle must carry it") from None
    return RewardBundle(task=task.name, scorer=scorer, spec=spec, reward=reward,
                        reference_text=reference_text_of(task) if reward.criteria else "",
                        meta={"prompt_template_hash": task.prompt_template_hash()})


def task_config(task_cfg: str | Mapping[str, Any]) -> dict[str, Any]:
    """A task config by name (conf/task/<name>.yaml), by path, or a config task's own spec file (a YAML with
    `output_schema` and no `kind`): that one is wrapped as {kind: config, spec: <path>}."""
    if not isinstance(task_cfg, str):
        return dict(task_cfg)
    path = _conf_path(task_cfg, "task")
    cfg = _yaml(path, "task")
    if not isinstance(cfg, Mapping):
        raise ValueError(f"task config {path} is not a mapping of keys")
    if "kind" not in cfg and "output_schema" in cfg:
        return {"name": str(cfg.get("name") or path.stem), "kind": "config", "spec": str(path)}
    if cfg.get("kind") == "config" and not cfg.get("spec") and "output_schema" not in cfg:
        raise ValueError(f"task config {path} is a config task without its spec file: pass the spec file itself "
                         "(--task my_tasks/my_task.yaml; see docs/config_tasks.md)")
    return dict(cfg)


def default_reward(cfg: Mapping[str, Any]) -> str:
    """conf/reward/<kind>_deterministic.yaml for the task's kind; a clear error when there is none."""
    kind = str(cfg.get("kind", cfg.get("name")))
    name = f"{kind}_deterministic"
    if not (CONF_DIR / "reward" / f"{name}.yaml").exists():
        known = sorted(p.stem for p in (CONF_DIR / "reward").glob("*.yaml"))
        raise ValueError(f"task kind {kind!r} has no default reward conf/reward/{name}.yaml; pass --reward "
                         f"(one of {known} or a path)")
    return name


def check_reward_fits(task: Any, bundle: RewardBundle) -> None:
    """Score the gold answer of the task's first item with the bundle: a reward component reading a value the
    task's scorer does not produce would make every training reward neutral, so it fails here, named."""
    from metrics.reward.components import MissingValueError, compute_component

    if not isinstance(task, RendersGold):
        return  # no gold answer to score: the first training rewards will tell
    split = getattr(getattr(task, "config", None) or getattr(task, "spec", None), "split", "test")
    dataset = task.load(split)
    if len(dataset) == 0:
        return
    item = dict(dataset[0])
    values = bundle.score(task.render_gold(item), task.reference(item)).values
    for component in bundle.reward.deterministic_components:
        try:
            compute_component(component.metric, values, component.empty, component.costs, component.budget)
        except MissingValueError as exc:
            raise ValueError(f"reward {bundle.reward.name} does not fit task {task.name} (scorer {bundle.scorer}): "
                             f"{exc}; pass the task's own reward (conf/reward/<task kind>_deterministic.yaml) "
                             "or write one from the values its scorer produces") from None


def bundle_from_configs(task_cfg: str | Mapping[str, Any], reward: str | None = None,
                        data_root: str | None = None, check: bool = True) -> RewardBundle:
    from tasks.registry import build_task

    cfg = task_config(task_cfg)
    task = build_task(cfg, data_root=data_root)
    bundle = build_bundle(task, load_reward_config(reward or default_reward(cfg)))
    if check:
        check_reward_fits(task, bundle)
    return bundle


@dataclass
class LocalContext:
    """Stands in for the Lambda context: the remaining time counts down from `timeout_s`."""

    timeout_s: float = LAMBDA_TIMEOUT_S
    aws_request_id: str = "local"
    function_name: str = "SageMaker-rft-reward-local"

    def __post_init__(self) -> None:
        self._started = time.monotonic()

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout_s - (time.monotonic() - self._started)) * 1000))


def invoke(event: Any, bundle: RewardBundle, timeout_s: float = LAMBDA_TIMEOUT_S) -> list[dict[str, Any]]:
    from metrics.reward.lambda_handler import build_judge, handle

    return handle(event, LocalContext(timeout_s), bundle, build_judge(bundle), log_stream=sys.stderr)


def _cmd_bundle(args: argparse.Namespace) -> int:
    from evals.judging.calibration import check_calibration

    bundle = bundle_from_configs(args.task, args.reward, args.data_root)
    calibrated = check_calibration(bundle.reward)  # a judge below its judge.calibration bar is refused here
    if calibrated is not None:
        print(calibrated.summary())
    path = bundle.write(args.out)
    print(f"reward bundle for task {bundle.task}, reward {bundle.reward.name} -> {path}")
    return 0


def _cmd_invoke(args: argparse.Namespace) -> int:
    try:
        event = json.loads(Path(args.event).read_text(encoding="utf-8"))
    except FileNotFoundError:
        print(f"rft-evals reward invoke: event file {args.event} does not exist", file=sys.stderr)
        return 2
    except json.JSONDecodeError as exc:
        print(f"rft-evals reward invoke: event file {args.event} is not JSON: {exc}", file=sys.stderr)
        return 2
    bundle = (RewardBundle.from_json(args.bundle) if args.bundle
              else bundle_from_configs(args.task, args.reward, args.data_root))
    from metrics.reward.batch import MalformedEventError

    try:
        results = invoke(event, bundle, args.timeout_s)
    except MalformedEventError as exc:
        print(f"rft-evals reward invoke: {args.event}: {exc}", file=sys.stderr)
        return 2
    text = json.dumps(results, indent=1)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
    else:
        print(text)
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["audit"]:  # key=value arguments, like `rft-evals run` (evals/reward_audit/cli.py)
        from evals.reward_audit.cli import main as audit_main

        return audit_main(argv[1:])
    parser = argparse.ArgumentParser(prog="rft-evals reward", description="The reward Lambda: bundle and run it.")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, help_text, func in (("bundle", "write the Lambda's reward bundle JSON", _cmd_bundle),
                                  ("invoke", "run the handler locally on an event file", _cmd_invoke)):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("--task", default="contract_review",
                       help="conf/task/<name>.yaml, a path, or a config task's spec file")
        p.add_argument("--reward", default=None,
                       help="conf/reward/<name>.yaml or a path; default: <task kind>_deterministic")
        p.add_argument("--data-root", default=None, help="default: $RFT_DATA_DIR")
        p.set_defaults(func=func)
    sub.choices["bundle"].add_argument("--out", default="build/reward_bundle.json")
    invoke_parser = sub.choices["invoke"]
    invoke_parser.add_argument("--event", required=True, help="a JSON file holding the event (a list of samples)")
    invoke_parser.add_argument("--bundle", default=None, help="a built bundle; default: built from --task/--reward")
    invoke_parser.add_argument("--timeout-s", type=float, default=LAMBDA_TIMEOUT_S)
    invoke_parser.add_argument("--out", default=None, help="write the results here instead of stdout")
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except (RewardConfigError, FileNotFoundError, ValueError) as exc:
        print(f"rft-evals reward {args.command}: {exc}", file=sys.stderr)
        return 2
