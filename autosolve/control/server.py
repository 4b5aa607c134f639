"""The control server: a daemon's Unix socket, answering the control protocol.

One loop accepts connections; each connection gets its own loop (a thread,
or a greenlet on the gevent backend) that reads request lines and answers
them in order. Answers come from a :class:`CommandTable` (by default the
runtime's own commands, which ask the supervisor's mailbox), so the server
never touches runtime state itself and a slow or hostile client only ever
blocks its own connection.

What a client can do to the server is bounded: a line is at most
:data:`MAX_LINE` bytes, a connection idle for ``idle_timeout`` seconds is
closed, at most ``max_connections`` are served at once (the next one is told
so and closed), the listen backlog is ``backlog``. A connection's failure
ends that connection only, and is logged.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import socket as stdlib_socket
import threading
from collections.abc import Iterable
from types import ModuleType
from typing import TYPE_CHECKING, Any, BinaryIO, Self

from autosolve.control.commands import CommandTable, runtime_commands
from autosolve.control.protocol import (
    MAX_LINE,
    ProtocolError,
    encode,
    error_reply,
    parse_request,
)
from autosolve.control.socket_file import bind_private_socket, remove_socket_file
from autosolve.masking import Masker
from autosolve.runtime import Backend

if TYPE_CHECKING:
    from autosolve.runtime import RuntimeHandle

__all__ = ["ControlServer"]

logger = logging.getLogger("autosolve.control")

IDLE_TIMEOUT = 30.0
"""Seconds a connection may stay silent (or half-way through a line) before it is closed."""

MAX_CONNECTIONS = 64
"""Connections served at once; operators need one or two, a runaway script more."""

BACKLOG = 16
"""Connections the kernel queues before ``accept``; more are refused by the kernel."""


class ControlServer:
    """Serves the control protocol for ``handle`` on the Unix socket ``path``.

    The socket is created with mode 0600 (see :mod:`.socket_file`) by
    :meth:`start` and removed by :meth:`close`; use it as a context manager to
    get both. Requests are answered by ``commands`` (default: the runtime's
    own, see :func:`runtime_commands`). ``secrets`` are masked in every
    answer, as in the logs.

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
        idle_timeout: float | None = IDLE_TIMEOUT,
    ) -> None:
        self.handle = handle
        """The runtime served; its backend runs the server's loops."""
        self.path = os.fspath(path)
        """Where the socket lives."""
        self.commands = commands if commands is not None else CommandTable(runtime_commands(handle))
        """What answers the requests."""
        self.idle_timeout = idle_timeout
        """Seconds of silence after which a connection is closed (None: never)."""
        self.max_connections = max_connections
        """Connections served at once; one more is refused with an error line."""
        self._masker = Masker(secrets)
        self._backlog = backlog
        self._socket_module = _socket_module(handle.backend.name)
        self._lock = threading.Lock()
        self._listener: Any = None
        self._identity: tuple[int, int] | None = None
        self._connections: set[Any] = set()
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
        """Decode and answer one request line; never raises."""
        try:
            document = parse_request(line)
        except ProtocolError as error:
            return error_reply(str(error))
        return self.commands.answer(document)

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
            with self._lock:
                if self._closing.is_set():
                    _hang_up(connection)
                    return
                full = len(self._connections) >= self.max_connections
                if not full:
                    self._connections.add(connection)
            if full:
                self._refuse(
                    connection, f"too many control connections ({self.max_connections} open)"
                )
                continue
            try:
                self.handle.backend.spawn_loop(
                    functools.partial(self._serve, connection), "control-connection"
                )
            except Exception:  # e.g. no thread can be started: refuse this one, keep accepting
                logger.exception("control: cannot serve a connection")
                with self._lock:
                    self._connections.discard(connection)
                self._refuse(connection, "the daemon cannot serve a connection now")

    def _refuse(self, connection: Any, reason: str) -> None:
        """Tell a client why it is not served, without waiting on it, and hang up."""
        logger.warning("control: refused a connection: %s", reason)
        with contextlib.suppress(OSError):
            connection.setblocking(False)
            connection.send(encode(error_reply(f"{reason}; try again later")))
        _hang_up(connection)

    def _serve(self, connection: Any) -> None:
        try:
            connection.settimeout(self.idle_timeout)
            reader = connection.makefile("rb")
            try:
                self._answer_lines(connection, reader)
            finally:
                reader.close()
        except TimeoutError:
            logger.info("control: closed a connection idle for %g s", self.idle_timeout)
        except OSError:
            pass  # the client went away, or close() hung up on it
        except Exception:  # a bug: this connection ends, the daemon does not
            logger.exception("control: a connection failed")
        finally:
            with self._lock:
                self._connections.discard(connection)
            _hang_up(connection)

    def _answer_lines(self, connection: Any, reader: BinaryIO) -> None:
        while not self._closing.is_set():
            line = reader.readline(MAX_LINE + 2)  # room for "\r\n"
            if not line:
                return
            if len(line.rstrip(b"\r\n")) > MAX_LINE:
                if not line.endswith(b"\n"):
                    _discard_rest_of_line(reader)
                reply = error_reply(f"request too long: at most {MAX_LINE} bytes per line")
            elif not line.strip():
                continue  # a blank line is not a request
            else:
                reply = self.answer_line(line)
            connection.sendall(encode(self._masker.mask_document(reply)))


def _discard_rest_of_line(reader: BinaryIO) -> None:
    while True:
        chunk = reader.readline(MAX_LINE)
        if not chunk or chunk.endswith(b"\n"):
            return


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
