"""End to end: no client, signal or sick disk can kill the daemon or make it lie.

Each test reproduces a probe of issue #9 against a real ``start`` process.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.control.daemon import TOKEN, Daemon
from tests.fakes.ollama import FakeOllama

pytestmark = pytest.mark.slow


def hang_up_after_sending(sock_path: Path, payload: bytes) -> None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.connect(str(sock_path))
        sock.sendall(payload)


def assert_no_traceback(daemon: Daemon) -> None:
    text = daemon.log_path.read_text(errors="replace")
    assert "Traceback" not in text and "RecursionError" not in text, text[-2000:]


@pytest.mark.parametrize("backend", ["threading", "gevent"])
def test_clients_that_hang_up_before_their_answer_never_kill_the_daemon(
    launch: Callable[..., Daemon], backend: str
) -> None:
    daemon = launch(backend=backend)
    daemon.wait_ready()
    for _ in range(50):  # each answer is written to a closed connection: EPIPE, not SIGPIPE
        hang_up_after_sending(daemon.sock_path, b'{"command": "status"}\n' * 20)
    assert daemon.wait_ready()["phase"] == "workers"
    assert daemon.proc.poll() is None
    assert daemon.ctl("stop").returncode == 0
    assert daemon.exit_code() == 0
    assert_no_traceback(daemon)


@pytest.mark.parametrize("backend", ["threading", "gevent"])
def test_sighup_reloads_unchanged_settings_and_the_daemon_keeps_running(
    launch: Callable[..., Daemon], backend: str
) -> None:
    daemon = launch(backend=backend)
    before = {c["name"]: c for c in daemon.wait_ready()["children"]}
    daemon.signal(signal.SIGHUP)
    daemon.wait_until(
        lambda: daemon.logged("reload: added 0, removed 0, replaced 0"),
        what="the reload's log line",
    )
    assert daemon.logged("SIGHUP received: reloading the settings")
    daemon.signal(signal.SIGHUP)  # and again
    daemon.wait_until(
        lambda: daemon.log_path.read_text().count("reload: added 0") == 2, what="another"
    )
    after = daemon.wait_ready()
    assert after["phase"] == "workers"
    assert {c["name"]: c["restarts"] for c in after["children"]} == {n: 0 for n in before}
    daemon.signal(signal.SIGTERM)
    assert daemon.exit_code() == 0
    assert not daemon.sock_path.exists()


@pytest.mark.parametrize("token", [f"{TOKEN}\n", f"  {TOKEN}\r\n"], ids=["newline", "spaces"])
def test_a_token_with_surrounding_whitespace_works_and_never_reaches_the_log(
    launch: Callable[..., Daemon], token: str
) -> None:
    daemon = launch(env={"AUTOSOLVE_GITHUB__TOKEN": token})
    assert daemon.wait_ready()["phase"] == "workers"  # the fake GitHub accepted it
    assert daemon.ctl("stop").returncode == 0
    assert daemon.exit_code() == 0
    text = daemon.log_path.read_text()
    assert TOKEN not in text
    assert json.dumps(TOKEN)[1:-1] not in text


@pytest.mark.parametrize("backend", ["threading", "gevent"])
def test_deeply_nested_json_is_an_error_answer_with_nothing_on_stderr(
    launch: Callable[..., Daemon], backend: str
) -> None:
    daemon = launch(backend=backend)
    daemon.wait_ready()
    reply = daemon.client.send_line(b"[" * 50_000 + b"\n")
    assert reply == {"ok": False, "error": "request is nested too deeply"}
    assert daemon.client.status()["phase"] == "workers"  # same connection, still served
    assert daemon.ctl("stop").returncode == 0
    assert daemon.exit_code() == 0
    assert_no_traceback(daemon)


# -- a read-only database directory ---------------------------------------------------


@contextlib.contextmanager
def read_only(directory: Path) -> Iterator[None]:
    """Make ``directory`` refuse new and removed entries, even for root."""
    if os.geteuid() != 0:
        directory.chmod(0o555)
        try:
            yield
        finally:
            directory.chmod(0o755)
        return
    if shutil.which("chattr") is None:
        pytest.skip("running as root without chattr: cannot make a directory read-only")
    done = subprocess.run(["chattr", "+i", str(directory)], capture_output=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"chattr +i is not available: {done.stderr.decode().strip()}")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(directory)], check=True)


def test_a_database_directory_made_read_only_still_stops_with_exit_0_and_a_clear_log(
    launch: Callable[..., Daemon], sock_dir: Path
) -> None:
    # Database, lock and socket all in one directory, as with the shipped settings.
    daemon = launch(directory=sock_dir)
    daemon.wait_ready()
    with read_only(sock_dir):
        daemon.signal(signal.SIGTERM)
        assert daemon.exit_code() == 0
    assert daemon.logged("cannot remove the control socket")
    assert daemon.logged('"message": "stopped"')
    assert_no_traceback(daemon)


# -- the model, checked at start ------------------------------------------------------


def test_start_warns_clearly_when_the_model_is_missing(
    launch: Callable[..., Daemon], ollama: FakeOllama
) -> None:
    daemon = launch(model="llama9:70b")
    daemon.wait_ready()
    daemon.wait_until(
        lambda: daemon.logged("ollama model llama9:70b: not on"), what="the model warning"
    )
    record = next(
        json.loads(line) for line in daemon.log_records() if "ollama model llama9:70b" in line
    )
    assert record["level"] == "WARNING"
    assert "run `ollama pull llama9:70b` there" in record["message"]
    assert [r.path for r in ollama.requests] == ["/api/tags"]


def test_start_only_notes_a_model_that_is_there(launch: Callable[..., Daemon]) -> None:
    daemon = launch()
    daemon.wait_ready()
    daemon.wait_until(
        lambda: daemon.logged("ollama model qwen2.5-coder:7b: available on"),
        what="the model check",
    )
    assert not any('"WARNING"' in line for line in daemon.log_records())


@pytest.mark.parametrize("backend", ["threading", "gevent"])
def test_ctl_over_the_per_user_limit_is_told_too_many_connections_never_broken_pipe(
    launch: Callable[..., Daemon], backend: str
) -> None:
    from autosolve.control.server import MAX_PER_USER

    daemon = launch(backend=backend)
    daemon.wait_ready()
    daemon.client.close()
    held = []
    try:
        for _ in range(MAX_PER_USER):  # each answered once: served, and counted
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(10.0)
            sock.connect(str(daemon.sock_path))
            sock.sendall(b'{"command": "status"}\n')
            assert sock.makefile("rb").readline().startswith(b'{"ok":true')
            held.append(sock)
        for _ in range(5):
            refused = daemon.ctl("status")
            assert refused.returncode == 1
            assert "too many control connections from uid" in refused.stderr
            assert "Broken pipe" not in refused.stderr
    finally:
        for sock in held:
            sock.close()
    daemon.wait_until(lambda: daemon.ctl("status").returncode == 0, what="served again")
