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


def answers_status(capsys: pytest.CaptureFixture[str], *options: str) -> bool:
    """``ctl [OPTIONS] status --json`` reached the running daemon."""
    code = main(["ctl", *options, "status", "--json"])
    return code == 0 and json.loads(capsys.readouterr().out)["phase"] == "workers"


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
    assert answers_status(capsys, "--settings", str(settings))


def test_ctl_reads_the_socket_from_settings_whose_other_keys_are_invalid_and_names_them(
    running: ControlServer, sock_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = sock_path.parent / "settings.toml"
    settings.write_text(
        f'[control]\nsocket = "{sock_path.name}"\n'
        '[github]\ntokne = "x"\n[intervals]\nissue_poller = -1\n'
    )
    assert main(["ctl", "--settings", str(settings), "status", "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["phase"] == "workers"
    assert captured.err == (
        f"autosolve-supervisor: warning: {settings} is invalid (github.tokne, "
        "intervals.issue_poller; `check` says why); its control.socket was used all the same\n"
    )


def test_ctl_reads_the_socket_from_settings_that_are_not_even_valid_toml(
    running: ControlServer, sock_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = sock_path.parent / "settings.toml"
    settings.write_text(
        f'[github]\nrepositories = ["octo/hello"\n\n[control]\nsocket = "{sock_path.name}"\n'
    )
    assert answers_status(capsys, "--settings", str(settings))


def test_ctl_takes_the_socket_from_the_environment_before_the_settings_file(
    running: ControlServer,
    sock_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = sock_path.parent / "settings.toml"
    settings.write_text('[control]\nsocket = "elsewhere.sock"\n')
    monkeypatch.setenv("AUTOSOLVE_CONTROL__SOCKET", sock_path.name)  # beside the settings file
    assert answers_status(capsys, "--settings", str(settings))


def test_ctl_without_a_settings_file_tries_the_default_socket_in_the_directory(
    running: ControlServer,
    sock_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    default = sock_path.parent / "autosolve.sock"
    sock_path.rename(default)
    monkeypatch.chdir(sock_path.parent)
    assert answers_status(capsys)


def test_ctl_says_where_the_socket_path_came_from_when_nobody_listens(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = tmp_path / "settings.toml"
    settings.write_text('[control]\nsocket = "d.sock"\n')
    assert main(["ctl", "--settings", str(settings), "status"]) == 1
    assert capsys.readouterr().err == (
        f"autosolve-supervisor: no daemon listens on {tmp_path / 'd.sock'} "
        f"(is autosolve-supervisor running?); the path is control.socket in {settings} "
        "(give --socket PATH)\n"
    )


def test_ctl_with_invalid_settings_and_no_daemon_exits_2_naming_every_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "settings.toml").write_text('[github]\ntokne = "x"\n[queue]\nmax_attempts = 0\n')
    monkeypatch.chdir(tmp_path)
    assert main(["ctl", "status"]) == 2
    err = capsys.readouterr().err
    assert "github.tokne: unknown key" in err and "queue.max_attempts: must be" in err
    assert f"(and no daemon listens on {tmp_path / 'autosolve.sock'})" in err


def test_ctl_without_settings_and_no_daemon_exits_2_saying_the_file_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["ctl", "status"]) == 2
    assert f"settings file {tmp_path / 'settings.toml'} does not exist" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [["status", "--bogus"], ["pause"], ["logs", "-n", "0"], ["start"], ["shutdown", "now"]],
)
def test_a_usage_error_after_an_action_shows_that_actions_usage(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["ctl", *argv])
    assert caught.value.code == 2
    assert capsys.readouterr().err.startswith(f"usage: autosolve-supervisor ctl {argv[0]} ")


def test_ctl_status_with_patterns_shows_only_the_matching_children(
    running: ControlServer, sock_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert ctl(sock_path, "status", "worker:poller:*", "preflight:*", "worker:poller:a/b") == 0
    rows = [line.split()[0] for line in capsys.readouterr().out.splitlines()[2:]]
    assert rows == ["worker:poller:a/b", "preflight:check"]  # by pattern, each child once
    assert ctl(sock_path, "status", "--json", "worker:b*") == 0
    assert [c["name"] for c in json.loads(capsys.readouterr().out)["children"]] == ["worker:broken"]


def test_ctl_status_as_a_table_shows_a_page_and_says_where_the_rest_is(
    running: ControlServer, sock_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    names = [c["name"] for c in running.handle.status()["children"]]
    assert ctl(sock_path, "status", "--limit", "1", "--offset", "1") == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines[2:-1]] == names[1:2]
    assert lines[-1].startswith(f"children 2-2 of {len(names)} (")
    assert lines[-1].endswith("; more: --offset 2")


def test_ctl_status_as_a_table_shows_at_most_a_page_of_children_by_default(
    running: ControlServer,
    sock_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from autosolve.cli import ctl as ctl_module

    monkeypatch.setattr(ctl_module, "STATUS_PAGE_SIZE", 2)
    assert ctl(sock_path, "status") == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines[2:-1]) == 2 and "more: --offset 2" in lines[-1]


def test_ctl_status_json_with_paging_flags_prints_the_page(
    running: ControlServer, sock_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert ctl(sock_path, "status", "--json", "--state", "backoff", "worker:*") == 0
    page = json.loads(capsys.readouterr().out)
    assert [c["name"] for c in page["children"]] == ["worker:broken"]
    assert page["counts"]["backoff"] == 1 and page["more"] is False


@pytest.mark.parametrize(
    ("flags", "error"),
    [
        (["--limit", "-1"], "argument --limit: must be an integer of at least 0, got '-1'"),
        (["--offset", "two"], "argument --offset: must be an integer of at least 0, got 'two'"),
    ],
)
def test_ctl_status_refuses_a_paging_flag_that_breaks_its_rule_as_a_usage_error(
    sock_path: Path, capsys: pytest.CaptureFixture[str], flags: list[str], error: str
) -> None:
    with pytest.raises(SystemExit) as caught:
        ctl(sock_path, "status", *flags)
    assert caught.value.code == 2
    assert capsys.readouterr().err.rstrip().endswith(error)


def test_ctl_status_refuses_an_unknown_state_naming_the_flag(
    running: ControlServer, sock_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert ctl(sock_path, "status", "--state", "asleep") == 1
    assert "state: must be one of: pending, running, idle" in capsys.readouterr().err


def test_ctl_status_json_pages_by_at_most_one_pattern(
    running: ControlServer, sock_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert ctl(sock_path, "status", "--json", "--limit", "1", "worker:*", "preflight:*") == 2
    assert "at most one PATTERN" in capsys.readouterr().err


def test_ctl_status_names_a_pattern_that_matches_nothing_and_exits_1(
    running: ControlServer, sock_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert ctl(sock_path, "status", "worker:poller:*", "worker:nothing") == 1
    captured = capsys.readouterr()
    assert [line.split()[0] for line in captured.out.splitlines()[2:]] == ["worker:poller:a/b"]
    assert captured.err == "autosolve-supervisor: no child matches 'worker:nothing'\n"


def test_ctl_stop_with_names_stops_those_children_until_ctl_start(
    running: ControlServer, sock_path: Path, harness: Harness, capsys: pytest.CaptureFixture[str]
) -> None:
    assert ctl(sock_path, "stop", "worker:poller:*") == 0
    assert capsys.readouterr().out == "stop: worker:poller:a/b\n"
    harness.wait_for(lambda: harness.child("worker:poller:a/b")["state"] == "stopped", what="stop")
    assert ctl(sock_path, "status", "worker:poller:*") == 0
    assert capsys.readouterr().out.splitlines()[2].split()[1] == "stopped"
    assert running.handle.result is None, "the daemon runs on"
    assert ctl(sock_path, "start", "worker:poller:a/b") == 0
    assert capsys.readouterr().out == "start: worker:poller:a/b\n"
    harness.wait_for(
        lambda: harness.child("worker:poller:a/b")["state"] in ("idle", "running"), what="start"
    )


def test_ctl_start_of_a_child_that_is_not_stopped_exits_1(
    running: ControlServer, sock_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert ctl(sock_path, "start", "worker:poller:a/b") == 1
    assert capsys.readouterr().err.startswith("autosolve-supervisor: ")


@pytest.mark.parametrize("action", ["shutdown", "stop"])
def test_ctl_shutdown_returns_once_the_daemon_is_gone(
    running: ControlServer, sock_path: Path, capsys: pytest.CaptureFixture[str], action: str
) -> None:
    def close_when_the_run_ends() -> None:  # what `start` does
        running.handle.wait(timeout=10.0)
        running.close()

    closer = threading.Thread(target=close_when_the_run_ends)
    closer.start()
    assert ctl(sock_path, action) == 0
    closer.join(timeout=10.0)
    captured = capsys.readouterr()
    assert captured.out == "stopping...\nstopped\n"
    assert running.handle.result is not None and running.handle.result.ok
    assert not sock_path.exists()
    note = "note: `ctl stop` without NAME stops the daemon; its name is `ctl shutdown`"
    assert (note in captured.err) == (action == "stop")


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
