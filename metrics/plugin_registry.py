"""One registry type for everything the harness looks up by name: tasks, providers, judges, scorers, metrics.

An entry's target is the object itself or a lazy "package.module:attr" string, imported on first use, so
listing names never imports a heavy module. Plug-ins add entries without editing this project: a package
declares an entry point in the registry's group (e.g. `rft_evals.tasks`), and the registry finds it through
importlib.metadata the first time a name is missing or the names are listed (found again when sys.path
changes). A registry is a read-only Mapping of name -> resolved target; `lookup` raises the registry's own
error, listing the known names and how to add one. Standard library only (the reward Lambda uses it).

    TASKS = Registry("task kind", "rft_evals.tasks", UnknownTaskError)
    TASKS.register("nda_policy", "tasks.nda_policy.task:build")

    @TASKS.register("toy")
    def build_toy(cfg, data_root=None): ...
"""

from __future__ import annotations

import importlib
import sys
import warnings
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Generic, TypeVar, overload

T = TypeVar("T")
F = TypeVar("F")

GUIDE = "docs/architecture.md"


class UnknownNameError(ValueError):
    """A name no registry entry or plug-in has; the message lists the known names and how to add one."""


def is_target_path(value: Any) -> bool:
    """True for a "package.module:attr" string (a lazy target, or a config naming an outside builder)."""
    if not isinstance(value, str) or value.count(":") != 1:
        return False
    module, attr = value.split(":")
    return all(part.isidentifier() for part in module.split(".") + attr.split("."))


def resolve_target(path: str, where: str = "target") -> Any:
    """Import "package.module:attr" (attr may be dotted, e.g. "mod:Class.from_config") and return the object."""
    if not is_target_path(path):
        raise ValueError(f"{where}: {path!r} is not a 'package.module:attr' path; write e.g. 'acme.tasks:build'")
    module_name, attr = path.split(":")
    try:
        value: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"{where}: cannot import module {module_name!r} ({exc}); install the package that "
                         "provides it or fix the path") from exc
    for part in attr.split("."):
        try:
            value = getattr(value, part)
        except AttributeError:
            raise ValueError(f"{where}: module {module_name!r} has no attribute {attr!r}") from None
    return value


class Registry(Mapping[str, T], Generic[T]):
    """Named entries of one kind. Built-in entries are registered in code; plug-ins come from `group`."""

    def __init__(self, kind: str, group: str, error: type[ValueError] = UnknownNameError,
                 allow_paths: bool = False) -> None:
        self.kind = kind  # how messages name an entry, e.g. "task kind"
        self.group = group  # the entry-point group plug-ins declare
        self.error = error  # what `lookup` raises, so callers keep their own error types
        self.allow_paths = allow_paths  # `lookup("pkg.mod:attr")` imports an outside target directly
        self._targets: dict[str, T | str] = {}
        self._resolved: dict[str, T] = {}
        self._plugins: dict[str, str] = {}  # name -> "module:attr" from entry points
        self._plugins_path: tuple[str, ...] | None = None  # the sys.path the plug-ins were found on

    @overload
    def register(self, name: str) -> Callable[[F], F]: ...

    @overload
    def register(self, name: str, target: T | str) -> T | str: ...

    def register(self, name: str, target: Any = None) -> Any:
        """Add an entry; without a target, a decorator that registers what it decorates."""
        if target is None:
            def decorate(obj: F) -> F:
                self.register(name, obj)
                return obj
            return decorate
        if not isinstance(name, str) or not name or ":" in name:
            raise ValueError(f"{self.kind} name must be a non-empty string without ':', got {name!r}")
        if name in self._targets:
            raise ValueError(f"{self.kind} {name!r} is already registered ({self._targets[name]!r})")
        self._targets[name] = target
        return target

    def _discover(self) -> dict[str, str]:
        """The group's entry points, found again whenever sys.path changed (a plug-in installed or removed)."""
        path = tuple(sys.path)
        if self._plugins_path != path:
            import importlib.metadata  # only when a name is missing or listed: it is slow to import (Lambda)

            found: dict[str, str] = {}
            for entry in importlib.metadata.entry_points(group=self.group):
                if entry.name in self._targets:
                    warnings.warn(f"plug-in entry point {entry.name!r} = {entry.value!r} in group {self.group!r} "
                                  f"is ignored: a built-in {self.kind} has that name; rename the plug-in",
                                  stacklevel=3)
                    continue
                found.setdefault(entry.name, entry.value)
            self._plugins, self._plugins_path = found, path
            self._resolved = {k: v for k, v in self._resolved.items() if k in self._targets or k in found}
        return self._plugins

    def _target(self, name: str) -> T | str | None:
        if name in self._targets:
            return self._targets[name]
        return self._discover().get(name)

    def __getitem__(self, name: str) -> T:
        if name in self._resolved and (name in self._targets or name in self._discover()):
            return self._resolved[name]
        target = self._target(name)
        if target is None:
            raise KeyError(name)
        value: T = resolve_target(target, f"{self.kind} {name!r}") if isinstance(target, str) else target
        self._resolved[name] = value
        return value

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._target(name) is not None

    def __iter__(self) -> Iterator[str]:
        return iter([*self._targets, *self._discover()])

    def __len__(self) -> int:
        return len(self._targets) + len(self._discover())

    def names(self) -> list[str]:
        return sorted(self)

    def unknown(self, name: Any, where: str = "") -> ValueError:
        """The error for a name nobody registered: the known names and the two ways to add one."""
        prefix = f"{where}: " if where else ""
        paths = " (or name an outside one as 'package.module:attr')" if self.allow_paths else ""
        return self.error(f"{prefix}{name!r} is not a {self.kind} known here or through a plug-in; known {self.kind}s: "
                          f"{self.names()}{paths}. "
                          f"To add one, register it in this project or declare an entry point in group "
                          f"{self.group!r} in your package (see {GUIDE})")

    def lookup(self, name: Any, where: str = "") -> T:
        """The entry for `name`; raises the registry's error naming `where` (the config and key) otherwise."""
        if self.allow_paths and is_target_path(name):
            try:
                return resolve_target(name, f"{where + ': ' if where else ''}{self.kind} {name!r}")
            except ValueError as exc:
                raise self.error(str(exc)) from exc.__cause__
        if not isinstance(name, str) or name not in self:
            raise self.unknown(name, where)
        return self[name]
