"""The import architecture: the layer contracts in pyproject.toml ([tool.importlinter]: evals -> tasks ->
metrics, metrics light, evals' sub-packages with cli on top and inference/providers low) hold, and no project
module takes part in an import cycle. Imports inside functions and under TYPE_CHECKING count: a lazy import is
still a dependency."""

import importlib
import os
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("evals", "tasks", "metrics")

pytest.importorskip("importlinter", reason="import-linter is in the dev extra: pip install -e '.[dev]'")


def import_cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm, iterative so a deep
    import chain cannot hit the recursion limit), each sorted; the list sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            module, successors = work[-1]
            successor = next(successors, None)
            if successor is not None:
                if successor not in index:
                    index[successor] = low[successor] = len(index)
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(sorted(graph.find_modules_directly_imported_by(successor)))))
                elif successor in on_stack:
                    low[module] = min(low[module], index[successor])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[module])
            if low[module] == index[module]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == module:
                        break
                if len(component) > 1:
                    cycles.append(sorted(component))
    return sorted(cycles)


def project_graph() -> grimp.ImportGraph:
    sys.path.insert(0, str(REPO))  # this checkout's packages, whatever else is installed
    try:
        return grimp.build_graph(*PACKAGES, include_external_packages=True, cache_dir=None)
    finally:
        sys.path.remove(str(REPO))


def test_layer_contracts_hold():
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run([sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command;"
                             " sys.exit(lint_imports_command())", "--no-cache", "--no-logo"],
                            cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"an import breaks a layer contract (pyproject.toml [tool.importlinter]):\n" \
                                   f"{result.stdout}\n{result.stderr}"
    assert "0 broken" in result.stdout and "3 kept" in result.stdout, result.stdout


def test_no_import_cycles():
    cycles = import_cycles(project_graph())
    assert cycles == [], ("modules that import each other (directly or round a loop); move the shared part "
                          f"into a module both can import, or name a late-bound target by string: {cycles}")


def test_nothing_imports_scripts():
    # scripts/ is the top layer; it is not a package, so import-linter cannot see an import of it
    assert "scripts" not in project_graph().modules


def test_the_cycle_check_finds_a_cycle():
    graph = grimp.ImportGraph()
    for importer, imported in [("p.a", "p.b"), ("p.b", "p.c"), ("p.c", "p.a"), ("p.c", "p.d"), ("p.e", "p.e2"),
                               ("p.e2", "p.e")]:
        graph.add_import(importer=importer, imported=imported)
    assert import_cycles(graph) == [["p.a", "p.b", "p.c"], ["p.e", "p.e2"]]


@pytest.mark.parametrize("package", ["cli", "inference", "judging", "providers", "providers.bedrock", "report", "rft",
                                     "run", "samples", "stats", "suite", "tracking"])
def test_public_names_resolve(package):
    # each sub-package's __init__ lists its public names; every one must import (a moved or renamed name fails here)
    module = importlib.import_module(f"evals.{package}")
    assert module.__all__, f"evals.{package} declares no public names (__all__)"
    missing = [name for name in module.__all__ if getattr(module, name, None) is None]
    assert missing == [], f"evals.{package}.__all__ names what it cannot import: {missing}"
