"""Fixtures for the operator surface: short socket paths and served runtimes."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from autosolve.control import ControlClient, ControlServer
from tests.control.daemon import Daemon, new_github, write_settings
from tests.fakes.github import FakeGitHub
from tests.fakes.ollama import FakeOllama
from tests.runtime.harness import Harness


@pytest.fixture
def sock_dir() -> Iterator[Path]:
    """A short directory for sockets: pytest's tmp_path can exceed sun_path's 107 bytes."""
    path = Path(tempfile.mkdtemp(prefix="as-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def sock_path(sock_dir: Path) -> Path:
    return sock_dir / "control.sock"


@pytest.fixture
def harness() -> Iterator[Harness]:
    h = Harness("threading")
    yield h
    h.stop()


@pytest.fixture
def serve(harness: Harness, sock_path: Path) -> Iterator[Callable[..., ControlServer]]:
    """``serve(**start_kwargs)``: start a runtime on the harness and a server for it."""
    servers: list[ControlServer] = []

    def start(secrets: tuple[str, ...] = (), **kwargs: object) -> ControlServer:
        handle = harness.start(**kwargs)
        server = ControlServer(handle, sock_path, secrets=secrets).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


@pytest.fixture
def client(sock_path: Path) -> Iterator[ControlClient]:
    """A client for ``sock_path``; it connects on first use, i.e. after ``serve()``."""
    c = ControlClient(sock_path, timeout=10.0)
    yield c
    c.close()


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Commands call ``configure_logging``, which replaces the root handlers: put them back."""
    import logging

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


@pytest.fixture(scope="module")
def short_dir() -> Iterator[Path]:
    """A short directory for sockets, shared by a module's tests."""
    path = Path(tempfile.mkdtemp(prefix="as-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with new_github() as fake:
        yield fake


@pytest.fixture
def ollama() -> Iterator[FakeOllama]:
    with FakeOllama() as fake:
        yield fake


@pytest.fixture
def launch(
    tmp_path: Path, sock_path: Path, github: FakeGitHub, ollama: FakeOllama
) -> Iterator[Callable[..., Daemon]]:
    """``launch(env=None, **settings)``: a daemon on the fakes, stopped after the test."""
    daemons: list[Daemon] = []

    def start(env: dict[str, str] | None = None, **settings: object) -> Daemon:
        directory = settings.pop("directory", tmp_path)
        path = write_settings(directory, sock_path, github, ollama, **settings)  # type: ignore[arg-type]
        daemon = Daemon(path, sock_path, tmp_path / f"daemon-{len(daemons)}.log", env=env)
        daemons.append(daemon)
        return daemon

    yield start
    ollama.release()
    for daemon in daemons:
        daemon.close()
