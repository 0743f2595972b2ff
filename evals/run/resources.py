"""What every Hydra command opens before it works: the data root, the resolved config on disk (secrets
redacted), the generation cache and the MLflow tracker."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from evals.inference.cache import GenerationCache
from evals.tracking.redact import redact, redact_override_list
from evals.tracking.resilient import ResilientTracker
from evals.tracking.tracker import TrackingSettings
from tasks.data_root import data_root as default_data_root


@dataclass
class RunResources:
    data_root: Path
    cache: GenerationCache | None
    tracker: ResilientTracker | None

    def close(self) -> None:
        if self.cache is not None:
            self.cache.close()


def redact_hydra_files(run_dir: Path) -> None:
    """Hydra saves the composed config and the command line in `<run dir>/.hydra/`; a secret pasted on the
    command line would stay there in clear text, so those files are rewritten redacted."""
    for path in sorted((run_dir / ".hydra").glob("*.yaml")):
        original = OmegaConf.to_container(OmegaConf.load(path), resolve=False)
        cleaned = _redact_joined(redact(original))
        if cleaned != original:
            path.write_text(OmegaConf.to_yaml(OmegaConf.create(cleaned)), encoding="utf-8")


def _redact_joined(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _redact_joined(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_joined(v) for v in value]
    return redact_override_list(value) if isinstance(value, str) and "=" in value else value


def open_run(config: Mapping[str, Any], run_dir: Path) -> RunResources:
    root = Path(config["data_root"]) if config.get("data_root") else default_data_root()
    run_dir.mkdir(parents=True, exist_ok=True)
    redact_hydra_files(run_dir)
    (run_dir / "resolved_config.yaml").write_text(OmegaConf.to_yaml(OmegaConf.create(redact(dict(config)))),
                                                  encoding="utf-8")
    cache_cfg = config["cache"]
    cache = GenerationCache(Path(cache_cfg["path"])) if cache_cfg.get("enabled", True) else None
    tracking = config["tracking"]
    tracker = ResilientTracker(TrackingSettings.from_config(tracking)) if tracking.get("enabled", True) else None
    return RunResources(root, cache, tracker)
