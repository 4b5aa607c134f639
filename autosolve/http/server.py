"""Serving the endpoint inside the daemon, on the runtime's backend.

- ``gevent``: ``gevent.pywsgi`` on the hub the runtime's actors share, one
  greenlet per connection from a bounded pool;
- ``threading``: cheroot (CherryPy's threaded WSGI server), a fixed pool of
  worker threads behind one accepting thread.

Both bind in :meth:`HttpServer.bind`, before the runtime starts, so a port in
use stops the daemon before it runs a single task; :meth:`HttpServer.start`
then serves an application; :meth:`HttpServer.close` stops accepting and
waits briefly for requests in progress.
"""

from __future__ import annotations

import logging
import socket
import threading
from typing import Any

from autosolve.runtime import Backend
from autosolve.settings.address import ListenAddress, parse_listen

__all__ = ["CONNECTION_LIMIT", "IDLE_TIMEOUT", "HttpServer"]

logger = logging.getLogger("autosolve.http")

IDLE_TIMEOUT = 30.0
"""Seconds a connection may sit idle (or trickle a request) before it is closed."""

CONNECTION_LIMIT = 64
"""Connections served at once on gevent; beyond it they wait in the listen backlog."""

THREADS = 8
"""Worker threads on the threading backend: scrapes and a few browsers."""

BACKLOG = 128


class HttpServer:
    """The HTTP endpoint's server for ``listen`` on the backend called ``backend``.

    Raises (from :meth:`bind`):
        OSError: the address cannot be bound; the message names it.
    """

    def __init__(
        self, listen: str | ListenAddress, backend: str, *, idle_timeout: float = IDLE_TIMEOUT
    ) -> None:
        self.listen = parse_listen(listen) if isinstance(listen, str) else listen
        """The configured address (port 0 until bound, when the configuration said 0)."""
        if backend not in tuple(Backend):
            raise ValueError(f"unknown backend {backend!r}")
        self.backend = Backend(backend)
        self.idle_timeout = idle_timeout
        """Seconds before an idle (or trickling) connection is closed."""
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
            if self.backend == Backend.GEVENT:
                self._server = _bind_gevent(self.listen, self.idle_timeout)
            else:
                self._server = _bind_cheroot(self.listen, self.idle_timeout)
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


def _bind_gevent(address: ListenAddress, idle_timeout: float) -> Any:
    from gevent.pool import Pool
    from gevent.pywsgi import LoggingLogAdapter, WSGIServer

    class _Server(WSGIServer):
        def handle(self, sock: Any, client: Any) -> None:
            sock.settimeout(idle_timeout)  # pywsgi waits for a kept-alive client forever
            # Headers and body leave in separate writes: without this, Nagle
            # and the client's delayed ACK hold each answer back ~40 ms.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            super().handle(sock, client)

    server = _Server(
        (address.host, address.port),
        None,
        backlog=BACKLOG,
        spawn=Pool(CONNECTION_LIMIT),
        log=None,
        # What pywsgi reports here is the clients' doing (a malformed request,
        # an idle connection timed out): worth a debug line, not an error.
        error_log=LoggingLogAdapter(logger, logging.DEBUG),
    )
    server.init_socket()
    return server


def _bind_cheroot(address: ListenAddress, idle_timeout: float) -> Any:
    from cheroot.wsgi import Server

    class _Server(Server):
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
        # cheroot's stub says int; it only hands the value to settimeout(), which takes a float
        timeout=idle_timeout,  # type: ignore[arg-type]
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
