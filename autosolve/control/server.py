"""The control server: a daemon's Unix socket, answering the control protocol.

One loop accepts connections; each connection gets its own loop (a thread,
or a greenlet on the gevent backend) that reads request lines and answers
them in order. Answers come from the :class:`RuntimeHandle`, i.e. from the
supervisor's mailbox, so the server never touches runtime state itself and
a slow or hostile client only ever blocks its own connection.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket as stdlib_socket
import threading
from collections.abc import Iterable
from types import ModuleType
from typing import TYPE_CHECKING, Any, BinaryIO, Self

import pykka

from autosolve.control.protocol import (
    MAX_LINE,
    ProtocolError,
    Request,
    encode,
    error_reply,
    parse_request,
)
from autosolve.control.socket_file import bind_private_socket, remove_socket_file
from autosolve.runtime.handle import ControlError

if TYPE_CHECKING:
    from autosolve.runtime.handle import RuntimeHandle

__all__ = ["ControlServer"]

logger = logging.getLogger("autosolve.control")

ANSWER_TIMEOUT = 10.0
"""Seconds to wait for the supervisor's answer before answering with an error."""


class ControlServer:
    """Serves the control protocol for ``handle`` on the Unix socket ``path``.

    The socket is created with mode 0600 (see :mod:`.socket_file`) by
    :meth:`start` and removed by :meth:`close`; use it as a context manager to
    get both. ``secrets`` are masked in every answer, as in the logs.

    Raises (from :meth:`start`):
        SocketInUseError: a live daemon already listens on ``path``.
        ControlSocketError, OSError: the path cannot be used.
    """

    def __init__(
        self,
        handle: RuntimeHandle,
        path: str | os.PathLike[str],
        *,
        secrets: Iterable[str] = (),
        backlog: int = 128,
    ) -> None:
        self.handle = handle
        """The runtime whose supervisor answers the requests."""
        self.path = os.fspath(path)
        """Where the socket lives."""
        self._secrets = [(s.encode(), _json_escaped(s)) for s in secrets if s]
        self._backlog = backlog
        self._socket_module = _socket_module(handle.backend.name)
        self._lock = threading.Lock()
        self._listener: Any = None
        self._identity: tuple[int, int] | None = None
        self._connections: set[Any] = set()
        self._closed = False
        self._closing = handle.backend.make_event()

    # -- lifecycle -------------------------------------------------------------

    def start(self) -> Self:
        """Create the socket and start accepting; returns at once."""
        if self._listener is not None or self._closed:
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
            if self._closed:
                return
            self._closed = True
            self._closing.set()
            listener, identity = self._listener, self._identity
            connections = list(self._connections)
        if identity is not None:
            remove_socket_file(self.path, identity)  # first: no newcomers from here on
        if listener is not None:
            _hang_up(listener)
        for connection in connections:
            _hang_up(connection)

    def remove_socket(self) -> None:
        """Remove the socket file only; lock-free, so a signal handler may call it."""
        identity = self._identity
        if identity is not None:
            remove_socket_file(self.path, identity)

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- answering -------------------------------------------------------------

    def answer(self, request: Request) -> dict[str, Any]:
        """The answer to one valid request; never raises."""
        handle = self.handle
        try:
            if request.command == "status":
                return {"ok": True, "status": handle.status(timeout=ANSWER_TIMEOUT)}
            if request.command == "stop":
                logger.info("control: stop requested")
                if handle.result is None:
                    handle.proxy.stop()  # answered at once; the run ends asynchronously
                return {"ok": True, "names": []}
            assert request.name is not None
            command = request.command.replace("-", "_")
            names = handle.control(command, request.name, timeout=ANSWER_TIMEOUT)
            logger.info("control: %s %s -> %s", request.command, request.name, ", ".join(names))
            return {"ok": True, "names": names}
        except ControlError as error:
            return error_reply(str(error))
        except pykka.ActorDeadError:  # worded as the supervisor words it while it lives
            result = handle.wait(ANSWER_TIMEOUT)
            return error_reply(
                f"the runtime is {'failed' if result and not result.ok else 'stopped'}"
            )
        except pykka.Timeout:
            return error_reply(
                f"the supervisor did not answer within {ANSWER_TIMEOUT:g} s (is it stopping?)"
            )
        except Exception as error:  # an answer, not a dead connection
            logger.exception("control: %s failed", request.command)
            return error_reply(f"internal error: {type(error).__name__}: {error}")

    def answer_line(self, line: bytes) -> dict[str, Any]:
        """Validate and answer one request line."""
        try:
            request = parse_request(line)
        except ProtocolError as error:
            return error_reply(str(error))
        return self.answer(request)

    # -- serving ---------------------------------------------------------------

    def _accept_loop(self) -> None:
        listener = self._listener
        while not self._closed:
            try:
                connection, _ = listener.accept()
            except OSError:
                if self._closed:
                    return
                logger.exception("control: accept failed")
                self._closing.wait(0.1)  # e.g. out of file descriptors: don't spin
                continue
            with self._lock:
                if self._closed:
                    _hang_up(connection)
                    return
                self._connections.add(connection)
            self.handle.backend.spawn_loop(
                lambda c=connection: self._serve(c), "control-connection"
            )

    def _serve(self, connection: Any) -> None:
        reader = connection.makefile("rb")
        try:
            while not self._closed:
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
                connection.sendall(self._mask(encode(reply)))
        except OSError:
            pass  # the client went away, or close() hung up on it
        finally:
            with self._lock:
                self._connections.discard(connection)
            reader.close()
            _hang_up(connection)

    def _mask(self, data: bytes) -> bytes:
        for raw, escaped in self._secrets:
            data = data.replace(raw, b"***")
            if escaped != raw:
                data = data.replace(escaped, b"***")
        return data


def _json_escaped(secret: str) -> bytes:
    """``secret`` as it appears inside a JSON string (quotes and backslashes escaped)."""
    return encode({"": secret})[5:-3]  # {"":"...."}\n


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
    if backend_name == "gevent":
        import gevent.socket

        return gevent.socket
    return stdlib_socket
