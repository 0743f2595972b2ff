"""The reward Lambda's bundle, built from a task and a reward config, and the handler run locally on an event
(as `sam local invoke` would, without Docker). Library code: `rft-evals reward` (evals/cli/reward.py), the
run command, training and the reward audit call it."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evals.conf import conf_dir, config_path
from metrics.reward.bundle import RewardBundle
from metrics.reward.config import RewardConfig
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


def load_reward_config(name_or_path: str) -> RewardConfig:
    """A reward config by name (conf/reward/<name>.yaml) or path (.yaml or .json)."""
    path = config_path(name_or_path, "reward")
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
    path = config_path(task_cfg, "task")
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
