"""``autosolve-supervisor start`` refuses a socket it cannot serve before running any task."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from autosolve.cli import main


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
