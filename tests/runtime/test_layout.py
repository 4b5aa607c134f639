"""The runtime's shape: one face for the application, small modules, no import circle,
pykka's internals in one place.

These read the source (every import statement counts, also those under
``TYPE_CHECKING`` and inside functions), so they fail on the commit that
breaks the rule, not on the day it bites.
"""

from __future__ import annotations

import ast
import functools
import graphlib
import inspect
from collections.abc import Iterator
from pathlib import Path

import pykka
import pytest

import autosolve.runtime as runtime
from autosolve.runtime.child import ChildBehaviour
from autosolve.runtime.contained import Contained
from autosolve.runtime.supervisor.behaviour import SupervisorBehaviour

ROOT = Path(__file__).resolve().parents[2]
RUNTIME = ROOT / "autosolve" / "runtime"
OUTSIDE_THE_RUNTIME = [
    *(p for p in (ROOT / "autosolve").rglob("*.py") if RUNTIME not in p.parents),
    *(p for p in (ROOT / "tests").rglob("*.py") if ROOT / "tests" / "runtime" not in p.parents),
    *(ROOT / "bench").rglob("*.py"),
    *(ROOT / "examples").rglob("*.py"),
]
MODULE_LIMIT = 400
"""Lines a runtime module may have."""
PYKKA_INTERNALS = "autosolve.runtime.pykka_internals"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@functools.cache
def imported(path: Path, mentioning: str = "") -> tuple[tuple[int, str], ...]:
    """``(line, dotted name)`` of every import in ``path``; ``from a import b`` gives ``a.b``.

    A file whose text does not mention ``mentioning`` is not parsed (none of
    its imports can name it).
    """
    text = path.read_text()
    if mentioning not in text:
        return ()
    return tuple(_imports(ast.parse(text, str(path))))


def _imports(tree: ast.AST) -> Iterator[tuple[int, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield from ((node.lineno, f"{node.module}.{alias.name}") for alias in node.names)


RUNTIME_MODULES = {module_name(p): p for p in RUNTIME.rglob("*.py")}
SUBMODULES = {name for name in RUNTIME_MODULES if name != "autosolve.runtime"}


def test_outside_the_runtime_code_imports_it_only_from_its_package() -> None:
    reached_in = [
        f"{path.relative_to(ROOT)}:{line}: {name}"
        for path in OUTSIDE_THE_RUNTIME
        for line, name in imported(path, "autosolve.runtime")
        if _reaches_in(name)
    ]
    assert reached_in == [], "import these from `autosolve.runtime` (export them there)"


def _reaches_in(name: str) -> bool:
    """``name`` lies in a runtime module (an export of the package's named like one does not)."""
    package, _, exported = name.rpartition(".")
    if package == "autosolve.runtime" and exported in runtime.__all__:
        return False  # `classify` is a function of the package's face and a module
    return any(name == sub or name.startswith(f"{sub}.") for sub in SUBMODULES)


def test_every_export_is_named_in_the_package_documentation() -> None:
    documentation = runtime.__doc__ or ""
    undocumented = [name for name in runtime.__all__ if f"`{name}`" not in documentation]
    assert undocumented == []
    assert all(hasattr(runtime, name) for name in runtime.__all__)


def test_pykka_internals_are_imported_in_one_module_only() -> None:
    private = [
        f"{module}:{line}: {name}"
        for module, path in RUNTIME_MODULES.items()
        for line, name in imported(path, "pykka")
        if name.startswith("pykka._") and module != PYKKA_INTERNALS
    ]
    elsewhere = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in OUTSIDE_THE_RUNTIME
        for line, name in imported(path, "pykka")
        if name.startswith("pykka._")
    ]
    assert private == [] and elsewhere == []


def test_the_runtime_has_no_import_cycle() -> None:
    graph = {
        module: {
            dependency
            for _, name in imported(path)
            for dependency in [_runtime_module(name)]
            if dependency is not None and not module.startswith(f"{dependency}.")
        }
        - {module}
        for module, path in RUNTIME_MODULES.items()
    }
    graphlib.TopologicalSorter(graph).prepare()  # raises CycleError naming the circle


def _runtime_module(name: str) -> str | None:
    """The runtime module ``name`` is or lies in (``a.b.C`` → ``a.b``), if any."""
    while name and name not in RUNTIME_MODULES:
        name = name.rpartition(".")[0]
    return name or None


@pytest.mark.parametrize("module", sorted(RUNTIME_MODULES))
def test_no_runtime_module_is_longer_than_the_limit(module: str) -> None:
    lines = len(RUNTIME_MODULES[module].read_text().splitlines())
    assert lines <= MODULE_LIMIT, f"{module}: {lines} lines"


@pytest.mark.parametrize("behaviour", [SupervisorBehaviour, ChildBehaviour, Contained])
def test_actor_behaviours_never_overwrite_an_attribute_of_pykka_actors(behaviour: type) -> None:
    """An attribute named like one of pykka's (``self._stop = ...``) breaks the actor loop."""
    source = Path(str(inspect.getsourcefile(behaviour))).read_text()
    assigned = {
        target.attr
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Assign | ast.AnnAssign)
        for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
        if isinstance(target, ast.Attribute)
        and isinstance(target.value, ast.Name)
        and target.value.id == "self"
    }
    assert assigned & (set(dir(pykka.ThreadingActor)) | set(vars(pykka.ThreadingActor()))) == set()
