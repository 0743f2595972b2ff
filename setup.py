"""Packaging beyond what pyproject.toml can say: the top-level conf/ folder (the Hydra configs, whose place is
fixed by the project layout) is installed as the package `rft_evals_conf`, its config groups as its
subpackages, so a non-editable install finds its own configs (evals/conf.py). Everything else about the
project is in pyproject.toml."""

from setuptools import find_namespace_packages, find_packages, setup

CONF_GROUPS = [f"rft_evals_conf.{name}" for name in find_namespace_packages(where="conf", exclude=["*__pycache__*"])]

setup(
    packages=find_packages(include=["evals*", "tasks*", "metrics*"]) + ["rft_evals_conf", *CONF_GROUPS],
    package_dir={"rft_evals_conf": "conf"},
)
