"""The import graph of ``autosolve``: arrows point down the layers, and nothing goes round.

Built with :mod:`ast` from the source (nothing is imported): every ``import``
and ``from … import`` anywhere in a module, at its top or inside a function,
is an edge. Imports under ``if TYPE_CHECKING:`` never run, so they make no
circle, but they still name a layer: they count for the layering.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "autosolve"

MAY_IMPORT_ONLY: dict[str, set[str]] = {"runtime": set(), "settings": {"runtime"}, "demo": set()}
"""The bottom layers → the only other layers they may import (the demo's simulation is the
world the daemon meets: it imports nothing of the daemon)."""

MAY_NOT_IMPORT: dict[str, set[str]] = {
    "infra": {"domain", "schedule", "daemon", "cli", "http", "control"},
    "domain": {"schedule", "daemon", "cli", "http", "control"},
    "schedule": {"daemon", "cli", "http", "control"},
}
"""The layers above them → the layers further up they must not import."""


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    line: int
    typing_only: bool
    """Under ``if TYPE_CHECKING:``: it names the module but never runs."""


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _typing_only_nodes(tree: ast.AST) -> set[int]:
    guarded: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            guarded.update(id(inner) for child in node.body for inner in ast.walk(child))
    return guarded


def _targets(node: ast.AST, package: str, known: dict[str, Path]) -> Iterator[str]:
    """The autosolve modules an import statement loads."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:
            parent = package.split(".")[: len(package.split(".")) - node.level + 1]
            base = ".".join([*parent, *([node.module] if node.module else [])])
        names = [f"{base}.{alias.name}" for alias in node.names]
        names = [name if name in known else base for name in names]
    else:
        return
    for name in names:
        while name and name not in known:
            name = name.rpartition(".")[0]
        if name.startswith("autosolve"):
            yield name


def edges() -> list[Edge]:
    known = modules()
    found = []
    for name, path in known.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        guarded = _typing_only_nodes(tree)
        for node in ast.walk(tree):
            for target in _targets(node, package, known):
                if target != name:
                    line = getattr(node, "lineno", 0)
                    found.append(Edge(name, target, line, id(node) in guarded))
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while not group or group[-1] != node:
                group.append(stack.pop())
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def layer(module: str) -> str:
    """``autosolve.infra.store.queue`` → ``infra``; the package itself → ``""``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def upward(edge: Edge) -> bool:
    """True when ``edge`` points from a layer to one above it."""
    source, target = layer(edge.source), layer(edge.target)
    if source == target or not target:
        return False
    if source in MAY_IMPORT_ONLY:
        return target not in MAY_IMPORT_ONLY[source]
    return target in MAY_NOT_IMPORT.get(source, set())


def test_the_graph_sees_imports_at_the_top_and_inside_functions() -> None:
    seen = {(edge.source, edge.target) for edge in edges()}
    assert ("autosolve.daemon.app", "autosolve.daemon.reload") in seen  # at the top
    assert ("autosolve", "autosolve.daemon.app") in seen  # inside start()
    assert ("autosolve.runtime.backends", "autosolve.runtime.backends.gevent") in seen


def test_no_import_circle_anywhere() -> None:
    graph: dict[str, set[str]] = {}
    for edge in edges():
        if not edge.typing_only:
            graph.setdefault(edge.source, set()).add(edge.target)
    assert cycles(graph) == []


def test_no_layer_imports_a_layer_above_it() -> None:
    wrong = [f"{e.source}:{e.line} imports {e.target}" for e in edges() if upward(e)]
    assert wrong == []


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        ({"a": {"b"}, "b": {"a"}}, [["a", "b"]]),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [["a", "b", "c"]]),
        ({"a": {"b"}, "b": set()}, []),
    ],
)
def test_a_circle_is_found_whatever_its_length(graph, expected) -> None:
    assert cycles(graph) == expected


@pytest.mark.parametrize(
    ("source", "target", "allowed"),
    [
        ("autosolve.runtime.child", "autosolve.settings", False),
        ("autosolve.settings.sections", "autosolve.runtime", True),
        ("autosolve.settings.load", "autosolve.domain.prompt", False),
        ("autosolve.infra.ollama.client", "autosolve.settings.limits", True),
        ("autosolve.infra.store.store", "autosolve.domain.spec", False),
        ("autosolve.schedule.registry", "autosolve.daemon.app", False),
        ("autosolve.cli.start", "autosolve.daemon.app", True),
        ("autosolve.demo.world", "autosolve.infra.github", False),
        ("autosolve.cli.demo", "autosolve.demo.simulation", True),
    ],
)
def test_a_layer_importing_upward_is_caught(source: str, target: str, allowed: bool) -> None:
    assert upward(Edge(source, target, 1, typing_only=True)) is not allowed
