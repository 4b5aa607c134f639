"""A small HTTP server inside the process, on loopback: what the simulations stand on.

The standard library's ``ThreadingHTTPServer`` parses the requests (one
thread per connection, HTTP/1.1 keep-alive); this module turns each one into
a :class:`Request`, asks :meth:`LoopbackServer.respond` for a
:class:`Response` and writes it. A subclass implements :meth:`~LoopbackServer.route`.

The steps are extension points, in the order a request meets them, so a
subclass can add behaviour around any of them (the test-suite adds request
logs, injected faults and held requests this way):

- :meth:`~LoopbackServer.read_request` builds the :class:`Request`;
- :meth:`~LoopbackServer.respond` admits it (the simulated GitHub's
  secondary rate limits sit here) and calls :meth:`~LoopbackServer.serve`;
- :meth:`~LoopbackServer.serve` answers it with :meth:`~LoopbackServer.route`,
  a bug in the route becoming a 500 that names it;
- :meth:`~LoopbackServer.write_response` and :meth:`~LoopbackServer.write_body`
  send the answer (``None`` instead of a response closes the connection unanswered).

Every answer carries a ``Date`` from :meth:`~LoopbackServer.http_date`, so a
simulation with its own clock dates its answers by it.
"""

from __future__ import annotations

import contextlib
import email.utils
import json
import logging
import socket
import threading
import traceback
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit

from requests.structures import CaseInsensitiveDict

__all__ = ["HOST", "LoopbackServer", "Request", "Response"]

logger = logging.getLogger("autosolve.demo")

HOST = "127.0.0.1"
"""Where every simulation listens: nothing outside this machine can reach it."""


@dataclass
class Request:
    """One HTTP request, parsed."""

    method: str
    path: str
    """The path without the query string."""
    query: dict[str, str]
    """The query string's parameters (the last value of a repeated one)."""
    headers: CaseInsensitiveDict[str]
    body: bytes = b""

    def json(self) -> Any:
        """The body as JSON (``None`` when empty).

        Raises:
            ValueError: the body is not JSON.
        """
        return json.loads(self.body) if self.body else None


@dataclass
class Response:
    """What to answer: a status, a body and headers (``Content-Length`` is added)."""

    status: int
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, payload: Any, headers: dict[str, str] | None = None) -> Self:
        """A JSON answer of ``payload``."""
        body = json.dumps(payload).encode()
        return cls(status, body, {"Content-Type": "application/json", **(headers or {})})


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; without this, Nagle's
        # algorithm meets the client's delayed ACK and every answer costs 40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.owner._track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.owner._untrack(self.connection)

    def _dispatch(self) -> None:
        self.server.owner._handle(self)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _dispatch

    def date_time_string(self, timestamp: float | None = None) -> str:
        return self.server.owner.http_date()

    def version_string(self) -> str:
        return self.server.owner.server_software

    def log_message(self, format: str, *args: Any) -> None:
        pass  # a simulation's every request is no news


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    owner: LoopbackServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients hanging up mid-request is ordinary; keep the output quiet.
        self.owner.connection_error(traceback.format_exc())


class LoopbackServer:
    """An HTTP server on ``127.0.0.1`` served from a daemon thread; see the module.

    Args:
        port: the port to listen on; 0 (the default) picks a free one, kept
            across :meth:`stop` and :meth:`start` (a restart listens on the same).
    """

    server_software = "autosolve-simulation"
    """The ``Server`` header of every answer."""

    request_class: type[Request] = Request
    """What :meth:`read_request` builds (a subclass may record more per request)."""

    def __init__(self, port: int = 0) -> None:
        self._lock = threading.RLock()
        self._port = port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()
        self.route_errors: list[str] = []
        """Tracebacks of routes that failed (each answered 500): bugs of the simulation."""

    # -- lifecycle -----------------------------------------------------------

    def start(self) -> Self:
        """Listen and serve from a daemon thread; returns at once. Idempotent."""
        with self._lock:
            if self._server is not None:
                return self
            server = _Server((HOST, self._port), _Handler)
            server.owner = self
            self._server = server
            self._port = server.server_address[1]
            self._thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"{type(self).__name__}:{self._port}",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening and cut open connections. Idempotent."""
        self._close_listener()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _close_listener(self) -> None:
        with self._lock:
            server, thread = self._server, self._thread
            self._server = self._thread = None
            connections = list(self._connections)
        if server is not None:
            server.shutdown()
            server.server_close()
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        if thread is not None:
            thread.join(timeout=5)

    @property
    def port(self) -> int:
        """The port (0 before the first :meth:`start` if none was asked for)."""
        return self._port

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``.

        Raises:
            RuntimeError: the server never started (it has no port yet).
        """
        if not self._port:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return f"http://{HOST}:{self._port}"

    def _track(self, conn: socket.socket) -> None:
        with self._lock:
            self._connections.add(conn)

    def _untrack(self, conn: socket.socket) -> None:
        with self._lock:
            self._connections.discard(conn)

    # -- extension points ----------------------------------------------------

    def route(self, request: Request) -> Response:
        """The answer to ``request``; every subclass implements it."""
        raise NotImplementedError

    def respond(self, request: Request) -> Response | None:
        """Admit ``request`` and :meth:`serve` it (``None``: hang up without an answer)."""
        return self.serve(request)

    def serve(self, request: Request) -> Response | None:
        """:meth:`route`'s answer; a route that raises is answered 500 and recorded."""
        try:
            return self.route(request)
        except Exception:
            self.route_errors.append(traceback.format_exc())
            logger.exception("%s: %s %s failed", type(self).__name__, request.method, request.path)
            return Response.json(500, {"message": "simulation bug", "error": "simulation bug"})

    def http_date(self) -> str:
        """The ``Date`` of an answer sent now (the wall clock here; a simulation may differ)."""
        return email.utils.formatdate(usegmt=True)

    def connection_error(self, text: str) -> None:
        """A connection failed outside any route (a client hung up): ``text`` is the traceback."""
        logger.debug("%s: connection error: %s", type(self).__name__, text)

    def read_request(self, handler: BaseHTTPRequestHandler) -> Request:
        """The :class:`Request` the handler has parsed, with its body read."""
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        return self.request_class(
            method=handler.command,
            path=parts.path,
            query=dict(parse_qsl(parts.query, keep_blank_values=True)),
            headers=CaseInsensitiveDict(handler.headers.items()),
            body=handler.rfile.read(length) if length else b"",
        )

    def write_response(
        self, handler: BaseHTTPRequestHandler, request: Request, response: Response
    ) -> None:
        """Send the status line, the headers and the body.

        Raises:
            OSError: the client hung up meanwhile.
        """
        handler.send_response(response.status)
        for name, value in response.headers.items():
            handler.send_header(name, value)
        no_body = response.status in (204, 304) or response.status < 200
        if not no_body:
            handler.send_header("Content-Length", str(len(response.body or b"")))
        handler.end_headers()
        if response.body and not no_body and request.method != "HEAD":
            self.write_body(handler, response)

    def write_body(self, handler: BaseHTTPRequestHandler, response: Response) -> None:
        """Send the body (after the headers)."""
        handler.wfile.write(response.body or b"")

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        request = self.read_request(handler)
        response = self.respond(request)
        if response is None:
            handler.close_connection = True
            return
        try:
            self.write_response(handler, request, response)
        except OSError:  # the client hung up mid-answer
            handler.close_connection = True
