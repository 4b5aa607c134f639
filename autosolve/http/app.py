"""The WSGI application behind ``http.listen`` (SPEC §5.3a).

Routes:

- ``GET /healthz`` → 200 ``{"status": "ok"}`` while the run goes on;
- ``GET /readyz`` → 200 in phase ``workers`` with no failing child, else 503;
  both answer ``{"phase": ..., "failing": [names]}``;
- ``GET /status.json`` → the status document (SPEC §5.3);
- ``GET /metrics`` → Prometheus text;
- ``GET /api/overview`` → what the dashboard shows beside the children;
- ``POST /api/control`` → the control socket's protocol: the same request
  document in, the same answer out, with 200 whenever the daemon answered
  (``"ok": false`` included: a refusal is an answer, as on the socket); 4xx
  only for what never reached the daemon (token, origin, body);
- ``GET /`` and ``GET /static/...`` → the dashboard, a page with no data in it.

Who may ask: with ``http.token`` set, every route but ``/healthz`` and the
dashboard's static files needs ``Authorization: Bearer <token>`` (those carry
no data; probes and browsers fetch them without headers). Without a token the
endpoint only listens on loopback, and it answers only requests whose
``Host`` is a loopback name, so a web page cannot reach it by pointing a DNS
name at 127.0.0.1. A state-changing request needs ``Content-Type:
application/json`` and, if it carries an ``Origin``, the endpoint's own: a
form or a script on another site can send neither.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Callable, Iterable, Mapping
from importlib import resources
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from autosolve.control.protocol import MAX_LINE
from autosolve.settings.address import is_loopback

if TYPE_CHECKING:
    from autosolve.http.metrics import Metrics

__all__ = ["MAX_BODY", "Daemon", "make_app"]

logger = logging.getLogger("autosolve.http")

MAX_BODY = MAX_LINE
"""Largest ``POST /api/control`` body, in bytes: a control request line's limit."""

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class Daemon(Protocol):
    """What the endpoint asks of the running daemon."""

    @property
    def running(self) -> bool:
        """Whether the run goes on (it has not ended, gracefully or not)."""
        ...

    def status(self) -> dict[str, Any]:
        """The status document (SPEC §5.3)."""
        ...

    def answer(self, document: Mapping[str, Any]) -> dict[str, Any]:
        """The control protocol's answer to one request document; never raises."""
        ...

    def overview(self) -> dict[str, Any]:
        """Repositories, jobs and latest analyses, for the dashboard."""
        ...


class _Reply(Exception):
    """Ends a request early with an error answer (raised by the checks)."""

    def __init__(self, status: str, error: str, headers: tuple[tuple[str, str], ...] = ()):
        super().__init__(error)
        self.status, self.error, self.headers = status, error, headers


_JSON = "application/json"
_COMMON_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
    ("Cache-Control", "no-store"),
)
_PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_STATIC_TYPES = {
    "index.html": "text/html; charset=utf-8",
    "dashboard.js": "text/javascript; charset=utf-8",
    "dashboard.css": "text/css; charset=utf-8",
}


def make_app(daemon: Daemon, metrics: Metrics, *, token: str = "") -> WSGIApp:
    """The endpoint's WSGI application for ``daemon``.

    Args:
        daemon: the running daemon (see :class:`Daemon`).
        metrics: what ``/metrics`` renders.
        token: the bearer token every data route requires; ``""`` = none,
            for an endpoint that listens on loopback only.
    """
    return _App(daemon, metrics, token)


class _App:
    def __init__(self, daemon: Daemon, metrics: Metrics, token: str) -> None:
        self._daemon = daemon
        self._metrics = metrics
        self._token = token.encode()
        self._static = _load_static()
        self._routes: dict[str, tuple[str, Callable[[dict[str, Any]], _Response]]] = {
            "/healthz": ("GET", self._healthz),
            "/readyz": ("GET", self._readyz),
            "/status.json": ("GET", self._status),
            "/metrics": ("GET", self._scrape),
            "/api/overview": ("GET", self._overview),
            "/api/control": ("POST", self._control),
        }

    def set_token(self, token: str) -> None:
        """The bearer token from now on (``""``: none, loopback names only)."""
        self._token = token.encode()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        try:
            response = self._handle(environ, method)
        except _Reply as reply:
            response = _json(reply.status, {"ok": False, "error": reply.error}, reply.headers)
        except Exception:
            logger.exception("http: %s %s failed", method, environ.get("PATH_INFO"))
            response = _json("500 Internal Server Error", {"ok": False, "error": "internal error"})
        status, headers, body = response
        headers = [*headers, *_COMMON_HEADERS, ("Content-Length", str(len(body)))]
        start_response(status, headers)
        return [b""] if method == "HEAD" else [body]

    def _handle(self, environ: dict[str, Any], method: str) -> _Response:
        path = environ.get("PATH_INFO") or "/"
        if not self._token:
            _require_loopback_host(environ)
        if path == "/" or path.startswith("/static/"):  # no data in them: no token
            _require_method(method, "GET")
            return self._page(path)
        route = self._routes.get(path)
        if route is None:
            raise _Reply("404 Not Found", f"no such route: {path}")
        _require_method(method, route[0])
        if path != "/healthz":  # probes rarely carry secrets; it says nothing but "ok"
            self._require_token(environ)
        return route[1](environ)

    # -- routes ----------------------------------------------------------------

    def _healthz(self, _environ: dict[str, Any]) -> _Response:
        if self._daemon.running:
            return _json("200 OK", {"status": "ok"})
        return _json("503 Service Unavailable", {"status": "stopped"})

    def _readyz(self, _environ: dict[str, Any]) -> _Response:
        status = self._daemon.status()
        failing = [c["name"] for c in status["children"] if _failing(c)]
        ready = status["phase"] == "workers" and not failing
        code = "200 OK" if ready else "503 Service Unavailable"
        return _json(code, {"phase": status["phase"], "failing": failing})

    def _status(self, _environ: dict[str, Any]) -> _Response:
        return _json("200 OK", self._daemon.status())

    def _scrape(self, _environ: dict[str, Any]) -> _Response:
        return "200 OK", [("Content-Type", self._metrics.content_type)], self._metrics.render()

    def _overview(self, _environ: dict[str, Any]) -> _Response:
        return _json("200 OK", self._daemon.overview())

    def _control(self, environ: dict[str, Any]) -> _Response:
        _require_json_body(environ)
        _require_same_origin(environ)
        document = _read_document(environ)
        return _json("200 OK", self._daemon.answer(document))

    def _page(self, path: str) -> _Response:
        name = "index.html" if path == "/" else path.removeprefix("/static/")
        body = self._static.get(name)
        if body is None:
            raise _Reply("404 Not Found", f"no such file: {path}")
        headers = [("Content-Type", _STATIC_TYPES[name])]
        if name == "index.html":
            headers.append(("Content-Security-Policy", _PAGE_POLICY))
        return "200 OK", headers, body

    # -- checks ----------------------------------------------------------------

    def _require_token(self, environ: dict[str, Any]) -> None:
        if not self._token:
            return
        scheme, _, given = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            given.strip().encode(), self._token
        ):
            raise _Reply(
                "401 Unauthorized",
                "this route needs Authorization: Bearer <http.token>",
                (("WWW-Authenticate", 'Bearer realm="autosolve"'),),
            )


_Response = tuple[str, list[tuple[str, str]], bytes]


def _json(status: str, document: Any, headers: Iterable[tuple[str, str]] = ()) -> _Response:
    body = json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()
    return status, [("Content-Type", _JSON), *headers], body


def _failing(child: Mapping[str, Any]) -> bool:
    """Failed for good (SPEC §5.3a): a child in backoff is being restarted, not failing.

    Transient failures show in ``/metrics`` (failures, restarts) and status;
    readiness only drops for what no restart will mend.
    """
    return bool(child["state"] == "failed")


def _require_method(method: str, allowed: str) -> None:
    if method == allowed or (allowed == "GET" and method == "HEAD"):
        return
    allow = "GET, HEAD" if allowed == "GET" else allowed
    raise _Reply("405 Method Not Allowed", f"use {allow}", (("Allow", allow),))


def _require_loopback_host(environ: dict[str, Any]) -> None:
    host = environ.get("HTTP_HOST", "")
    if not is_loopback(_hostname(host)):
        raise _Reply(
            "403 Forbidden",
            f"Host {host!r} is not a loopback name; set http.token to serve other names",
        )


def _require_json_body(environ: dict[str, Any]) -> None:
    media_type = environ.get("CONTENT_TYPE", "").split(";", 1)[0].strip().lower()
    if media_type != _JSON:
        raise _Reply("415 Unsupported Media Type", "the body must be application/json")


def _require_same_origin(environ: dict[str, Any]) -> None:
    """An ``Origin``, when sent, must name this endpoint as the client reached it (its ``Host``).

    A request without one comes from a program (curl, a probe), not from a
    page on another site: a browser sends ``Origin`` with every cross-origin
    request, and a JSON body (required before this check) cannot leave a
    page for another origin without a CORS preflight, which the endpoint
    never grants. Schemes are not compared: behind a TLS proxy the browser
    says ``https`` while the endpoint itself speaks plain HTTP.
    """
    origin = environ.get("HTTP_ORIGIN")
    if origin is None:
        return
    scheme, _, authority = origin.partition("://")
    default_port = {"http": 80, "https": 443}.get(scheme.lower())
    host = environ.get("HTTP_HOST", "")
    if (
        default_port is None  # "null", a file: page, junk: never the endpoint's own
        or "/" in authority
        or not host
        or _authority(authority, default_port) != _authority(host, default_port)
    ):
        raise _Reply("403 Forbidden", f"cross-origin request refused (Origin {origin!r})")


def _read_document(environ: dict[str, Any]) -> dict[str, Any]:
    try:
        length = int(environ.get("CONTENT_LENGTH") or "")
    except ValueError:
        raise _Reply("411 Length Required", "a Content-Length is required") from None
    if length > MAX_BODY:
        raise _Reply("413 Content Too Large", f"the body must be at most {MAX_BODY} bytes")
    body = environ["wsgi.input"].read(length) if length > 0 else b""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError) as error:
        reason = "nested too deeply" if isinstance(error, RecursionError) else str(error)
        raise _Reply("400 Bad Request", f"request is not JSON: {reason}") from None
    if not isinstance(document, dict):
        raise _Reply("400 Bad Request", 'a request is a JSON object like {"command": "status"}')
    return document


def _hostname(authority: str) -> str:
    return _authority(authority, 0)[0]


def _authority(authority: str, default_port: int) -> tuple[str, int | None]:
    """``host[:port]`` as (lower-case hostname, port or None when it is the default)."""
    try:
        parts = urlsplit(f"//{authority}")
        port = parts.port
    except ValueError:
        return ("", -1)
    return (parts.hostname or "", None if port in (None, default_port) else port)


def _load_static() -> dict[str, bytes]:
    folder = resources.files("autosolve.http") / "static"
    return {name: (folder / name).read_bytes() for name in _STATIC_TYPES}
