"""The threading backend's front door: whole requests in, before a worker thread is spent.

cheroot hands every new connection (and every kept-alive one that becomes
readable) straight to one of its few worker threads, which then waits for
the request: eight idle or trickling clients would hold all eight threads
and silence the endpoint. The :class:`RequestGate` stands in between. On one
thread with a selector it reads each request — line, headers and a body up
to :data:`~autosolve.http.limits.MAX_BODY` — into the connection's buffer,
under the deadlines and limits of :mod:`autosolve.http.limits`, and only a
complete request reaches a worker, which then parses it from memory. A
waiting client costs the gate a buffer and a selector entry, nothing more.

:class:`GatedConnection` is the connection class that makes this possible:
its reader serves what the gate read before it reads the socket again.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
import selectors
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cheroot.makefile import MakeFile, StreamReader
from cheroot.server import HTTPConnection

from autosolve.http.limits import (
    BODY_TIMEOUT,
    HEAD_TIMEOUT,
    MAX_BODY,
    MAX_HEAD,
    ClientLimits,
    early_answer,
    target_problem,
)

__all__ = ["GatedConnection", "RequestGate"]

logger = logging.getLogger("autosolve.http")

_READ_SIZE = 65536
_BUFFER = io.DEFAULT_BUFFER_SIZE
_TICK = 0.5
"""Seconds the gate's selector waits at most: how late a deadline may be noticed."""

_CONTENT_LENGTH = re.compile(rb"^content-length[ \t]*:[ \t]*(\S*)[ \t]*\r?$", re.I | re.M)
_CHUNKED = re.compile(rb"^transfer-encoding[ \t]*:.*chunked", re.I | re.M)


class _Prefetched(io.RawIOBase):
    """A socket's bytes, those the gate already read first."""

    def __init__(self, sock: socket.socket) -> None:
        super().__init__()
        self.sock = sock
        self.pending = bytearray()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.pending:
            count = min(len(buffer), len(self.pending))
            buffer[:count] = self.pending[:count]
            del self.pending[:count]
            return count
        return self.sock.recv_into(buffer)


class _PrefetchReader(StreamReader):
    """cheroot's socket reader (a pure-Python buffered reader), over :class:`_Prefetched`."""

    def __init__(self, sock: socket.socket, mode: str = "rb", bufsize: int = _BUFFER) -> None:
        self.prefetched = _Prefetched(sock)
        super(StreamReader, self).__init__(self.prefetched, bufsize)  # not StreamReader's socket
        self.bytes_read = 0

    def has_data(self) -> bool:
        buffered = super().has_data()  # type: ignore[no-untyped-call]
        return bool(buffered or self.prefetched.pending)

    def unread(self) -> None:
        """Give what the buffer holds back to the raw reader, for the gate to look at.

        After an answer on a kept-alive connection, the buffer may hold the
        start of the next request (a client sends them back to back): the
        gate must see it whole before a worker waits for its rest.
        """
        if StreamReader.has_data(self):  # type: ignore[no-untyped-call]
            # read1 then takes what the buffer holds, never the socket
            self.prefetched.pending[:0] = self.read1(_READ_SIZE)


def _make_file(sock: socket.socket, mode: str = "r", bufsize: int = _BUFFER) -> Any:
    return _PrefetchReader(sock, mode, bufsize) if "r" in mode else MakeFile(sock, mode, bufsize)


class GatedConnection(HTTPConnection):
    """A cheroot connection whose reader starts with what the gate read."""

    gate: RequestGate | None = None
    """Set by the gate: whom to tell when the connection closes."""
    counted_as: str | None = None
    """The address the gate counted the connection under (None: not counted yet)."""

    def __init__(self, server: Any, sock: socket.socket, makefile: Any = None) -> None:
        super().__init__(server, sock, _make_file)

    def unread(self) -> None:
        """See :meth:`_PrefetchReader.unread`."""
        reader: _PrefetchReader = self.rfile
        reader.unread()

    @property
    def pending(self) -> bytearray:
        """The bytes read ahead by the gate, not yet taken by the reader."""
        reader: _PrefetchReader = self.rfile
        return reader.prefetched.pending

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self.gate is not None:
                self.gate.closed(self)


@dataclass
class _Waiting:
    """A connection whose request is still arriving."""

    connection: GatedConnection
    deadline: float
    head_length: int = 0
    """Bytes of request line and headers, once they are all in; 0 before."""
    body_length: int = 0


class RequestGate:
    """Reads whole requests, then hands their connections to ``dispatch`` (a worker).

    Args:
        dispatch: cheroot's own ``process_conn``: queue the connection for a worker.
        limits: the per-address and total connection limits.
        clock: monotonic seconds (tests pass their own).
    """

    def __init__(
        self,
        dispatch: Callable[[GatedConnection], None],
        limits: ClientLimits,
        *,
        head_timeout: float = HEAD_TIMEOUT,
        body_timeout: float = BODY_TIMEOUT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limits = limits
        self._dispatch = dispatch
        self._head_timeout = head_timeout
        self._body_timeout = body_timeout
        self._clock = clock
        self._selector = selectors.DefaultSelector()
        self._lock = threading.Lock()
        self._arrivals: list[GatedConnection] = []
        self._waiting: dict[int, _Waiting] = {}
        self._wake_reader, self._wake_writer = socket.socketpair()
        self._wake_reader.setblocking(False)
        self._wake_writer.setblocking(False)
        self._selector.register(self._wake_reader, selectors.EVENT_READ, None)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="http-gate", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop reading; close the connections still arriving."""
        self._stopping.set()
        self._wake()
        if self._thread.is_alive():
            self._thread.join(timeout)
        for waiting in list(self._waiting.values()):
            self._drop(waiting)
        self._selector.close()
        self._wake_reader.close()
        self._wake_writer.close()

    # -- any thread ---------------------------------------------------------------

    def admit(self, connection: GatedConnection) -> None:
        """Take a new connection, or a kept-alive one with a next request coming."""
        if connection.counted_as is None and not self._count(connection):
            return
        connection.unread()
        with self._lock:
            self._arrivals.append(connection)
        self._wake()

    def closed(self, connection: GatedConnection) -> None:
        """``connection`` was closed (by cheroot or the gate): count it out, once."""
        address, connection.counted_as = connection.counted_as, None
        if address is not None:
            self.limits.release(address)

    def _count(self, connection: GatedConnection) -> bool:
        address = str(connection.remote_addr or "")
        refusal = self.limits.admit(address)
        if refusal is not None:
            logger.warning("http: refused a connection: %s", refusal)
            _answer_and_close(connection, "503 Service Unavailable", refusal)
            return False
        connection.gate, connection.counted_as = self, address
        return True

    def _wake(self) -> None:
        with contextlib.suppress(OSError):
            self._wake_writer.send(b"\0")

    # -- the gate's thread ----------------------------------------------------------

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self._turn()
            except Exception:  # a bug must cost a request, not the endpoint
                logger.exception("http: the request gate failed a turn")

    def _turn(self) -> None:
        for key, _events in self._selector.select(self._wait()):
            if key.data is None:
                self._take_arrivals()
            else:
                self._read(key.data)
        self._expire()

    def _wait(self) -> float:
        if not self._waiting:
            return _TICK
        first = min(waiting.deadline for waiting in self._waiting.values())
        return max(0.0, min(_TICK, first - self._clock()))

    def _take_arrivals(self) -> None:
        with contextlib.suppress(OSError):
            while self._wake_reader.recv(4096):
                pass
        with self._lock:
            arrivals, self._arrivals = self._arrivals, []
        for connection in arrivals:
            waiting = _Waiting(connection, self._clock() + self._head_timeout)
            self._waiting[connection.socket.fileno()] = waiting
            self._selector.register(connection.socket, selectors.EVENT_READ, waiting)
            if connection.pending:  # the start of a request sent right after the last one
                self._progress(waiting)

    def _read(self, waiting: _Waiting) -> None:
        try:
            chunk = waiting.connection.socket.recv(_READ_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            chunk = b""
        if not chunk:
            self._drop(waiting)
            return
        waiting.connection.pending.extend(chunk)
        self._progress(waiting)

    def _progress(self, waiting: _Waiting) -> None:
        """Answer a bad request, hand on a complete one, or keep waiting."""
        pending = waiting.connection.pending
        if not waiting.head_length:
            refusal = self._head(waiting, pending)
            if refusal is not None:
                self._refuse(waiting, *refusal)
                return
        if waiting.head_length and len(pending) >= waiting.head_length + waiting.body_length:
            self._hand_on(waiting)

    def _head(self, waiting: _Waiting, pending: bytearray) -> tuple[str, str] | None:
        """Take the request line and headers once they are in; what is wrong with them."""
        end = pending.find(b"\r\n\r\n")
        if end < 0:
            too_long = len(pending) > MAX_HEAD
            return ("431 Request Header Fields Too Large", "headers too long") if too_long else None
        head = bytes(pending[: end + 4])
        problem = _head_problem(head)
        if problem is not None:
            return problem
        waiting.head_length = len(head)
        waiting.body_length = _body_length(head)
        waiting.deadline = self._clock() + self._body_timeout
        return None

    def _hand_on(self, waiting: _Waiting) -> None:
        self._forget(waiting)
        self._dispatch(waiting.connection)

    def _refuse(self, waiting: _Waiting, status: str, error: str) -> None:
        logger.debug("http: refused a request from %s: %s", waiting.connection.remote_addr, error)
        self._forget(waiting)
        _answer_and_close(waiting.connection, status, error)

    def _expire(self) -> None:
        now = self._clock()
        for waiting in [w for w in self._waiting.values() if w.deadline <= now]:
            part = "body" if waiting.head_length else "request line and headers"
            self._refuse(waiting, "408 Request Timeout", f"the {part} came too slowly")

    def _forget(self, waiting: _Waiting) -> None:
        self._waiting.pop(waiting.connection.socket.fileno(), None)
        with contextlib.suppress(KeyError, ValueError, OSError):
            self._selector.unregister(waiting.connection.socket)

    def _drop(self, waiting: _Waiting) -> None:
        self._forget(waiting)
        with contextlib.suppress(OSError):
            waiting.connection.close()


def _head_problem(head: bytes) -> tuple[str, str] | None:
    """A request line that cannot be served, or a body the gate cannot wait for."""
    line = head.split(b"\r\n", 1)[0].decode("latin-1")
    words = line.split()
    if len(words) != 3 or not words[2].startswith("HTTP/"):
        return "400 Bad Request", f"malformed request line: {line[:100]!r}"
    problem = target_problem(words[1])
    if problem is not None:
        return "400 Bad Request", problem
    if _CHUNKED.search(head):
        return "411 Length Required", "send the body with a Content-Length, not chunked"
    lengths = _CONTENT_LENGTH.findall(head)
    if len(lengths) > 1 or (lengths and not lengths[0].isdigit()):
        return "400 Bad Request", "one Content-Length, a number, is needed"
    return None


def _body_length(head: bytes) -> int:
    """Bytes of body to wait for: the Content-Length, unless the application refuses it anyway."""
    found = _CONTENT_LENGTH.search(head)
    length = int(found.group(1)) if found else 0
    return length if length <= MAX_BODY else 0


def _answer_and_close(connection: GatedConnection, status: str, error: str) -> None:
    with contextlib.suppress(OSError):
        connection.socket.setblocking(False)
        connection.socket.send(early_answer(status, error))
    with contextlib.suppress(OSError):
        connection.socket.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        connection.close()
