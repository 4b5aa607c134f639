"""The control server: a daemon's Unix socket, answering the control protocol.

One loop accepts connections; each connection gets its own loop (a thread,
or a greenlet on the gevent backend) that reads request lines and answers
them in order. Answers come from a :class:`CommandTable` (by default the
runtime's own commands, which ask the supervisor's mailbox), so the server
never touches runtime state itself and a slow or hostile client only ever
blocks its own connection.

What a client can do to the server is bounded: a line is at most
:data:`MAX_LINE` bytes; a connection that sends no request for
``idle_timeout`` seconds is closed (blank lines and half-written lines are
not requests: trickling them keeps nothing open); at most
``max_connections`` are served at once, and at most ``max_per_user`` for
one user (the peer's uid, from ``SO_PEERCRED``): the next one is told so in
an answer line and closed; the listen backlog is ``backlog``. A
connection's failure ends that connection only, and is logged.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import socket as stdlib_socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Iterable
from types import ModuleType
from typing import TYPE_CHECKING, Any, Self

from autosolve.control.commands import CommandTable, runtime_commands
from autosolve.control.protocol import (
    MAX_LINE,
    ProtocolError,
    encode,
    error_reply,
    parse_request,
)
from autosolve.control.socket_file import bind_private_socket, remove_socket_file
from autosolve.masking import Secrets
from autosolve.runtime import Backend

if TYPE_CHECKING:
    from autosolve.runtime import RuntimeHandle

__all__ = ["ControlServer"]

logger = logging.getLogger("autosolve.control")

IDLE_TIMEOUT = 30.0
"""Seconds a connection may stay silent (or half-way through a line) before it is closed."""

MAX_CONNECTIONS = 64
"""Connections served at once; operators need one or two, a runaway script more."""

MAX_PER_USER = 16
"""Connections one user (uid) is served at once: the socket is the daemon user's (0600),
so this bounds a runaway script of that user (or root), not strangers."""

_READ_SIZE = 65536

BACKLOG = 16
"""Connections the kernel queues before ``accept``; more are refused by the kernel."""


class ControlServer:
    """Serves the control protocol for ``handle`` on the Unix socket ``path``.

    The socket is created with mode 0600 (see :mod:`.socket_file`) by
    :meth:`start` and removed by :meth:`close`; use it as a context manager to
    get both. Requests are answered by ``commands`` (default: the runtime's
    own, see :func:`runtime_commands`). Every answer is masked with the
    command table's :class:`~autosolve.masking.Secrets` (``secrets`` are added
    to them), as the logs are.

    Raises (from :meth:`start`):
        SocketInUseError: a live daemon already listens on ``path``.
        ControlSocketError, OSError: the path cannot be used.
    """

    def __init__(
        self,
        handle: RuntimeHandle,
        path: str | os.PathLike[str],
        *,
        commands: CommandTable | None = None,
        secrets: Iterable[str] = (),
        backlog: int = BACKLOG,
        max_connections: int = MAX_CONNECTIONS,
        max_per_user: int = MAX_PER_USER,
        idle_timeout: float | None = IDLE_TIMEOUT,
    ) -> None:
        self.handle = handle
        """The runtime served; its backend runs the server's loops."""
        self.path = os.fspath(path)
        """Where the socket lives."""
        self.commands = commands if commands is not None else CommandTable(runtime_commands(handle))
        """What answers the requests."""
        self.commands.secrets.add(secrets)
        self.idle_timeout = idle_timeout
        """Seconds without a request after which a connection is closed (None: never)."""
        self.max_connections = max_connections
        """Connections served at once; one more is refused with an error line."""
        self.max_per_user = max_per_user
        """Connections served at once for one user (uid); one more is refused likewise."""
        self._secrets: Secrets = self.commands.secrets
        self._backlog = backlog
        self._socket_module = _socket_module(handle.backend.name)
        self._lock = threading.Lock()
        self._listener: Any = None
        self._identity: tuple[int, int] | None = None
        self._connections: dict[Any, int | None] = {}
        """Served connections and their peer's uid."""
        self._per_user: Counter[int | None] = Counter()
        self._closing = handle.backend.make_event()

    # -- lifecycle -------------------------------------------------------------

    def start(self) -> Self:
        """Create the socket and start accepting; returns at once."""
        if self._listener is not None or self.closed:
            raise RuntimeError("a ControlServer starts once")
        listener, identity = bind_private_socket(
            self.path, backlog=self._backlog, socket_module=self._socket_module
        )
        with self._lock:
            self._listener, self._identity = listener, identity
        self.handle.backend.spawn_loop(self._accept_loop, "control-accept")
        logger.info("control socket listening on %s", self.path)
        return self

    def close(self) -> None:
        """Stop accepting, hang up on clients and remove the socket file. Idempotent."""
        with self._lock:
            if self.closed:
                return
            self._closing.set()
            listener, identity = self._listener, self._identity
            connections = list(self._connections)
        if identity is not None:
            self._remove_socket_file(identity)  # first: no newcomers from here on
        if listener is not None:
            _hang_up(listener)
        for connection in connections:
            _hang_up(connection)

    def remove_socket(self) -> None:
        """Remove the socket file only; lock-free, so a signal handler may call it."""
        identity = self._identity
        if identity is not None:
            with contextlib.suppress(OSError):
                remove_socket_file(self.path, identity)

    def _remove_socket_file(self, identity: tuple[int, int]) -> None:
        try:
            remove_socket_file(self.path, identity)
        except OSError as error:  # e.g. its directory became read-only: nothing to lose
            logger.error(
                "cannot remove the control socket %s: %s; the next start replaces it",
                self.path,
                error.strerror or error,
            )

    @property
    def closed(self) -> bool:
        return self._closing.is_set()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- answering -------------------------------------------------------------

    def answer_line(self, line: bytes) -> dict[str, Any]:
        """Decode and answer one request line, masked; never raises."""
        try:
            document = parse_request(line)
        except ProtocolError as error:
            masked: dict[str, Any] = self._secrets.mask_document(error_reply(str(error)))
            return masked
        return self.commands.answer(document)  # masked by the command table

    # -- serving ---------------------------------------------------------------

    def _accept_loop(self) -> None:
        listener = self._listener
        while not self._closing.is_set():
            try:
                connection, _ = listener.accept()
            except OSError:
                if self._closing.is_set():
                    return
                logger.exception("control: accept failed")
                self._closing.wait(0.1)  # e.g. out of file descriptors: don't spin
                continue
            if not self._admit(connection):
                continue
            try:
                self.handle.backend.spawn_loop(
                    functools.partial(self._serve, connection), "control-connection"
                )
            except Exception:  # e.g. no thread can be started: refuse this one, keep accepting
                logger.exception("control: cannot serve a connection")
                self._forget(connection)
                self._refuse(connection, "the daemon cannot serve a connection now")

    def _admit(self, connection: Any) -> bool:
        """Count ``connection`` in, or refuse it (closing, or over a limit)."""
        uid = _peer_uid(connection)
        with self._lock:
            if self._closing.is_set():
                _hang_up(connection)
                return False
            refusal = self._over_limit(uid)
            if refusal is None:
                self._connections[connection] = uid
                self._per_user[uid] += 1
        if refusal is not None:
            self._refuse(connection, refusal)
        return refusal is None

    def _over_limit(self, uid: int | None) -> str | None:
        if len(self._connections) >= self.max_connections:
            return f"too many control connections ({self.max_connections} open)"
        if self._per_user[uid] >= self.max_per_user:
            user = "this user" if uid is None else f"uid {uid}"
            return f"too many control connections from {user} ({self.max_per_user} open)"
        return None

    def _forget(self, connection: Any) -> None:
        with self._lock:
            if connection not in self._connections:
                return
            uid = self._connections.pop(connection)
            self._per_user[uid] -= 1
            if self._per_user[uid] <= 0:
                del self._per_user[uid]

    def _refuse(self, connection: Any, reason: str) -> None:
        """Tell a client why it is not served, without waiting on it, and hang up."""
        logger.warning("control: refused a connection: %s", reason)
        with contextlib.suppress(OSError):
            connection.setblocking(False)
            connection.send(encode(error_reply(f"{reason}; try again later")))
        _hang_up(connection)

    def _serve(self, connection: Any) -> None:
        try:
            self._answer_lines(connection, _LineReader(connection, self.idle_timeout))
        except TimeoutError:
            logger.info("control: closed a connection idle for %g s", self.idle_timeout)
        except OSError:
            pass  # the client went away, or close() hung up on it
        except Exception:  # a bug: this connection ends, the daemon does not
            logger.exception("control: a connection failed")
        finally:
            self._forget(connection)
            _hang_up(connection)

    def _answer_lines(self, connection: Any, reader: _LineReader) -> None:
        while not self._closing.is_set():
            line = reader.request()
            if line is None:
                return
            if line is _TOO_LONG:
                reply = error_reply(f"request too long: at most {MAX_LINE} bytes per line")
            else:
                reply = self.answer_line(line)
            connection.sendall(encode(reply))


_TOO_LONG = b"<too long>"
"""What :meth:`_LineReader.request` returns for a line over :data:`MAX_LINE` bytes."""


class _LineReader:
    """Request lines from a connection, each within ``idle_timeout`` of the previous request.

    The deadline only moves when a request line is complete: a blank line,
    or bytes trickled into a line that never ends, count as silence. An
    over-long line is reported once and its rest skipped.
    """

    def __init__(self, connection: Any, idle_timeout: float | None) -> None:
        self._connection = connection
        self._idle_timeout = idle_timeout
        self._buffer = bytearray()
        self._skipping = False

    def request(self) -> bytes | None:
        """The next non-blank request line, :data:`_TOO_LONG`, or None at the end.

        Raises:
            TimeoutError: no request came within the idle timeout.
        """
        deadline = None if self._idle_timeout is None else time.monotonic() + self._idle_timeout
        while True:
            line = self._take_line()
            if line is not None and (line is _TOO_LONG or line.strip()):
                return line
            if line is None and not self._receive(deadline):
                return None

    def _take_line(self) -> bytes | None:
        end = self._buffer.find(b"\n")
        if end < 0:
            if len(self._buffer) <= MAX_LINE + 1:  # room for "\r"
                return None
            self._buffer.clear()
            if self._skipping:
                return None
            self._skipping = True
            return _TOO_LONG
        line = bytes(self._buffer[: end + 1])
        del self._buffer[: end + 1]
        if self._skipping:
            self._skipping = False
            return b""  # the end of a line already refused
        if len(line.rstrip(b"\r\n")) > MAX_LINE:
            return _TOO_LONG
        return line

    def _receive(self, deadline: float | None) -> bool:
        """Read what the client sent; False at its end."""
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            self._connection.settimeout(left)
        chunk = self._connection.recv(_READ_SIZE)
        self._buffer += chunk
        return bool(chunk)


def _peer_uid(connection: Any) -> int | None:
    """The connected process's uid (Linux ``SO_PEERCRED``); None where it cannot be told."""
    option = getattr(stdlib_socket, "SO_PEERCRED", None)
    if option is None:
        return None
    try:
        credentials = connection.getsockopt(stdlib_socket.SOL_SOCKET, option, _UCRED.size)
    except OSError:
        return None
    _pid, uid, _gid = _UCRED.unpack(credentials)
    return int(uid)


_UCRED = struct.Struct("3i")
"""``struct ucred``: pid, uid, gid."""


def _hang_up(sock: Any) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(stdlib_socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()


def _socket_module(backend_name: str) -> ModuleType:
    """Cooperative sockets on the gevent backend, even in a process nobody patched."""
    if backend_name == Backend.GEVENT:
        import gevent.socket

        return gevent.socket
    return stdlib_socket
