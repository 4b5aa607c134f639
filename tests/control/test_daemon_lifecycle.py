"""End to end: how a daemon starts and stops — ctl stop, signals, sockets left behind."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.control.daemon import SUPERVISOR, Daemon, write_settings
from tests.fakes.github import FakeGitHub
from tests.fakes.ollama import FakeOllama

pytestmark = pytest.mark.slow

BACKENDS = ["threading", "gevent"]
GENERATE = "/api/generate"


@pytest.mark.parametrize("backend", BACKENDS)
def test_ctl_stop_makes_the_daemon_exit_0_leaving_no_socket(
    launch: Callable[..., Daemon], backend: str
) -> None:
    daemon = launch(backend=backend)
    daemon.wait_ready()
    assert daemon.ctl("pause", "worker:issue-poller:*").returncode == 0
    assert daemon.ctl("resume", "worker:issue-poller:*").returncode == 0
    result = daemon.ctl("stop")
    assert (result.returncode, result.stdout) == (0, "stopping...\nstopped\n")
    assert daemon.exit_code() == 0
    assert not daemon.sock_path.exists()
    assert daemon.logged('"message": "stopped"')


@pytest.mark.parametrize("signame", ["SIGINT", "SIGTERM"])
def test_a_signal_stops_the_daemon_gracefully_with_exit_0(
    launch: Callable[..., Daemon], signame: str
) -> None:
    daemon = launch()
    daemon.wait_ready()
    daemon.signal(signal.Signals[signame])
    assert daemon.exit_code() == 0
    assert not daemon.sock_path.exists()
    assert daemon.logged(f"{signame} received, stopping")


def hold_an_ollama_call(daemon: Daemon, github: FakeGitHub, ollama: FakeOllama) -> None:
    """Get the explainer stuck in a generate call that ignores cancellation."""
    ollama.hold()
    github.add_issue("octo", "hello", title="It crashes")
    daemon.wait_ready()
    assert ollama.wait_for_requests(1, GENERATE, timeout=20.0), "no generate call"


@pytest.mark.parametrize("backend", BACKENDS)
def test_sigterm_during_a_long_ollama_call_stops_within_the_shutdown_timeout(
    launch: Callable[..., Daemon], github: FakeGitHub, ollama: FakeOllama, backend: str
) -> None:
    shutdown_timeout = 1.5
    daemon = launch(backend=backend, shutdown_timeout=shutdown_timeout)
    hold_an_ollama_call(daemon, github, ollama)
    signalled = time.monotonic()
    daemon.signal(signal.SIGTERM)
    assert daemon.exit_code(timeout=shutdown_timeout + 10.0) == 0
    assert time.monotonic() - signalled < shutdown_timeout + 2.0
    assert daemon.logged("worker:issue-explainer did not finish within runtime.shutdown_timeout")
    assert not daemon.sock_path.exists()
    assert github.comments("octo", "hello", 1) == []  # nothing half-posted


def test_a_second_sigint_during_the_stop_exits_130_at_once(
    launch: Callable[..., Daemon], github: FakeGitHub, ollama: FakeOllama
) -> None:
    daemon = launch(shutdown_timeout=60.0)
    hold_an_ollama_call(daemon, github, ollama)
    daemon.signal(signal.SIGINT)
    daemon.wait_until(lambda: daemon.logged("SIGINT received, stopping"), what="the stop")
    signalled = time.monotonic()
    daemon.signal(signal.SIGINT)
    assert daemon.exit_code(timeout=10.0) == 130
    assert time.monotonic() - signalled < 5.0  # far below the 60 s shutdown timeout
    assert daemon.logged("autosolve-supervisor: forced exit")
    assert not daemon.sock_path.exists()


def test_a_socket_left_by_a_killed_daemon_is_replaced_at_start(
    launch: Callable[..., Daemon], sock_path: Path
) -> None:
    with socket.socket(socket.AF_UNIX) as dead:
        dead.bind(str(sock_path))
    daemon = launch()
    assert daemon.wait_ready()["phase"] == "workers"


def test_text_logs_name_the_child_and_mask_the_token(
    launch: Callable[..., Daemon], github: FakeGitHub
) -> None:
    github.fail_next(1, "server_error", "/repos/octo/world/issues")
    daemon = launch(log_format="text")
    daemon.wait_ready()
    daemon.wait_until(
        lambda: daemon.logged("[worker:issue-poller:octo/world]"), what="the poller's failure"
    )
    assert daemon.ctl("stop").returncode == 0
    assert daemon.exit_code() == 0
    text = daemon.log_path.read_text()
    assert "test-token" not in text
    assert all(line[:4].isdigit() for line in text.splitlines())  # no stray JSON


@pytest.mark.parametrize("backend", BACKENDS)
def test_repl_in_process_through_a_pipe_runs_the_pipeline_and_stops_at_eof(
    tmp_path: Path, sock_path: Path, github: FakeGitHub, ollama: FakeOllama, backend: str
) -> None:
    settings = write_settings(tmp_path, sock_path, github, ollama, backend=backend)
    script = """
import time
deadline = time.monotonic() + 20
while status()["phase"] != "workers" and time.monotonic() < deadline:
    time.sleep(0.02)

print(status()["phase"])
print(pause("worker:issue-poller:*"))
print(type(sup).__name__)
"""
    result = subprocess.run(
        [SUPERVISOR, "repl", "--settings", str(settings)],
        input=script,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "workers",
        "['worker:issue-poller:octo/hello', 'worker:issue-poller:octo/world']",
        "ActorProxy",
    ]
    assert '"message": "phase: stopped"' in result.stderr  # stopped when the script ended
    assert github.requests_for("/repos/octo/hello")  # the real pipeline ran


@pytest.mark.parametrize("backend", BACKENDS)
def test_repl_in_process_keeps_the_actors_running_while_it_waits_for_input(
    tmp_path: Path, sock_path: Path, github: FakeGitHub, ollama: FakeOllama, backend: str
) -> None:
    settings = write_settings(tmp_path, sock_path, github, ollama, backend=backend)
    with (tmp_path / "repl.log").open("wb") as log:
        repl = subprocess.Popen(
            [SUPERVISOR, "repl", "--settings", str(settings)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        try:
            # Nothing typed yet: the console waits, the pollers must not.
            assert github.wait_for_requests(3, "/repos/octo/hello/issues", timeout=20.0)
            out, _ = repl.communicate('print(status()["phase"])\n', timeout=30.0)
        finally:
            if repl.poll() is None:
                repl.kill()
                repl.wait()
    assert (repl.returncode, out) == (0, "workers\n")
