"""The control server in-process: a real Unix socket in front of a real runtime."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import stat
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from autosolve.control import (
    MAX_LINE,
    ControlClient,
    ControlServer,
    ControlSocketError,
    SocketInUseError,
)
from autosolve.runtime import ControlError, SystemClock, Unit, start_runtime
from tests.runtime.harness import Harness
from tests.runtime.test_ticks import Recorder

Serve = Callable[..., ControlServer]
CHILD_KEYS = {
    "name", "kind", "state", "interval", "runs", "failures", "restarts", "attempts",
    "last_error", "last_success_at", "next_run_at", "running_for", "progress", "group",
    "group_phase", "actors",
}  # fmt: skip


def noop(ctx) -> None:
    pass


def raw_exchange(path: Path, payload: bytes, answers: int) -> list[bytes]:
    """Send ``payload`` as is on a fresh connection and read ``answers`` lines."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(10.0)
        sock.connect(str(path))
        sock.sendall(payload)
        reader = sock.makefile("rb")
        return [reader.readline() for _ in range(answers)]


def dead_socket_file(path: Path) -> None:
    """What a killed daemon leaves behind: a socket file nobody listens on."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(path))
    sock.close()


# -- answers -----------------------------------------------------------------


def test_status_answer_is_the_status_document_with_every_field(
    serve: Serve, client: ControlClient, harness: Harness
) -> None:
    serve(preflights=[Unit("preflight:p", noop)], workers=[Unit("worker:w", noop, 10.0)])
    harness.wait_for(lambda: harness.child("worker:w")["runs"] == 1, what="a run")
    reply = client.request("status")
    assert set(reply) == {"ok", "status"} and reply["ok"] is True
    status = reply["status"]
    assert set(status) == {"phase", "children"} and status["phase"] == "workers"
    assert [c["name"] for c in status["children"]] == ["preflight:p", "worker:w"]
    assert all(set(child) == CHILD_KEYS for child in status["children"])
    assert status == harness.handle.status()


def test_pause_and_resume_through_the_socket_stop_ticking_then_tick_at_once(
    serve: Serve, client: ControlClient, harness: Harness
) -> None:
    work = Recorder(harness)
    serve(workers=[Unit("worker:w", work, 10.0)])
    work.wait_ticks(1)
    assert client.request("pause", "worker:w") == {"ok": True, "names": ["worker:w"]}
    assert harness.child("worker:w")["state"] == "paused"
    harness.advance(100.0)
    assert len(work.ticks) == 1
    assert client.resume("worker:*") == ["worker:w"]
    work.wait_ticks(2)
    assert work.ticks[1][1] == harness.clock.monotonic()  # at once, not at the next slot


def test_run_now_through_the_socket_ticks_at_once(
    serve: Serve, client: ControlClient, harness: Harness
) -> None:
    work = Recorder(harness)
    serve(workers=[Unit("worker:w", work, 10.0)])
    work.wait_ticks(1)
    assert client.request("run-now", "worker:w") == {"ok": True, "names": ["worker:w"]}
    work.wait_ticks(2)
    assert work.ticks[1][1] == work.ticks[0][1]  # no time passed on the clock


def test_restart_through_the_socket_starts_a_fresh_actor(
    serve: Serve, client: ControlClient, harness: Harness
) -> None:
    contexts: list[object] = []

    def work(ctx) -> None:
        contexts.append(ctx)
        harness.poke()

    serve(workers=[Unit("worker:w", work, 10.0)])
    harness.wait_for(lambda: contexts, what="first tick")
    assert client.restart("worker:w") == ["worker:w"]
    harness.wait_event("spawned", "worker:w", count=2)
    harness.wait_for(lambda: len(contexts) == 2, what="the fresh actor's tick")
    assert contexts[1] is not contexts[0]
    assert harness.child("worker:w")["restarts"] == 1


def test_a_pattern_answers_with_every_matching_name(
    serve: Serve, client: ControlClient, harness: Harness
) -> None:
    serve(workers=[Unit(f"worker:poller:{n}", noop, 10.0) for n in ("a/b", "c/d")])
    harness.wait_for(lambda: harness.child("worker:poller:c/d")["runs"], what="ticks")
    assert client.pause("worker:poller:*") == ["worker:poller:a/b", "worker:poller:c/d"]


def test_an_unknown_name_is_an_error_answer_and_the_runtime_keeps_working(
    serve: Serve, client: ControlClient, harness: Harness
) -> None:
    work = Recorder(harness)
    serve(workers=[Unit("worker:w", work, 10.0)])
    work.wait_ticks(1)
    for command in ("pause", "resume", "run-now", "restart"):
        reply = client.request(command, "worker:nope*")
        assert reply == {"ok": False, "error": "no child matches 'worker:nope*'"}
    with pytest.raises(ControlError, match="no child matches"):
        client.pause("nope")
    harness.advance(10.0)
    work.wait_ticks(2)
    assert harness.child("worker:w")["state"] == "idle"


BAD_LINES = [
    (b"status\n", "request is not JSON"),
    (b"[1, 2]\n", "a request must be a JSON object"),
    (b'{"command": "reboot"}\n', "invalid request: command: must be one of"),
    (b'{"command": "pause"}\n', "invalid request: name: required by 'pause'"),
    (b'{"command": "stop", "name": "worker:w"}\n', "name: not accepted by 'stop'"),
    (b'{"command": "status", "extra": 1}\n', "invalid request: extra: not accepted by 'status'"),
    (b'{"command": "\xff"}\n', "request is not UTF-8 text"),
    (b"[" * 50_000 + b"\n", "request is nested too deeply"),
]


@pytest.mark.parametrize(("raw", "error"), BAD_LINES, ids=[e[:40] for _, e in BAD_LINES])
def test_a_malformed_request_gets_an_error_and_leaves_the_runtime_untouched(
    serve: Serve, client: ControlClient, harness: Harness, raw: bytes, error: str
) -> None:
    serve(workers=[Unit("worker:w", noop, 10.0)])
    harness.wait_for(lambda: harness.child("worker:w")["runs"] == 1, what="a run")
    before = harness.handle.status()
    events = len(harness.events)
    reply = client.send_line(raw)
    assert reply["ok"] is False and error in reply["error"]
    assert client.status() == before  # same connection, still usable
    assert len(harness.events) == events and harness.handle.result is None


def test_an_oversized_request_is_refused_and_the_connection_stays_usable(
    serve: Serve, sock_path: Path
) -> None:
    serve(workers=[Unit("worker:w", noop, 10.0)])
    huge = b'{"command": "pause", "name": "' + b"x" * (3 * MAX_LINE) + b'"}\n'
    answers = raw_exchange(sock_path, huge + b'{"command": "status"}\n', answers=2)
    assert answers[0] == (
        b'{"ok":false,"error":"request too long: at most %d bytes per line"}\n' % MAX_LINE
    )
    assert answers[1].startswith(b'{"ok":true,"status":')


def test_requests_on_one_connection_are_answered_in_order_and_blank_lines_skipped(
    serve: Serve, sock_path: Path
) -> None:
    serve(workers=[Unit("worker:w", noop, 10.0)])
    payload = b'{"command": "pause", "name": "nope"}\n\n  \n{"command": "status"}\r\n'
    first, second = raw_exchange(sock_path, payload, answers=2)
    assert b"no child matches" in first
    assert second.startswith(b'{"ok":true,"status":')


def test_secrets_are_masked_in_answers(
    serve: Serve, client: ControlClient, harness: Harness
) -> None:
    def leaky(ctx) -> None:
        raise RuntimeError('token s3cr"t leaked')

    serve(secrets=('s3cr"t',), workers=[Unit("worker:w", leaky, 10.0)])
    harness.wait_for(lambda: harness.child("worker:w")["failures"], what="a failure")
    assert harness.child("worker:w")["last_error"] == 'RuntimeError: token s3cr"t leaked'
    record = client.status()["children"][0]
    assert record["last_error"] == "RuntimeError: token *** leaked"


# -- the socket file ---------------------------------------------------------


def test_the_socket_is_created_with_mode_0600_and_no_staging_left_behind(
    serve: Serve, sock_path: Path
) -> None:
    serve()
    mode = os.stat(sock_path).st_mode
    assert stat.S_ISSOCK(mode)
    assert stat.S_IMODE(mode) == 0o600
    assert os.listdir(sock_path.parent) == [sock_path.name]


def test_a_stale_socket_from_a_dead_daemon_is_replaced(
    serve: Serve, client: ControlClient, sock_path: Path
) -> None:
    dead_socket_file(sock_path)
    serve()
    assert client.status()["phase"] == "workers"


def test_a_live_daemons_socket_is_not_stolen(
    serve: Serve, client: ControlClient, sock_path: Path
) -> None:
    serve()
    inode = os.stat(sock_path).st_ino
    other = start_runtime([], [])
    try:
        with pytest.raises(SocketInUseError, match="another autosolve daemon is running"):
            ControlServer(other, sock_path).start()
    finally:
        other.stop(timeout=5.0)
    assert os.stat(sock_path).st_ino == inode
    assert client.status()["phase"] == "workers"


def test_a_file_that_is_not_a_socket_is_left_alone(harness: Harness, sock_path: Path) -> None:
    sock_path.write_text("precious")
    with pytest.raises(ControlSocketError, match="exists and is not a socket"):
        ControlServer(harness.start(), sock_path).start()
    assert sock_path.read_text() == "precious"


def test_a_socket_path_too_long_is_a_clear_error(harness: Harness, sock_dir: Path) -> None:
    path = sock_dir / ("x" * 120)
    with pytest.raises(ControlSocketError, match="too long for a Unix socket path"):
        ControlServer(harness.start(), path).start()
    assert os.listdir(sock_dir) == []


def test_a_missing_directory_is_a_clear_error(harness: Harness, sock_dir: Path) -> None:
    path = sock_dir / "missing" / "control.sock"
    with pytest.raises(ControlSocketError, match=f"directory {path.parent} does not exist"):
        ControlServer(harness.start(), path).start()


def test_close_removes_the_socket_and_hangs_up_on_clients(
    serve: Serve, client: ControlClient, sock_path: Path
) -> None:
    server = serve()
    client.status()
    server.close()
    assert not sock_path.exists()
    assert client.wait_closed(timeout=5.0)
    server.close()  # idempotent


def test_close_leaves_a_successors_socket_alone(serve: Serve, sock_path: Path) -> None:
    server = serve()
    sock_path.unlink()  # an operator removed it and another daemon took the path
    dead_socket_file(sock_path)
    server.close()
    assert sock_path.exists()


# -- stopping ----------------------------------------------------------------


def test_stop_through_the_socket_ends_the_run_gracefully(
    serve: Serve, client: ControlClient, harness: Harness
) -> None:
    serve(workers=[Unit("worker:w", noop, 10.0)])
    assert client.request("stop") == {"ok": True, "names": []}
    result = harness.handle.wait(timeout=5.0)
    assert result is not None and result.ok


def test_after_the_run_ended_status_is_final_and_controls_are_refused(
    serve: Serve, client: ControlClient, harness: Harness
) -> None:
    serve(workers=[Unit("worker:w", noop, 10.0)])
    harness.handle.stop(timeout=5.0)
    assert client.status()["phase"] == "stopped"
    assert client.request("pause", "worker:w") == {
        "ok": False,
        "error": "the runtime is stopped",
    }
    assert client.request("stop") == {"ok": True, "names": []}


# -- concurrency -------------------------------------------------------------


def test_an_idle_or_half_written_connection_does_not_block_other_clients(
    serve: Serve, sock_path: Path
) -> None:
    serve(workers=[Unit("worker:w", noop, 10.0)])
    with socket.socket(socket.AF_UNIX) as idle, socket.socket(socket.AF_UNIX) as half:
        idle.connect(str(sock_path))
        half.connect(str(sock_path))
        half.sendall(b'{"command": "sta')
        for _ in range(3):
            with ControlClient(sock_path, timeout=5.0) as other:
                assert other.status()["phase"] == "workers"
        half.sendall(b'tus"}\n')
        assert half.makefile("rb").readline().startswith(b'{"ok":true')


@pytest.fixture
def ticking(sock_path: Path):
    """A runtime on the real clock whose worker ticks every 5 ms, served on the socket."""
    ticks = []
    handle = start_runtime([], [Unit("worker:fast", ticks.append, 0.005)], clock=SystemClock())
    server = ControlServer(handle, sock_path).start()
    yield handle, ticks
    server.close()
    handle.stop(timeout=5.0)


def test_a_thousand_pipelined_requests_are_answered_while_workers_keep_ticking(
    ticking, sock_path: Path
) -> None:
    _handle, ticks = ticking
    before = len(ticks)
    requests = [b'{"command": "status"}\n', b'{"command": "run-now", "name": "worker:*"}\n']
    answers = raw_exchange(sock_path, b"".join(requests * 500), answers=1000)
    assert all(a.startswith(b'{"ok":true') for a in answers)
    assert len(ticks) > before


def test_a_thousand_requests_from_concurrent_clients_are_all_answered(
    ticking, sock_path: Path
) -> None:
    _handle, ticks = ticking
    before = len(ticks)
    failures: list[object] = []

    def burst() -> None:
        try:
            with ControlClient(sock_path, timeout=10.0) as client:
                for _ in range(100):
                    assert client.status()["phase"] == "workers"
        except Exception as error:  # reported below, not swallowed by the thread
            failures.append(error)

    threads = [threading.Thread(target=burst) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30.0)
    assert failures == [] and not any(t.is_alive() for t in threads)
    assert len(ticks) > before


# -- no client can hurt the server ---------------------------------------------------


def served(harness: Harness, sock_path: Path, **options: object) -> ControlServer:
    return ControlServer(
        harness.start(workers=[Unit("worker:w", noop, 10.0)]), sock_path, **options
    )


def hung_up_on(sock: socket.socket, timeout: float = 10.0) -> bytes:
    """Everything the server sends until it closes the connection."""
    sock.settimeout(timeout)
    received = b""
    while chunk := sock.recv(4096):
        received += chunk
    return received


@pytest.mark.parametrize("silence", [b"", b'{"command": "sta'], ids=["silent", "half-a-line"])
def test_an_idle_connection_is_closed_after_the_idle_timeout_and_logged(
    harness: Harness, sock_path: Path, silence: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="autosolve.control")
    with served(harness, sock_path, idle_timeout=0.2), socket.socket(socket.AF_UNIX) as idle:
        idle.connect(str(sock_path))
        idle.sendall(silence)
        assert hung_up_on(idle) == b""
        with ControlClient(sock_path, timeout=5.0) as other:  # the server itself goes on
            assert other.status()["phase"] == "workers"
    assert any("idle for 0.2 s" in r.getMessage() for r in caplog.records)


def test_the_idle_timeout_is_30_seconds_by_default(harness: Harness, sock_path: Path) -> None:
    server = served(harness, sock_path)
    assert server.idle_timeout == 30.0


def test_connections_beyond_the_limit_are_refused_with_a_clear_answer(
    harness: Harness, sock_path: Path
) -> None:
    with served(harness, sock_path, max_connections=2) as server:
        held = [ControlClient(sock_path, timeout=5.0) for _ in range(2)]
        for client in held:
            assert client.status()["phase"] == "workers"  # served: counted as open
        with socket.socket(socket.AF_UNIX) as extra:
            extra.connect(str(sock_path))
            refusal = hung_up_on(extra)
        assert json.loads(refusal) == {
            "ok": False,
            "error": "too many control connections (2 open); try again later",
        }
        held[0].close()
        harness.wait_for(lambda: len(server._connections) < 2, what="the slot to free")
        with ControlClient(sock_path, timeout=5.0) as again:
            assert again.status()["phase"] == "workers"
        held[1].close()


def test_the_limits_and_backlog_have_bounded_defaults(harness: Harness, sock_path: Path) -> None:
    with served(harness, sock_path) as server:
        assert server.max_connections == 64
        assert server.max_per_user == 16
        assert server._backlog == 16


class BlankLines:
    """Clients that send a blank line every ``period`` seconds, as the attack did."""

    def __init__(self, path: Path, clients: int, period: float = 0.05) -> None:
        self.sockets = []
        for _ in range(clients):
            sock = socket.socket(socket.AF_UNIX)
            sock.connect(str(path))
            self.sockets.append(sock)
        self._period = period
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._send, daemon=True)
        self._thread.start()

    def _send(self) -> None:
        while not self._stop.wait(self._period):  # the attack's pace, not a wait for a result
            for sock in self.sockets:
                with contextlib.suppress(OSError):  # hung up on: the server did its job
                    sock.send(b"\n")

    def served(self) -> int:
        """How many are held open: nothing to read (a refusal, or the end, would be)."""
        held = 0
        for sock in self.sockets:
            try:
                sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
            except BlockingIOError:
                held += 1
            except OSError:
                pass
        return held

    def __enter__(self) -> BlankLines:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5.0)
        for sock in self.sockets:
            sock.close()


def test_blank_lines_do_not_keep_a_connection_open_past_the_idle_timeout(
    harness: Harness, sock_path: Path
) -> None:
    with served(harness, sock_path, idle_timeout=0.3) as server, BlankLines(sock_path, 1):
        harness.wait_for(lambda: not server._connections, what="the hang-up")


def test_64_clients_sending_blank_lines_cannot_hold_the_socket_shut(
    harness: Harness, sock_path: Path
) -> None:
    with (
        served(harness, sock_path, idle_timeout=0.5) as server,
        BlankLines(sock_path, 64) as attack,
    ):
        harness.wait_for(lambda: attack.served() == server.max_per_user, what="refusals")
        with pytest.raises(ControlError, match=r"^too many control connections from uid \d+ "):
            ControlClient(sock_path, timeout=5.0).status()  # refused, and told why
        harness.wait_for(lambda: not server._connections, timeout=10, what="idle closes")
        with ControlClient(sock_path, timeout=5.0) as operator:
            assert operator.status()["phase"] == "workers"


def test_one_user_is_served_at_most_max_per_user_connections(
    harness: Harness, sock_path: Path
) -> None:
    with served(harness, sock_path, max_per_user=3) as server:
        held = [ControlClient(sock_path, timeout=5.0) for _ in range(3)]
        for client in held:
            assert client.status()["phase"] == "workers"
        uid = os.geteuid()
        for _ in range(20):  # refused before or after it wrote: the same clear answer
            refused = ControlClient(sock_path, timeout=5.0).request("status")
            assert refused == {
                "ok": False,
                "error": f"too many control connections from uid {uid} (3 open); try again later",
            }
        held[0].close()
        harness.wait_for(lambda: len(server._connections) < 3, what="the slot to free")
        assert ControlClient(sock_path, timeout=5.0).status()["phase"] == "workers"
        for client in held[1:]:
            client.close()


def test_a_failing_connection_is_logged_not_printed_and_others_are_served(
    harness: Harness,
    sock_path: Path,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = served(harness, sock_path)

    def broken(line: bytes) -> dict[str, object]:
        if b"boom" in line:
            raise RuntimeError("a bug in answering")
        return ControlServer.answer_line(server, line)

    server.answer_line = broken  # type: ignore[method-assign]
    with server, socket.socket(socket.AF_UNIX) as victim:
        victim.connect(str(sock_path))
        victim.sendall(b'{"command": "boom"}\n')
        assert hung_up_on(victim) == b""  # this connection ends...
        with ControlClient(sock_path, timeout=5.0) as other:  # ...the server does not
            assert other.status()["phase"] == "workers"
    failures = [r for r in caplog.records if r.getMessage() == "control: a connection failed"]
    assert len(failures) == 1 and "a bug in answering" in str(failures[0].exc_info[1])
    assert "Traceback" not in capfd.readouterr().err
