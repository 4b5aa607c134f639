"""An ``App`` started in-process from a settings file the test rewrites (reload, discovery)."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from autosolve.daemon.app import App
from autosolve.runtime import RuntimeEvent
from tests.pipeline.daemon import merge, to_toml, wait_until
from tests.plans import global_units, repository_units

Settings = dict[str, Any]


class Running:
    """An ``App`` started from a settings file the test rewrites, and its runtime events."""

    def __init__(self, path: Path, data: Settings) -> None:
        self.path, self.data = path, copy.deepcopy(data)
        self.events: list[RuntimeEvent] = []
        path.write_text(to_toml(self.data))
        self.app = App.start(path, observers=[self.events.append])

    def rewrite(self, **changes: Any) -> None:
        merge(self.data, changes)
        self.path.write_text(to_toml(self.data))

    def reload(self) -> dict[str, Any]:
        return self.app.answer({"command": "reload"})

    def units(self, repository: str) -> list[str]:
        """The units the daemon plans for ``repository`` (with its running settings)."""
        return repository_units(self.app.settings, repository)

    def kept(self, *repositories: str) -> int:
        """How many units stay when only ``repositories`` and the global workers do."""
        units = [u for r in repositories for u in self.units(r)]
        return len(units) + len(global_units(self.app.settings))

    def children(self) -> dict[str, dict[str, Any]]:
        return {c["name"]: c for c in self.app.status()["children"]}

    def spawned(self, name: str) -> int:
        return sum(1 for e in list(self.events) if e.kind == "spawned" and e.name == name)

    def wait_state(self, name: str, state: str) -> None:
        wait_until(
            lambda: self.children().get(name, {}).get("state") == state, what=f"{name} {state}"
        )


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Callable[[Settings], Running]]:
    started: list[Running] = []

    def start(data: Settings) -> Running:
        started.append(Running(tmp_path / "settings.toml", data))
        return started[-1]

    yield start
    for one in started:
        one.app.stop(timeout=15.0)
