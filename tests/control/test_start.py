"""``autosolve-supervisor start``: a socket it cannot serve refused first; the loop that waits."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pykka
import pytest

from autosolve.cli import main
from autosolve.cli.start import run_until_done
from autosolve.daemon.app import App


def settings_with_socket(directory: Path, sock: Path) -> Path:
    settings = directory / "settings.toml"
    settings.write_text(
        f'[github]\nrepositories = []\n[database]\npath = "autosolve.db"\n'
        f'[control]\nsocket = "{sock}"\n'
    )
    return settings


def write_precious(path: Path) -> None:
    path.write_text("precious")


@pytest.mark.parametrize(
    ("name", "prepare", "message"),
    [
        ("control.sock", write_precious, "exists and is not a socket"),
        ("missing/control.sock", None, "does not exist"),
    ],
    ids=["not-a-socket", "missing-directory"],
)
def test_start_exits_1_before_running_anything_when_the_socket_path_is_unusable(
    sock_dir: Path,
    capsys: pytest.CaptureFixture[str],
    restore_logging: None,
    name: str,
    prepare: Callable[[Path], None] | None,
    message: str,
) -> None:
    sock = sock_dir / name
    if prepare is not None:
        prepare(sock)
    assert main(["start", "--settings", str(settings_with_socket(sock_dir, sock))]) == 1
    err = capsys.readouterr().err
    assert f"cannot start: control socket {sock}" in err and message in err
    assert not (sock_dir / "autosolve.db").exists()  # no task ran, not even the store


def test_start_exits_1_when_a_live_daemon_holds_the_socket(
    sock_dir: Path, capsys: pytest.CaptureFixture[str], restore_logging: None
) -> None:
    sock = sock_dir / "control.sock"
    with socket.socket(socket.AF_UNIX) as live:
        live.bind(str(sock))
        live.listen()
        assert main(["start", "--settings", str(settings_with_socket(sock_dir, sock))]) == 1
    assert "another autosolve daemon is running" in capsys.readouterr().err
    assert not (sock_dir / "autosolve.db").exists()


# -- the start loop ------------------------------------------------------------------


@pytest.fixture
def app(sock_dir: Path) -> Iterator[App]:
    """The whole application on no repositories: only the global explainer runs."""
    settings = sock_dir / "settings.toml"
    settings.write_text(
        '[github]\nrepositories = []\n[database]\npath = "autosolve.db"\n'
        "[intervals]\nissue_explainer = 3600.0\n"
    )
    before = set(pykka.ActorRegistry.get_all())
    started = App.start(str(settings))
    yield started
    if started.handle.ref.is_alive():
        started.stop(timeout=10.0)
        return
    # The test killed the supervisor: stop its orphaned children and close what its
    # shutdown hooks would have, so no actor outlives this test.
    for orphan in set(pykka.ActorRegistry.get_all()) - before:
        orphan.stop(block=True, timeout=10.0)
    started.deps.close()


def test_the_start_loop_returns_the_runs_result_once_it_stops(app: App) -> None:
    app.handle.proxy.stop()
    result = run_until_done(app)
    assert result.ok


def test_the_start_loop_ends_failed_soon_after_the_supervisor_dies(app: App) -> None:
    app.wait(timeout=0.01)
    app.handle.ref.stop(block=True)  # the supervisor's actor is gone, no result left
    finished = threading.Event()
    results = []

    def loop() -> None:
        results.append(run_until_done(app))
        finished.set()

    threading.Thread(target=loop, daemon=True).start()
    assert finished.wait(timeout=10.0), "the start loop did not notice the dead supervisor"
    assert results[0].ok is False and "supervisor" in (results[0].reason or "")
