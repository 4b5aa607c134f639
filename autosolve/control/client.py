"""Talking to a running daemon: :class:`ControlClient`."""

from __future__ import annotations

import os
import select
import socket
from collections.abc import Sequence
from typing import Any, Self

from autosolve.control.protocol import decode_reply, encode
from autosolve.runtime import ControlError

__all__ = ["ControlClient", "ControlError", "DaemonHungUp", "DaemonUnavailable"]


_REFUSAL_SIZE = 4096
"""Bytes read for the line a refusing daemon writes before it hangs up (far fewer)."""


class DaemonUnavailable(ConnectionError):
    """No daemon listens on the control socket (or it went away mid-request)."""

    def __init__(self, message: str, *, nobody_listens: bool = False) -> None:
        super().__init__(message)
        self.nobody_listens = nobody_listens
        """True when nothing listens on the path at all (no socket there, or a dead daemon's)."""


class DaemonHungUp(DaemonUnavailable):
    """The daemon took the request, then closed the connection without answering.

    After a ``stop`` that is success, not failure: a daemon with little to
    stop may exit before its answer is written.
    """


class ControlClient:
    """A connection to a daemon's control socket, with :class:`RuntimeHandle`'s helpers.

    ``status()``, ``pause()``, ``resume()``, ``run_now()``, ``restart()`` and
    ``stop()`` behave like the handle's, so code (and fingers in the REPL)
    work the same against an in-process runtime and a daemon. The connection
    is opened on first use and reopened after the daemon hung up (it closes
    connections idle for a while, and restarts), so a long-lived client (the
    ``repl --attach`` console) never sees those hang-ups: before each
    request, a connection the daemon has closed meanwhile is replaced.

    Raises (from every request):
        DaemonUnavailable: nothing listens on ``path``.
        ControlError: the daemon refused the request (e.g. no child matches).
    """

    def __init__(self, path: str | os.PathLike[str], timeout: float | None = 30.0) -> None:
        self.path = os.fspath(path)
        """The control socket."""
        self.timeout = timeout
        """Seconds to wait for an answer."""
        self._socket: socket.socket | None = None
        self._reader: Any = None

    # -- connection ------------------------------------------------------------

    def connect(self) -> Self:
        """Open the connection now (it is opened on first use anyway)."""
        if self._socket is None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(self.timeout)
            try:
                sock.connect(self.path)
            except (FileNotFoundError, ConnectionRefusedError):
                sock.close()
                raise DaemonUnavailable(
                    f"no daemon listens on {self.path} (is autosolve-supervisor running?)",
                    nobody_listens=True,
                ) from None
            except (TimeoutError, BlockingIOError):
                sock.close()
                raise DaemonUnavailable(
                    f"the daemon on {self.path} accepts no more connections now "
                    "(too many clients waiting); try again later"
                ) from None
            except OSError as error:
                sock.close()
                raise DaemonUnavailable(f"cannot connect to {self.path}: {error}") from None
            self._socket, self._reader = sock, sock.makefile("rb")
        return self

    def close(self) -> None:
        if self._socket is not None:
            self._reader.close()
            self._socket.close()
            self._socket = self._reader = None

    def __enter__(self) -> Self:
        return self.connect()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- requests --------------------------------------------------------------

    def request(self, command: str, name: str | None = None, **arguments: Any) -> dict[str, Any]:
        """Send one request and return the daemon's answer as is (``ok`` true or false).

        ``name`` and ``arguments`` become the request's keys, e.g.
        ``request("pause", "worker:*")`` or ``request("explain", issue="octo/hello#12")``.
        """
        document: dict[str, Any] = {"command": command}
        if name is not None:
            document["name"] = name
        document.update(arguments)
        return self.send_line(encode(document))

    def send_line(self, line: bytes) -> dict[str, Any]:
        """Send one raw line (newline included) and read the answer; for tests and tools."""
        self._drop_if_hung_up()
        self.connect()
        assert self._socket is not None
        try:
            self._socket.sendall(line)
        except OSError as error:  # it hung up first: maybe after saying why
            return self._refusal(error)
        try:
            answer = self._reader.readline()
        except TimeoutError:
            self.close()
            raise DaemonUnavailable(
                f"the daemon on {self.path} did not answer within {self.timeout:g} s"
            ) from None
        except OSError as error:
            self.close()
            raise DaemonHungUp(f"the daemon on {self.path} went away: {error}") from None
        if not answer.endswith(b"\n"):
            self.close()
            raise DaemonHungUp(f"the daemon on {self.path} closed the connection")
        return decode_reply(answer)

    def _drop_if_hung_up(self) -> None:
        """Close a connection the daemon has ended since the last answer.

        Between requests the daemon sends nothing, so anything readable then
        is its end: the hang-up of an idle connection, or a refusal (too
        many connections) it wrote before hanging up. Either way the
        request goes on a new connection.
        """
        if self._socket is None:
            return
        readable, _, _ = select.select([self._socket], [], [], 0)
        if readable:
            self.close()

    def _refusal(self, error: OSError) -> dict[str, Any]:
        """The answer the daemon wrote before it hung up (``too many connections``), if any.

        Raises:
            DaemonHungUp: it hung up without a word.
        """
        assert self._socket is not None
        sock = self._socket
        try:
            sock.setblocking(False)
            left = sock.recv(_REFUSAL_SIZE)
        except OSError:
            left = b""
        finally:
            self.close()
        if left.endswith(b"\n"):
            return decode_reply(left.splitlines()[0])
        raise DaemonHungUp(f"the daemon on {self.path} went away: {error}") from None

    def status(self, **paging: Any) -> dict[str, Any]:
        """The status document (as ``ctl status --json`` prints it); with any of
        ``state``, ``pattern``, ``offset``, ``limit``, a page of it (see
        ``RuntimeHandle.status``)."""
        status: dict[str, Any] = self.call("status", **paging)["status"]
        return status

    def control(self, command: str, name: str) -> list[str]:
        """``pause``/``resume``/``run-now``/``restart`` (``run_now`` works too)."""
        names: list[str] = self.call(command.replace("_", "-"), name=name)["names"]
        return names

    def pause(self, name: str) -> list[str]:
        return self.control("pause", name)

    def resume(self, name: str) -> list[str]:
        return self.control("resume", name)

    def run_now(self, name: str) -> list[str]:
        return self.control("run-now", name)

    def restart(self, name: str) -> list[str]:
        return self.control("restart", name)

    def stop_children(self, names: str | Sequence[str]) -> list[str]:
        """Stop the matching children and keep them stopped (``ctl stop NAME``)."""
        stopped: list[str] = self.call("stop", names=_patterns(names))["names"]
        return stopped

    def start_children(self, names: str | Sequence[str]) -> list[str]:
        """Start the matching stopped children again (``ctl start NAME``)."""
        started: list[str] = self.call("start", names=_patterns(names))["names"]
        return started

    def logs(self, name: str | None = None, lines: int = 20, after: int = 0) -> dict[str, Any]:
        """The latest log records of the children matching ``name`` (None: of the daemon).

        Returns ``{"records": [{"seq", "child", "text"}...], "last": N}``; ask
        again with ``after=last`` for the records written since.
        """
        arguments: dict[str, Any] = {"lines": lines, "after": after}
        if name is not None:
            arguments["name"] = name
        reply = self.call("logs", **arguments)
        return {"records": reply["records"], "last": reply["last"]}

    def stop(self, wait: bool = False, timeout: float | None = None) -> bool:
        """Ask the daemon to stop; with ``wait``, also wait until it has.

        Returns True once the daemon hung up (with ``wait``), else True at once.
        A daemon that hangs up instead of answering has stopped: that is success.
        """
        try:
            self.call("stop")
        except DaemonHungUp:
            return True
        return self.wait_closed(timeout) if wait else True

    def wait_closed(self, timeout: float | None = None) -> bool:
        """Wait until the daemon hangs up (it does when it exits); False on timeout."""
        if self._socket is None:
            return True
        self._socket.settimeout(timeout)
        try:
            while self._socket.recv(4096):
                pass
        except TimeoutError:
            return False
        except OSError:
            pass
        finally:
            self.close()
        return True

    def call(self, command: str, **arguments: Any) -> dict[str, Any]:
        """Send one request and return its answer; a refusal raises :class:`ControlError`."""
        reply = self.request(command, **arguments)
        if not reply["ok"]:
            raise ControlError(reply.get("error", "refused"))
        return reply


def _patterns(names: str | Sequence[str]) -> list[str]:
    return [names] if isinstance(names, str) else list(names)
