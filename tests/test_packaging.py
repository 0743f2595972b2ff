"""A non-editable install carries its own configs (conf/ as the package rft_evals_conf) and runs offline."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from _data import require_dataset
import evals.conf as conf_dir_module

REPO = Path(__file__).resolve().parents[1]


def test_conf_dir_is_the_checkout_conf_in_a_source_tree():
    assert conf_dir_module.conf_dir() == REPO / "conf"
    assert conf_dir_module.conf_path("suite", "nightly.yaml").is_file()


def test_conf_dir_falls_back_to_the_installed_package(monkeypatch, tmp_path):
    installed = tmp_path / "site" / conf_dir_module.CONF_PACKAGE
    installed.mkdir(parents=True)
    (installed / "__init__.py").write_text("")
    (installed / "config.yaml").write_text("defaults: []\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.setattr(conf_dir_module, "_CHECKOUT_CONF", tmp_path / "no-checkout" / "conf")
    conf_dir_module.conf_dir.cache_clear()
    try:
        assert conf_dir_module.conf_dir() == installed
    finally:
        conf_dir_module.conf_dir.cache_clear()


def test_missing_configs_are_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(conf_dir_module, "_CHECKOUT_CONF", tmp_path / "conf")
    monkeypatch.setattr(conf_dir_module, "CONF_PACKAGE", "rft_evals_conf_not_installed")
    conf_dir_module.conf_dir.cache_clear()
    try:
        with pytest.raises(conf_dir_module.ConfNotFoundError, match="reinstall rft-evals"):
            conf_dir_module.conf_dir()
    finally:
        conf_dir_module.conf_dir.cache_clear()


def test_no_module_finds_conf_next_to_itself():
    # one helper (evals/conf.py) knows where conf/ is; nothing else climbs out of its package to find it
    modules = [p for folder in ("evals", "tasks", "metrics") for p in (REPO / folder).rglob("*.py")]
    offenders = [str(p.relative_to(REPO)) for p in modules
                 if p.name != "conf.py" and '/ "conf"' in p.read_text(encoding="utf-8")]
    assert not offenders


def test_license_is_an_spdx_expression_with_its_file():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert project["license"] == "Apache-2.0"
    assert all((REPO / name).is_file() for name in project["license-files"])


# the checkout's code must not leak into the fresh venv (the editable install or PYTHONPATH would shadow the wheel)
CLEAN_ENV = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MLFLOW_TRACKING_URI", "VIRTUAL_ENV")}
SOURCE_IGNORE = shutil.ignore_patterns(".git", ".venv", "*.egg-info", "build", "dist", "__pycache__", "runs",
                                       "outputs", "multirun", ".rft-evals", "mlflow.db", ".pytest_cache")


def _run(cmd: list[str], env: dict[str, str] | None = None, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(cmd, capture_output=True, text=True, env=env or CLEAN_ENV, **kwargs)
    assert done.returncode == 0, f"{' '.join(cmd)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_wheel_installed_non_editable_runs_the_baseline_offline(tmp_path):
    root = require_dataset("claudette")
    source = tmp_path / "source"  # built from a copy: the build leaves egg-info and build/ behind
    shutil.copytree(REPO, source, ignore=SOURCE_IGNORE)
    wheels = tmp_path / "wheels"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(source)])
    (wheel,) = wheels.glob("rft_evals-*.whl")
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)])
    bin_dir = venv / ("Scripts" if os.name == "nt" else "bin")
    _run([str(bin_dir / "python"), "-m", "pip", "install", "-q", str(wheel)])  # dependencies from pip's cache

    work = tmp_path / "elsewhere"  # not the checkout: nothing may be read from the source tree
    work.mkdir()
    env = {**CLEAN_ENV, **{"RFT_DATA_DIR": str(root), "RFT_CACHE_DIR": str(work / "cache"), "HF_HUB_OFFLINE": "1",
                "HF_DATASETS_OFFLINE": "1", "NO_COLOR": "1"}}
    where = _run([str(bin_dir / "python"), "-c",
                  "import evals, evals.conf as c; print(evals.__file__); print(c.conf_dir())"],
                 cwd=work, env=env).stdout.split()
    assert all(Path(p).is_relative_to(venv) for p in where), where
    assert Path(where[1]).name == "rft_evals_conf"

    db = work / "mlflow.db"
    _run([str(bin_dir / "rft-evals"), "run", "candidates=local", "~candidates.smollm2_zero_shot",
          "~candidates.smollm2_few_shot", "limit=3", f"tracking.uri=sqlite:///{db}"], cwd=work, env=env, timeout=600)
    (summary_path,) = (work / "runs").glob("*/*/summary.json")
    summary = json.loads(summary_path.read_text())
    assert list(summary["candidates"]) == ["tfidf_baseline"]
    assert db.is_file() and db.stat().st_size > 0
