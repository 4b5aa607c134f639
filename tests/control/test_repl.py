"""``autosolve-supervisor repl``, driven by a script on stdin as a pipe would."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest

from autosolve.cli import main
from autosolve.control import ControlServer
from autosolve.runtime import Unit
from tests.runtime.harness import Harness

Serve = Callable[..., ControlServer]


def noop(ctx) -> None:
    pass


def run_script(monkeypatch: pytest.MonkeyPatch, script: str, *argv: str) -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(script))
    return main(["repl", *argv])


def test_attached_helpers_drive_the_daemon_through_its_socket(
    serve: Serve,
    harness: Harness,
    sock_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    serve(workers=[Unit("worker:poller:a/b", noop, 10.0), Unit("worker:poller:c/d", noop, 10.0)])
    harness.wait_for(lambda: harness.child("worker:poller:c/d")["runs"], what="ticks")
    script = "\n".join(
        [
            'print(status()["phase"])',
            'print(pause("worker:poller:a/b"))',
            'print(sup.status()["children"][0]["state"])',
            'print(resume("worker:poller:*"))',
            'print(run_now("worker:poller:c/d"), restart("worker:poller:c/d"))',
            "table()",
            'pause("nope")',
            'print("still here")',
        ]
    )
    assert run_script(monkeypatch, script, "--attach", "--socket", str(sock_path)) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[:5] == [
        "workers",
        "['worker:poller:a/b']",
        "paused",
        "['worker:poller:a/b', 'worker:poller:c/d']",
        "['worker:poller:c/d'] ['worker:poller:c/d']",
    ]
    assert lines[5] == "phase: workers" and lines[6].startswith("NAME")
    assert lines[-1] == "still here"
    assert "ControlError: no child matches 'nope'" in captured.err.splitlines()
    assert "Traceback" not in captured.err  # a helper's refusal is one line
    assert ">>>" not in captured.out  # no prompts in a piped session
    # Answered once ordered; counted when the old actor has ended and the fresh one starts.
    harness.wait_for(lambda: harness.child("worker:poller:c/d")["restarts"] == 1, what="restart")


def test_attached_stop_stops_the_daemon_and_waits_for_it(
    serve: Serve,
    harness: Harness,
    sock_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server = serve(workers=[Unit("worker:w", noop, 10.0)])
    script = "print(stop(timeout=0.5))\n"
    assert run_script(monkeypatch, script, "--attach", "--socket", str(sock_path)) == 0
    # The server stays up until `start` closes it; waiting timed out, the run did end.
    assert capsys.readouterr().out == "False\n"
    assert harness.handle.wait(timeout=5.0).ok
    server.close()


def test_attach_without_a_daemon_exits_1(
    sock_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_script(monkeypatch, "", "--attach", "--socket", str(sock_path)) == 1
    assert "no daemon listens on" in capsys.readouterr().err


def test_in_process_repl_starts_the_runtime_and_stops_it_at_eof(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    restore_logging: None,
) -> None:
    settings = tmp_path / "settings.toml"
    settings.write_text(
        "[github]\nrepositories = []\n"
        '[database]\npath = "autosolve.db"\n'
        "[intervals]\nissue_explainer = 60.0\n"
        '[log]\nlevel = "WARNING"\n'
    )
    script = "\n".join(
        [
            'print(status()["phase"])',
            'print([c["name"] for c in status()["children"]])',
            'print(sup.status().get(timeout=5)["phase"])',
            'print(handle is not None, run_now("worker:*"))',
            'print(reload()["unchanged"])',
            'print(stop("worker:*"))',
            'print(start("worker:issue-explainer"))',
            'logging.getLogger("autosolve").warning("a record kept for logs()")',
            "logs(n=1)",
            'print(shutdown().ok, status()["phase"])',
        ]
    )
    assert run_script(monkeypatch, "import logging\n" + script, "--settings", str(settings)) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[:-2] == [
        "workers",
        "['worker:issue-explainer']",
        "workers",
        "True ['worker:issue-explainer']",
        "1",
        "['worker:issue-explainer']",
        "['worker:issue-explainer']",
    ]
    assert lines[-2].endswith("WARNING [-] autosolve: a record kept for logs()")
    assert lines[-1] == "True stopped"


def test_in_process_repl_exits_2_on_invalid_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = tmp_path / "settings.toml"
    settings.write_text("[intervals]\nissue_poller = -1\n")
    assert run_script(monkeypatch, "", "--settings", str(settings)) == 2
    assert "intervals.issue_poller: must be greater than 0" in capsys.readouterr().err


class ScriptThen(io.StringIO):
    """A piped script that runs ``hook`` when the console reads line ``at`` (from 0)."""

    def __init__(self, script: str, at: int, hook: Callable[[], object]) -> None:
        super().__init__(script)
        self._lines_read, self._at, self._hook = 0, at, hook

    def readline(self, *args: object) -> str:
        if self._lines_read == self._at:
            self._hook()
        self._lines_read += 1
        return super().readline(*args)


def test_a_helper_that_cannot_reach_the_daemon_prints_one_line_and_the_console_goes_on(
    serve: Serve,
    sock_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server = serve(workers=[Unit("worker:w", noop, 10.0)])
    script = "\n".join(['print(status()["phase"])', "status()", "1 / 0", 'print("still here")'])
    monkeypatch.setattr("sys.stdin", ScriptThen(script, at=1, hook=server.close))
    assert main(["repl", "--attach", "--socket", str(sock_path)]) == 0
    captured = capsys.readouterr()
    assert captured.out == "workers\nstill here\n"
    before_users_error = captured.err.split("Traceback")[0]
    assert before_users_error.splitlines()[-1] == (
        f"DaemonUnavailable: no daemon listens on {sock_path} (is autosolve-supervisor running?)"
    )
    assert "ZeroDivisionError: division by zero" in captured.err  # the user's own: as usual


def test_attached_helpers_reconnect_transparently_after_the_daemons_idle_hang_up(
    harness: Harness,
    sock_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    handle = harness.start(workers=[Unit("worker:w", noop, 10.0)])
    with ControlServer(handle, sock_path, idle_timeout=0.2) as server:

        def hung_up_on_the_console() -> None:  # what 30 idle seconds do to a console
            harness.wait_for(lambda: not server._connections, what="the idle hang-up")

        script = "\n".join(['print(status()["phase"])', 'print(status()["phase"])'])
        monkeypatch.setattr("sys.stdin", ScriptThen(script, at=1, hook=hung_up_on_the_console))
        assert main(["repl", "--attach", "--socket", str(sock_path)]) == 0
    captured = capsys.readouterr()
    assert captured.out == "workers\nworkers\n"
    assert "DaemonHungUp" not in captured.err and "Broken pipe" not in captured.err
