"""Serving the endpoint inside the daemon, on the runtime's backend.

- ``gevent``: ``gevent.pywsgi`` on the hub the runtime's actors share, one
  greenlet per connection (cheap: a waiting client costs a greenlet);
- ``threading``: cheroot (CherryPy's threaded WSGI server), a fixed pool of
  worker threads behind one accepting thread, and in front of them the
  :class:`~autosolve.http.gate.RequestGate`, so a worker only ever gets a
  request that has arrived whole.

On both, the limits of :mod:`autosolve.http.limits` hold: deadlines for the
headers and the body, connections per address and in all.

Both bind in :meth:`HttpServer.bind`, before the runtime starts, so a port in
use stops the daemon before it runs a single task; :meth:`HttpServer.start`
then serves an application; :meth:`HttpServer.close` stops accepting and
waits briefly for requests in progress.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from typing import Any, NamedTuple

from autosolve.http.limits import (
    BODY_TIMEOUT,
    HEAD_TIMEOUT,
    ClientLimits,
    early_answer,
)
from autosolve.runtime import Backend
from autosolve.settings.address import ListenAddress, parse_listen

__all__ = ["IDLE_TIMEOUT", "HttpServer"]

logger = logging.getLogger("autosolve.http")

IDLE_TIMEOUT = 30.0
"""Seconds a kept-alive connection may wait for its next request (threading backend)."""

THREADS = 8
"""Worker threads on the threading backend: they only ever serve whole requests."""

BACKLOG = 128


class HttpServer:
    """The HTTP endpoint's server for ``listen`` on the backend called ``backend``.

    Raises (from :meth:`bind`):
        OSError: the address cannot be bound; the message names it.
    """

    def __init__(
        self,
        listen: str | ListenAddress,
        backend: str,
        *,
        idle_timeout: float = IDLE_TIMEOUT,
        limits: ClientLimits | None = None,
        head_timeout: float = HEAD_TIMEOUT,
        body_timeout: float = BODY_TIMEOUT,
    ) -> None:
        self.listen = parse_listen(listen) if isinstance(listen, str) else listen
        """The configured address (port 0 until bound, when the configuration said 0)."""
        if backend not in tuple(Backend):
            raise ValueError(f"unknown backend {backend!r}")
        self.backend = Backend(backend)
        self.idle_timeout = idle_timeout
        """Seconds a kept-alive connection may wait for its next request."""
        self.limits = limits or ClientLimits()
        """Connections per address and in all."""
        self.deadlines = _Deadlines(head_timeout, body_timeout)
        """Seconds for the request line and headers, and for the body."""
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._started = False

    @property
    def address(self) -> ListenAddress:
        """Where it listens once bound (the real port when 0 was asked for)."""
        if self._server is None:
            return self.listen
        if self.backend == Backend.GEVENT:
            host, port = self._server.address[:2]
        else:
            host, port = self._server.bind_addr[:2]
        return ListenAddress(host, port)

    @property
    def url(self) -> str:
        address = self.address
        return f"http://{address}"

    def bind(self) -> HttpServer:
        """Claim the address without serving yet."""
        if self._server is not None:
            raise RuntimeError("an HttpServer binds once")
        try:
            bind = _bind_gevent if self.backend == Backend.GEVENT else _bind_cheroot
            self._server = bind(self.listen, self.idle_timeout, self.limits, self.deadlines)
        except OSError as error:
            cause = _bind_error(self.listen) or error
            failure = OSError(f"http.listen {self.listen}: {cause.strerror or cause}")
            failure.errno = cause.errno
            raise failure from None
        return self

    def start(self, app: Any) -> HttpServer:
        """Serve ``app`` (a WSGI application); returns at once."""
        if self._server is None:
            self.bind()
        if self._started:
            raise RuntimeError("an HttpServer starts once")
        self._started = True
        server = self._server
        if self.backend == Backend.GEVENT:
            server.application = app
            server.start()
        else:
            server.wsgi_app = app
            self._thread = threading.Thread(
                target=_serve_cheroot, args=(server,), name="http-server", daemon=True
            )
            self._thread.start()
        logger.info("http endpoint listening on %s", self.url)
        return self

    def close(self, timeout: float = 5.0) -> None:
        """Stop accepting, finish or drop requests in progress. Idempotent."""
        server, self._server = self._server, None
        if server is None:
            return
        if self.backend == Backend.GEVENT:
            server.stop(timeout=timeout)
            return
        server.shutdown_timeout = timeout
        server.stop()  # also when bound and never served: prepare() started its threads
        if self._thread is not None:
            self._thread.join(timeout)


class _Deadlines(NamedTuple):
    head: float
    body: float


def _bind_gevent(
    address: ListenAddress, idle_timeout: float, limits: ClientLimits, deadlines: _Deadlines
) -> Any:
    from gevent.pywsgi import LoggingLogAdapter, WSGIServer

    from autosolve.http.gevent_handler import DeadlineHandler

    class _Handler(DeadlineHandler):
        head_timeout, body_timeout = deadlines

    class _Server(WSGIServer):
        def handle(self, sock: Any, client: Any) -> None:
            address = str(client[0]) if client else ""
            refusal = limits.admit(address)
            if refusal is not None:
                logger.warning("http: refused a connection: %s", refusal)
                _refuse(sock, refusal)
                return
            try:
                sock.settimeout(idle_timeout)  # no read ever waits longer than this
                # Headers and body leave in separate writes: without this, Nagle
                # and the client's delayed ACK hold each answer back ~40 ms.
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                super().handle(sock, client)
            finally:
                limits.release(address)

    server = _Server(
        (address.host, address.port),
        None,
        backlog=BACKLOG,
        # Not bounded by a pool: a full pool would leave the next client waiting in the
        # backlog, untold; the limits refuse it at once instead (a greenlet is cheap).
        spawn="default",
        handler_class=_Handler,
        log=None,
        # What pywsgi reports here is the clients' doing (a malformed request,
        # an idle connection timed out): worth a debug line, not an error.
        error_log=LoggingLogAdapter(logger, logging.DEBUG),
    )
    server.init_socket()
    return server


def _refuse(sock: Any, refusal: str) -> None:
    with contextlib.suppress(OSError):
        sock.setblocking(False)
        sock.send(early_answer("503 Service Unavailable", refusal))
    with contextlib.suppress(OSError):
        sock.close()


def _bind_cheroot(
    address: ListenAddress, idle_timeout: float, limits: ClientLimits, deadlines: _Deadlines
) -> Any:
    from cheroot.wsgi import Server

    from autosolve.http.gate import GatedConnection, RequestGate

    class _Server(Server):
        ConnectionClass = GatedConnection

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.gate = RequestGate(
                super().process_conn,
                limits,
                head_timeout=deadlines.head,
                body_timeout=deadlines.body,
            )

        def process_conn(self, conn: GatedConnection) -> None:
            """A new connection, or a kept-alive one readable again: to the gate first."""
            self.gate.admit(conn)

        def prepare(self) -> None:
            super().prepare()
            self.gate.start()

        def stop(self) -> None:
            self.gate.stop()
            super().stop()

        def error_log(
            self, msg: str = "", level: int = logging.INFO, traceback: bool = False
        ) -> None:
            """cheroot's error hook, through our logger (its default writes to stderr)."""
            logger.log(level, "http: %s", msg, exc_info=traceback)

    server = _Server(
        (address.host, address.port),
        None,
        numthreads=THREADS,
        server_name="autosolve",
        request_queue_size=BACKLOG,
        timeout=idle_timeout,
    )
    server.prepare()
    return server


def _bind_error(address: ListenAddress) -> OSError | None:
    """Why ``address`` cannot be bound, in the system's words.

    cheroot words a failed bind as "No socket could be created -- ..."; a plain
    bind says "Address already in use" or "Cannot assign requested address".
    """
    try:
        family = socket.getaddrinfo(address.host, address.port, type=socket.SOCK_STREAM)[0][0]
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((address.host, address.port))
    except OSError as error:
        return error
    return None


def _serve_cheroot(server: Any) -> None:
    try:
        server.serve()
    except Exception:
        logger.exception("http endpoint stopped serving")
