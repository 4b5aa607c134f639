"""Fake HTTP services for the test-suite, listening on loopback only.

:class:`FakeHTTPServer` is the shared machinery: a ``ThreadingHTTPServer`` on
``127.0.0.1`` (random port) served from a daemon thread, a request log, fault
injection, a ``before_request`` hook and event-released holds. The concrete
fakes live in :mod:`tests.fakes.github` and :mod:`tests.fakes.ollama`.

Nothing here ever sleeps on a timer a test must wait out: holds are released by
an :class:`threading.Event`, and waiting helpers take a timeout.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit

from requests.structures import CaseInsensitiveDict

__all__ = ["DROP", "FakeHTTPServer", "Fault", "RequestRecord", "Response"]

HOST = "127.0.0.1"


@dataclass
class RequestRecord:
    """One request as the fake saw it; ``status`` is ``None`` until answered (or if dropped)."""

    method: str
    path: str
    query: dict[str, str]
    headers: CaseInsensitiveDict[str]
    monotonic: float
    wall: float
    status: int | None = None
    body: bytes = b""
    answered: bool = False
    """True once the whole response body went out (False while trickling, or if cut off)."""

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class Response:
    status: int
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    trickle: float = 0.0
    """Seconds between body bytes: > 0 sends the body one byte at a time (a stuck peer)."""

    @classmethod
    def json(cls, status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
        body = json.dumps(payload).encode()
        return cls(status, body, {"Content-Type": "application/json", **(headers or {})})


DROP = Response(0)
"""Close the connection without sending any response."""


@dataclass
class Fault:
    remaining: int
    kind: str
    path_prefix: str | None
    params: dict[str, Any]

    def matches(self, request: RequestRecord) -> bool:
        method = self.params.get("method")
        if method is not None and method.upper() != request.method:
            return False
        return self.path_prefix is None or request.path.startswith(self.path_prefix)


@dataclass
class _Hold:
    release: threading.Event
    seconds: float | None
    path_prefix: str | None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; without this, Nagle's
        # algorithm meets the client's delayed ACK and every answer costs 40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.fake._track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.fake._untrack(self.connection)

    def _dispatch(self) -> None:
        self.server.fake._handle(self)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _dispatch

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    fake: FakeHTTPServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients hanging up (drops, go_down, stop) are expected; keep the output quiet.
        self.fake.server_errors.append(traceback.format_exc())


class FakeHTTPServer:
    """Base for loopback fakes. Subclasses implement :meth:`route` and fault kinds."""

    fault_kinds: tuple[str, ...] = ("drop", "status")

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._log: list[RequestRecord] = []
        self._faults: list[Fault] = []
        self._holds: list[_Hold] = []
        self._connections: set[socket.socket] = set()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._port = 0
        self.before_request: Callable[[RequestRecord], None] | None = None
        """Called with each parsed request before it is served, outside the lock."""
        self.hook_errors: list[BaseException] = []
        self.route_errors: list[str] = []
        self.server_errors: list[str] = []

    # -- lifecycle -----------------------------------------------------------

    def start(self) -> Self:
        with self._lock:
            if self._server is not None:
                return self
            server = _Server((HOST, self._port), _Handler)
            server.fake = self
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
        """Stop listening, cut open connections and release every hold."""
        self.release()
        self._shutdown_listener()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _shutdown_listener(self) -> None:
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
        return self._port

    @property
    def url(self) -> str:
        if not self._port:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return f"http://{HOST}:{self._port}"

    def _track(self, conn: socket.socket) -> None:
        with self._lock:
            self._connections.add(conn)

    def _untrack(self, conn: socket.socket) -> None:
        with self._lock:
            self._connections.discard(conn)

    # -- test controls -------------------------------------------------------

    def fail_next(self, n: int, kind: str, path_prefix: str | None = None, **params: Any) -> None:
        """Answer the next ``n`` matching requests with fault ``kind``.

        ``path_prefix`` limits the fault to paths starting with it; ``method=``
        limits it to one HTTP method. Faults queue up in the order given.
        """
        if kind not in self.fault_kinds:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {self.fault_kinds}")
        if n < 1:
            raise ValueError("n must be >= 1")
        with self._lock:
            self._faults.append(Fault(n, kind, path_prefix, params))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def slow(self, seconds: float | None = None, path_prefix: str | None = None) -> None:
        """Delay matching requests by ``seconds`` (``None``: until :meth:`release`).

        :meth:`release` ends every delay at once, so a test never waits longer
        than it needs to.
        """
        with self._lock:
            self._holds.append(_Hold(threading.Event(), seconds, path_prefix))

    def release(self) -> None:
        """End all delays and holds, including requests already waiting."""
        with self._lock:
            holds, self._holds = self._holds, []
        for hold in holds:
            hold.release.set()

    # -- request log ---------------------------------------------------------

    @property
    def requests(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._log)

    def requests_for(
        self, path_prefix: str | None = None, method: str | None = None
    ) -> list[RequestRecord]:
        with self._lock:
            return [
                r
                for r in self._log
                if (path_prefix is None or r.path.startswith(path_prefix))
                and (method is None or r.method == method.upper())
            ]

    def clear_log(self) -> None:
        with self._lock:
            self._log.clear()

    def wait_for_requests(
        self, count: int = 1, path_prefix: str | None = None, timeout: float = 5.0
    ) -> bool:
        """Block until ``count`` matching requests have *arrived* (answered or not)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self.requests_for(path_prefix)) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(left)
            return True

    # -- serving -------------------------------------------------------------

    def route(self, request: RequestRecord) -> Response:
        raise NotImplementedError

    def fault_response(self, fault: Fault, request: RequestRecord) -> Response:
        """Kinds every fake understands; subclasses extend this."""
        if fault.kind == "drop":
            return DROP
        if fault.kind == "status":
            status = int(fault.params.get("status", 500))
            payload = fault.params.get("body", {"message": f"injected status {status}"})
            return Response.json(status, payload, fault.params.get("headers"))
        raise ValueError(f"unhandled fault kind {fault.kind!r}")

    def _take_fault(self, request: RequestRecord) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.matches(request):
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def _wait_if_held(self, request: RequestRecord) -> None:
        with self._lock:
            holds = [
                h
                for h in self._holds
                if h.path_prefix is None or request.path.startswith(h.path_prefix)
            ]
        for hold in holds:
            hold.release.wait(hold.seconds)

    def _handle(self, handler: _Handler) -> None:
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        record = RequestRecord(
            method=handler.command,
            path=parts.path,
            query=dict(parse_qsl(parts.query, keep_blank_values=True)),
            headers=CaseInsensitiveDict(handler.headers.items()),
            monotonic=time.monotonic(),
            wall=time.time(),
            body=body,
        )
        with self._changed:
            self._log.append(record)
            self._changed.notify_all()

        response = self._respond(record)
        if response is DROP:
            handler.close_connection = True
            return
        record.status = response.status
        try:
            self._write(handler, response)
        except OSError:  # the client hung up mid-answer
            handler.close_connection = True
            return
        record.answered = True

    def _respond(self, record: RequestRecord) -> Response:
        hook = self.before_request
        if hook is not None:
            try:
                hook(record)
            except Exception as exc:
                self.hook_errors.append(exc)
                return Response.json(500, {"message": f"before_request hook failed: {exc!r}"})
        self._wait_if_held(record)
        fault = self._take_fault(record)
        try:
            if fault is not None:
                return self.fault_response(fault, record)
            return self.route(record)
        except Exception:
            self.route_errors.append(traceback.format_exc())
            return Response.json(500, {"message": "fake server bug", "error": "fake server bug"})

    def _write(self, handler: _Handler, response: Response) -> None:
        handler.send_response(response.status)
        for name, value in response.headers.items():
            handler.send_header(name, value)
        no_body = response.status in (204, 304) or response.status < 200
        if not no_body:
            handler.send_header("Content-Length", str(len(response.body or b"")))
        handler.end_headers()
        if response.body and not no_body and handler.command != "HEAD":
            if response.trickle <= 0:
                handler.wfile.write(response.body)
                return
            handler.wfile.flush()
            pause = threading.Event()
            for index in range(len(response.body)):
                handler.wfile.write(response.body[index : index + 1])
                handler.wfile.flush()
                pause.wait(response.trickle)
