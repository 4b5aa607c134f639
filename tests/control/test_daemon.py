"""End to end: a real daemon steered through its socket, shared by this module.

Every test leaves the daemon as it found it (resumed, running), so they stay
independent while paying for one start-up.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from autosolve.control import ControlClient
from tests.control.daemon import (
    SUPERVISOR,
    TOKEN,
    Daemon,
    new_github,
    wait_until,
    write_settings,
)
from tests.fakes.github import FakeGitHub
from tests.fakes.ollama import FakeOllama

pytestmark = pytest.mark.slow

HELLO = "/repos/octo/hello/issues"
WORLD = "/repos/octo/world/issues"
POLLER_HELLO = "worker:issue-poller:octo/hello"
POLLER_WORLD = "worker:issue-poller:octo/world"
NAMES = [
    "preflight:repository-validator:octo/hello",
    "preflight:repository-validator:octo/world",
    "worker:issue-poller:octo/hello",
    "worker:comment-poller:octo/hello",
    "worker:outbox-relay:octo/hello",
    "worker:issue-poller:octo/world",
    "worker:comment-poller:octo/world",
    "worker:outbox-relay:octo/world",
    "worker:issue-explainer",
]
INTERVAL = 1.0  # the pollers'; "at once" below means well within it


@pytest.fixture(scope="module")
def github() -> Iterator[FakeGitHub]:
    with new_github() as fake:
        yield fake


@pytest.fixture(scope="module")
def ollama() -> Iterator[FakeOllama]:
    with FakeOllama() as fake:
        yield fake


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("daemon")


@pytest.fixture(scope="module")
def daemon(
    github: FakeGitHub, ollama: FakeOllama, workdir: Path, short_dir: Path
) -> Iterator[Daemon]:
    sock = short_dir / "d.sock"
    settings = write_settings(workdir, sock, github, ollama, issue_poller=INTERVAL)
    daemon = Daemon(settings, sock, workdir / "daemon.log")
    try:
        daemon.wait_ready()
        yield daemon
    finally:
        daemon.close()


def polls(github: FakeGitHub, path: str) -> int:
    """The issue-list requests of one repository (not its issues' sub-resources)."""
    return sum(1 for r in github.requests_for(path) if r.path == path)


def test_ctl_status_json_is_the_section_5_3_document(daemon: Daemon) -> None:
    result = daemon.ctl("status", "--json")
    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    assert set(status) == {"phase", "children"} and status["phase"] == "workers"
    names = [c["name"] for c in status["children"]]
    assert sorted(names) == sorted(NAMES) and names[:2] == NAMES[:2]  # preflights first
    for child in status["children"]:
        assert set(child) == {
            "name", "kind", "state", "interval", "runs", "failures", "restarts",
            "attempts", "last_error", "last_success_at", "next_run_at", "running_for", "progress",
            "group", "group_phase", "actors",
        }  # fmt: skip
        assert set(child["attempts"]) == {"node", "service", "degraded"}
        assert child["kind"] == (
            "preflight" if child["name"].startswith("preflight:") else "worker"
        )
    assert status["children"][0]["state"] == "succeeded"
    assert status["children"][2]["interval"] == INTERVAL


def test_ctl_status_prints_a_table(daemon: Daemon) -> None:
    result = daemon.ctl("status")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "phase: workers"
    assert lines[1].startswith("NAME") and "LAST ERROR" in lines[1]
    assert sorted(line.split()[0] for line in lines[2:]) == sorted(NAMES)


def test_pausing_one_repositorys_poller_stops_its_requests_while_others_continue(
    daemon: Daemon, github: FakeGitHub
) -> None:
    result = daemon.ctl("pause", POLLER_HELLO)
    assert (result.returncode, result.stdout) == (0, f"pause: {POLLER_HELLO}\n")
    try:
        daemon.wait_until(lambda: daemon.child(POLLER_HELLO)["state"] == "paused")
        hello, world = polls(github, HELLO), polls(github, WORLD)
        wait_until(lambda: polls(github, WORLD) >= world + 2, 10.0, "two more polls of world")
        assert polls(github, HELLO) == hello
    finally:
        assert daemon.ctl("resume", POLLER_HELLO).returncode == 0
    # "At once, not at the next slot" is exact on the manual clock
    # (tests/runtime/test_control.py); wall-clock gaps here would only measure load.
    wait_until(lambda: polls(github, HELLO) > hello, 5.0, "hello polled again")


def test_run_now_ticks_at_once_even_a_paused_poller(daemon: Daemon, github: FakeGitHub) -> None:
    daemon.client.pause(POLLER_HELLO)
    try:
        daemon.wait_until(lambda: daemon.child(POLLER_HELLO)["state"] == "paused")
        before = polls(github, HELLO)
        result = daemon.ctl("run-now", "worker:issue-poller:octo/h*")
        assert (result.returncode, result.stdout) == (0, f"run-now: {POLLER_HELLO}\n")
        wait_until(lambda: polls(github, HELLO) == before + 1, 5.0, "the forced poll")
    finally:
        daemon.client.resume(POLLER_HELLO)


def test_restart_replaces_the_child_by_a_fresh_actor(daemon: Daemon, github: FakeGitHub) -> None:
    before = daemon.child(POLLER_WORLD)
    result = daemon.ctl("restart", POLLER_WORLD)
    assert (result.returncode, result.stdout) == (0, f"restart: {POLLER_WORLD}\n")
    after = daemon.wait_until(
        lambda: (
            (c := daemon.child(POLLER_WORLD))["restarts"] == before["restarts"] + 1
            and c["runs"] > before["runs"]
            and c
        ),
        what="the fresh actor's first run",
    )
    assert after["state"] in ("idle", "running") and after["failures"] == before["failures"]
    world = polls(github, WORLD)
    wait_until(lambda: polls(github, WORLD) > world, 5.0, "the fresh actor polling")


@pytest.mark.parametrize("action", ["pause", "resume", "run-now", "restart"])
def test_unknown_names_exit_1_and_change_nothing(daemon: Daemon, action: str) -> None:
    result = daemon.ctl(action, "worker:no-such-task:*")
    assert result.returncode == 1
    assert result.stderr == "autosolve-supervisor: no child matches 'worker:no-such-task:*'\n"
    assert daemon.client.status()["phase"] == "workers"


def test_malformed_requests_are_answered_with_errors_and_the_daemon_keeps_working(
    daemon: Daemon,
) -> None:
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(10.0)
        sock.connect(str(daemon.sock_path))
        sock.sendall(
            b"garbage\n"
            b'{"command": "reboot"}\n'
            b'{"command": "pause"}\n' + b"x" * (200 * 1024) + b"\n"
            b'{"command": "status"}\n'
        )
        reader = sock.makefile("rb")
        answers = [json.loads(reader.readline()) for _ in range(5)]
    assert [a["ok"] for a in answers] == [False, False, False, False, True]
    assert "not JSON" in answers[0]["error"] and "must be one of" in answers[1]["error"]
    assert "name: required by 'pause'" in answers[2]["error"]
    assert "request too long" in answers[3]["error"]
    assert answers[4]["status"]["phase"] == "workers"
    assert all(c["state"] != "paused" for c in answers[4]["status"]["children"])


def test_the_socket_has_mode_0600(daemon: Daemon) -> None:
    mode = os.stat(daemon.sock_path).st_mode
    assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o600


def test_a_thousand_control_requests_in_a_burst_are_answered_while_workers_keep_ticking(
    daemon: Daemon, github: FakeGitHub
) -> None:
    runs_before = {c["name"]: c["runs"] for c in daemon.client.status()["children"]}
    polls_before = polls(github, WORLD)
    failures: list[BaseException] = []

    def burst() -> None:
        try:
            with ControlClient(daemon.sock_path, timeout=15.0) as client:
                for i in range(100):
                    if i % 2:
                        assert client.status()["phase"] == "workers"
                    else:
                        assert client.run_now("worker:outbox-relay:*")
        except BaseException as error:  # reported below
            failures.append(error)

    threads = [threading.Thread(target=burst) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60.0)
    assert failures == [] and not any(t.is_alive() for t in threads)
    wait_until(lambda: polls(github, WORLD) > polls_before, 5.0, "the pollers still ticking")
    runs_after = {c["name"]: c["runs"] for c in daemon.client.status()["children"]}
    assert runs_after["worker:issue-explainer"] > runs_before["worker:issue-explainer"]


def test_a_second_daemon_on_the_same_socket_exits_1_and_leaves_the_first_alone(
    daemon: Daemon, tmp_path: Path, github: FakeGitHub, ollama: FakeOllama
) -> None:
    settings = write_settings(tmp_path, daemon.sock_path, github, ollama)  # its own database
    result = subprocess.run(
        [SUPERVISOR, "start", "--settings", str(settings)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1
    assert f"control socket {daemon.sock_path} is in use" in result.stderr
    assert daemon.client.status()["phase"] == "workers"
    assert daemon.sock_path.exists()


def test_repl_attached_through_a_pipe_drives_the_daemon(daemon: Daemon) -> None:
    script = "\n".join(
        [
            'print(status()["phase"])',
            f'print(pause("{POLLER_HELLO}"))',
            f'print(resume("{POLLER_HELLO}"))',
            'print(sup.run_now("worker:outbox-relay:*"))',
            'pause("worker:nothing")',
        ]
    )
    result = subprocess.run(
        [SUPERVISOR, "repl", "--attach", "--socket", str(daemon.sock_path)],
        input=script,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "workers",
        f"['{POLLER_HELLO}']",
        f"['{POLLER_HELLO}']",
        "['worker:outbox-relay:octo/hello', 'worker:outbox-relay:octo/world']",
    ]
    assert "ControlError: no child matches 'worker:nothing'" in result.stderr


def test_json_logs_are_one_object_per_line_naming_children_with_the_token_masked(
    daemon: Daemon,
) -> None:
    records = [json.loads(line) for line in daemon.log_records() if line]
    assert records and all({"time", "level", "child", "message"} <= set(r) for r in records)
    assert any(r["message"].startswith("control: pause") for r in records)
    assert TOKEN not in daemon.log_path.read_text()
