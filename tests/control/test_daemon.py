"""End to end: a real daemon steered through its socket, shared by this module.

Every test leaves the daemon as it found it (resumed, running), so they stay
independent while paying for one start-up.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import stat
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from autosolve.control import ControlClient
from autosolve.settings import load_settings
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
from tests.plans import plan_of

pytestmark = pytest.mark.slow

HELLO = "/repos/octo/hello/issues"
WORLD = "/repos/octo/world/issues"
POLLER_HELLO = "worker:issue-poller:octo/hello"
POLLER_WORLD = "worker:issue-poller:octo/world"
INTERVAL = 1.0  # the pollers', fixed (not adaptive); "at once" below means well within it


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
    # A fixed interval: adaptive polling would stretch a quiet repository's polls
    # the longer this module runs, and "within an interval" would depend on the load.
    settings = write_settings(
        workdir, sock, github, ollama, issue_poller=INTERVAL, issue_poller_max=INTERVAL
    )
    daemon = Daemon(settings, sock, workdir / "daemon.log")
    try:
        daemon.wait_ready()
        yield daemon
    finally:
        daemon.close()


def polls(github: FakeGitHub, path: str) -> int:
    """The issue-list requests of one repository (not its issues' sub-resources)."""
    return sum(1 for r in github.requests_for(path) if r.path == path)


def test_ctl_status_json_is_the_status_document_with_every_field(daemon: Daemon) -> None:
    result = daemon.ctl("status", "--json")
    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    assert set(status) == {"phase", "children"} and status["phase"] == "workers"
    names = [c["name"] for c in status["children"]]
    settings = load_settings(daemon.settings)
    planned = plan_of(settings)
    assert sorted(names) == sorted(planned.names)
    assert names[: len(planned.preflights)] == [u.name for u in planned.preflights]
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
    children = {child["name"]: child for child in status["children"]}
    assert children["worker:outbox-relay:octo/hello"]["interval"] == settings.intervals.outbox_relay
    assert children[POLLER_HELLO]["interval"] == INTERVAL


def test_ctl_status_prints_a_table(daemon: Daemon) -> None:
    result = daemon.ctl("status")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "phase: workers"
    assert lines[1].startswith("NAME") and "LAST ERROR" in lines[1]
    planned = plan_of(load_settings(daemon.settings)).names
    assert sorted(line.split()[0] for line in lines[2:]) == sorted(planned)


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
    wait_until(lambda: polls(github, WORLD) > polls_before, 5 * INTERVAL, "the pollers ticking")
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


def repl_attached(daemon: Daemon, *lines: str) -> subprocess.CompletedProcess[str]:
    """``repl --attach`` running ``lines`` as a piped script."""
    return subprocess.run(
        [SUPERVISOR, "repl", "--attach", "--socket", str(daemon.sock_path)],
        input="\n".join(lines),
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_repl_attached_through_a_pipe_drives_the_daemon(daemon: Daemon) -> None:
    result = repl_attached(
        daemon,
        'print(status()["phase"])',
        f'print(pause("{POLLER_HELLO}"))',
        f'print(resume("{POLLER_HELLO}"))',
        'print(sup.run_now("worker:outbox-relay:*"))',
        'pause("worker:nothing")',
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
    daemon.client.pause(POLLER_HELLO)  # its own pause: the module's tests run in any order
    daemon.client.resume(POLLER_HELLO)

    def records() -> list[dict[str, object]]:
        return [json.loads(line) for line in daemon.log_records() if line]

    def paused_logged() -> bool:
        return any(str(r["message"]).startswith("control: pause") for r in records())

    wait_until(paused_logged, 10.0, "the pause logged")
    assert all({"time", "level", "child", "message"} <= set(r) for r in records())
    assert TOKEN not in daemon.log_path.read_text()


# -- supervisorctl's verbs -------------------------------------------------------------


def test_ctl_stop_name_stops_a_poller_shown_stopped_until_ctl_start(
    daemon: Daemon, github: FakeGitHub
) -> None:
    result = daemon.ctl("stop", "worker:issue-poller:octo/h*")
    assert (result.returncode, result.stdout) == (0, f"stop: {POLLER_HELLO}\n")
    try:
        daemon.wait_until(lambda: daemon.child(POLLER_HELLO)["state"] == "stopped")
        table = daemon.ctl("status", POLLER_HELLO)
        assert table.stdout.splitlines()[2].split()[:2] == [POLLER_HELLO, "stopped"]
        hello, world = polls(github, HELLO), polls(github, WORLD)
        daemon.client.run_now(POLLER_WORLD)
        wait_until(lambda: polls(github, WORLD) > world, 10.0, "world polled meanwhile")
        assert polls(github, HELLO) == hello, "a stopped child is not restarted"
    finally:
        started = daemon.ctl("start", POLLER_HELLO)
    assert (started.returncode, started.stdout) == (0, f"start: {POLLER_HELLO}\n")
    wait_until(lambda: polls(github, HELLO) > hello, 5.0, "hello polled again")


def test_ctl_logs_shows_a_childs_records_and_follows_new_ones(
    daemon: Daemon, github: FakeGitHub
) -> None:
    github.fail_next(1, "server_error", WORLD)
    daemon.client.run_now(POLLER_WORLD)  # its failure is logged, naming the child

    def latest() -> list[str]:
        result = daemon.ctl("logs", POLLER_WORLD, "-n", "3")
        assert result.returncode == 0, result.stderr
        return result.stdout.splitlines()

    lines = wait_until(lambda: any("500" in line for line in latest()) and latest(), 10.0, "")
    assert len(lines) <= 3 and all(f"[{POLLER_WORLD}]" in line for line in lines)
    follower = subprocess.Popen(
        [
            SUPERVISOR,
            "ctl",
            "--socket",
            str(daemon.sock_path),
            "logs",
            "worker:issue-poller:*",
            "-f",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        seen: list[str] = []
        reader = threading.Thread(target=lambda: seen.extend(follower.stdout or ()), daemon=True)
        reader.start()
        wait_until(lambda: any(f"[{POLLER_WORLD}]" in line for line in seen), 10.0, "world's")
        github.fail_next(1, "server_error", HELLO)
        daemon.client.run_now(POLLER_HELLO)  # after the follower's first answer: followed
        failed = re.compile(rf"\[{re.escape(POLLER_HELLO)}\] .*500.*trying again in")
        wait_until(lambda: any(failed.search(line) for line in seen), 10.0, "a new record")
    finally:
        follower.send_signal(signal.SIGINT)
        assert follower.wait(timeout=10.0) == 0


def test_ctl_status_answers_right_after_a_broken_edit_of_the_settings(daemon: Daemon) -> None:
    settings = daemon.settings.read_text()
    try:
        daemon.settings.write_text(settings + "\n[github]\nrepositories = [\n")  # not TOML now
        result = subprocess.run(
            [SUPERVISOR, "ctl", "--settings", str(daemon.settings), "status", POLLER_HELLO],
            capture_output=True,
            text=True,
            timeout=30,
        )
    finally:
        daemon.settings.write_text(settings)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[2].split()[0] == POLLER_HELLO
    assert "is invalid (settings; `check` says why); its control.socket was used all the same" in (
        result.stderr
    )


def test_repl_attached_stops_and_starts_children_and_shows_logs(daemon: Daemon) -> None:
    relay = "worker:outbox-relay:octo/world"
    result = repl_attached(
        daemon, f'print(stop("{relay}"))', f'print(start("{relay}"))', "logs(n=1)"
    )
    assert result.returncode == 0, result.stderr
    stopped, started, log_line = result.stdout.splitlines()
    assert stopped == started == f"['{relay}']"
    assert log_line.startswith("20") and "autosolve" in log_line  # a dated text record
    daemon.wait_until(lambda: daemon.child(relay)["state"] in ("idle", "running"))
