"""Lazy re-exports for the sub-packages' public `__init__`: a name is imported from its module on first use
(PEP 562), so importing one module of a package does not import the package's heavy neighbours (Hydra, MLflow)
and a package's `__init__` adds no import edges between modules."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """The module-level `__getattr__` of `package`: `exports` maps each public name to the submodule (relative
    to the package) that defines it."""

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}; its public names: "
                                 f"{sorted(exports)}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        globals_of_package = importlib.import_module(package).__dict__
        globals_of_package[name] = value  # later look-ups skip this function
        return value

    return __getattr__
