from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import autosolve
from autosolve.runtime import RuntimeHandle
from autosolve.settings import settings_from_mapping
from tests.fakes.github import FakeGitHub
from tests.fakes.ollama import FakeOllama
from tests.pipeline.daemon import TOKEN, merge, settings_dict, to_toml
from tests.pipeline.running import running  # noqa: F401  (a fixture)
from tests.pipeline.world import World


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub(token=TOKEN) as fake:
        yield fake
    assert not fake.route_errors, fake.route_errors


@pytest.fixture
def ollama() -> Iterator[FakeOllama]:
    with FakeOllama() as fake:
        yield fake


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "autosolve.db"


@pytest.fixture
def make_settings(
    tmp_path: Path, github: FakeGitHub, ollama: FakeOllama
) -> Callable[..., dict[str, Any]]:
    """Settings for the fakes. ``github.issues.since`` is ``"all"`` unless given: these
    tests analyse issues they created before the start; the first-run window
    (``"first-start"``, the real default) has tests of its own."""

    def make(repositories: list[str], **sections: Any) -> dict[str, Any]:
        data = settings_dict(tmp_path, github.url, ollama.url, repositories,
                             github={"issues": {"since": "all"}})  # fmt: skip
        merge(data, sections)
        return data

    return make


@pytest.fixture
def write_settings(tmp_path: Path) -> Callable[[dict[str, Any]], Path]:
    def write(data: dict[str, Any]) -> Path:
        path = tmp_path / "settings.toml"
        path.write_text(to_toml(data))
        return path

    return write


@pytest.fixture
def run_daemon() -> Iterator[Callable[[dict[str, Any]], RuntimeHandle]]:
    """Start the daemon in-process with ``autosolve.start``; stopped after the test."""
    handles: list[RuntimeHandle] = []

    def run(data: dict[str, Any]) -> RuntimeHandle:
        handle = autosolve.start(settings_from_mapping(data))
        handles.append(handle)
        return handle

    yield run
    for handle in handles:
        handle.stop(timeout=15.0)


@pytest.fixture
def world(github: FakeGitHub, ollama: FakeOllama, db: Path) -> Iterator[World]:
    """The analysis side, driven by hand (see :mod:`tests.pipeline.world`)."""
    github.add_repo("octo", "hello")
    world = World(github, ollama, db)
    yield world
    world.close()
