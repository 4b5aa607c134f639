"""``autosolve-supervisor ctl`` against an in-process runtime served on a socket."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from autosolve.cli import main
from autosolve.control import ControlServer
from autosolve.control.table import format_status
from autosolve.runtime import Unit
from tests.runtime.harness import Harness

Serve = Callable[..., ControlServer]


def noop(ctx) -> None:
    pass


def failing(ctx) -> None:
    raise ValueError("the disk\nis full " + "x" * 200)


@pytest.fixture
def running(serve: Serve, harness: Harness) -> ControlServer:
    server = serve(
        preflights=[Unit("preflight:check", noop)],
        workers=[Unit("worker:poller:a/b", noop, 10.0), Unit("worker:broken", failing, 10.0)],
    )
    harness.wait_for(lambda: harness.child("worker:broken")["failures"], what="a failure")
    harness.wait_for(lambda: harness.child("worker:poller:a/b")["runs"], what="a run")
    return server


def ctl(sock_path: Path, *args: str) -> int:
    return main(["ctl", "--socket", str(sock_path), *args])


def test_ctl_status_prints_a_table_with_one_row_per_child(
    running: ControlServer, sock_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert ctl(sock_path, "status") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "phase: workers"
    assert lines[1].split() == [
        "NAME", "STATE", "RUNS", "FAILURES", "RESTARTS", "NEXT", "RUN", "LAST", "ERROR",
    ]  # fmt: skip
    rows = {line.split()[0]: line.split() for line in lines[2:]}
    assert list(rows) == ["preflight:check", "worker:poller:a/b", "worker:broken"]
    assert rows["preflight:check"][:6] == ["preflight:check", "succeeded", "1", "0", "0", "-"]
    assert rows["worker:poller:a/b"][1:5] == ["idle", "1", "0", "0"]
    assert rows["worker:broken"][1:5] == ["backoff", "0", "1", "0"]
    assert " ".join(rows["worker:broken"][6:]).startswith("ValueError: the disk is full xxx")


def test_ctl_status_json_prints_exactly_the_status_document(
    running: ControlServer, sock_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert ctl(sock_path, "status", "--json") == 0
    assert json.loads(capsys.readouterr().out) == running.handle.status()


@pytest.mark.parametrize("action", ["pause", "resume", "run-now", "restart"])
def test_ctl_name_actions_print_the_names_they_applied_to(
    running: ControlServer, sock_path: Path, capsys: pytest.CaptureFixture[str], action: str
) -> None:
    assert ctl(sock_path, action, "worker:poller:*") == 0
    assert capsys.readouterr().out == f"{action}: worker:poller:a/b\n"


def test_ctl_exits_1_naming_the_pattern_when_nothing_matches(
    running: ControlServer, sock_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert ctl(sock_path, "pause", "worker:nothing:*") == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == "autosolve-supervisor: no child matches 'worker:nothing:*'\n"


def test_ctl_exits_1_when_no_daemon_listens(
    sock_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert ctl(sock_path, "status") == 1
    assert capsys.readouterr().err == (
        f"autosolve-supervisor: no daemon listens on {sock_path} "
        "(is autosolve-supervisor running?)\n"
    )


def test_ctl_exits_1_when_only_a_dead_daemons_socket_is_left(
    sock_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket(socket.AF_UNIX) as dead:
        dead.bind(str(sock_path))
    assert ctl(sock_path, "stop") == 1
    assert "no daemon listens on" in capsys.readouterr().err


def test_ctl_finds_the_socket_beside_its_settings_file(
    running: ControlServer, sock_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = sock_path.parent / "settings.toml"
    settings.write_text(f'[control]\nsocket = "{sock_path.name}"\n')
    assert main(["ctl", "--settings", str(settings), "status", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["phase"] == "workers"


def test_ctl_exits_2_on_invalid_settings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = tmp_path / "settings.toml"
    settings.write_text('[control]\nsocket = ""\n')
    assert main(["ctl", "--settings", str(settings), "status"]) == 2
    assert "control.socket: must not be empty" in capsys.readouterr().err


def test_ctl_stop_returns_once_the_daemon_is_gone(
    running: ControlServer, sock_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def close_when_the_run_ends() -> None:  # what `start` does
        running.handle.wait(timeout=10.0)
        running.close()

    closer = threading.Thread(target=close_when_the_run_ends)
    closer.start()
    assert ctl(sock_path, "stop") == 0
    closer.join(timeout=10.0)
    assert capsys.readouterr().out == "stopping...\nstopped\n"
    assert running.handle.result is not None and running.handle.result.ok
    assert not sock_path.exists()


def test_ctl_stop_succeeds_when_the_daemon_exits_before_answering(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A daemon with little to stop may be gone before its answer is written.
    path = tmp_path / "quick.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(1)

    def take_the_request_and_exit() -> None:
        connection, _ = listener.accept()
        with connection, connection.makefile("rb") as reader:
            reader.readline()
        listener.close()

    daemon = threading.Thread(target=take_the_request_and_exit)
    daemon.start()
    assert ctl(path, "stop") == 0
    daemon.join(timeout=10.0)
    assert capsys.readouterr().out == "stopping...\nstopped\n"


# -- the table ---------------------------------------------------------------


def child(name: str, **fields: object) -> dict[str, object]:
    record: dict[str, object] = {
        "name": name, "kind": "worker", "state": "idle", "interval": 10.0, "runs": 0,
        "failures": 0, "restarts": 0, "attempts": {"node": 0, "service": 0, "degraded": 0},
        "last_error": None, "last_success_at": None, "next_run_at": None,
    }  # fmt: skip
    record.update(fields)
    return record


NOW = 1767225600.0  # 2026-01-01T00:00:00Z


def test_the_table_counts_next_run_in_seconds_from_now() -> None:
    document = {
        "phase": "workers",
        "children": [
            child("worker:a", next_run_at="2026-01-01T00:00:42Z"),
            child("worker:b", next_run_at="2025-12-31T23:59:59Z"),
            child("worker:c", next_run_at=None),
        ],
    }
    rows = [line.split() for line in format_status(document, now=NOW).splitlines()[2:]]
    assert [row[5] for row in rows] == ["42s", "0s", "-"]


def test_the_table_shortens_long_errors_onto_one_line() -> None:
    error = "HTTPError: 503\n  Service Unavailable " + "y" * 100
    text = format_status({"phase": "workers", "children": [child("w", last_error=error)]}, NOW)
    row = text.splitlines()[2]
    shown = row[row.index("HTTPError") :]
    assert shown.startswith("HTTPError: 503 Service Unavailable yyy")
    assert len(shown) == 60 and shown.endswith("...")


def test_the_table_of_a_runtime_without_children_says_so() -> None:
    assert format_status({"phase": "stopped", "children": []}) == "phase: stopped\n(no children)"
