"""The WSGI application behind ``http.listen``.

Routes:

- ``GET /healthz`` → 200 ``{"status": "ok"}`` while the run goes on;
- ``GET /readyz`` → 200 when the daemon does its job, else 503, with the
  reasons (see :mod:`autosolve.http.readiness`);
- ``GET /status.json`` → the status document (as ``ctl status --json``);
  with any of ``?state=``, ``pattern=``, ``offset=``, ``limit=`` a page of it
  (as the control command ``status`` with those arguments answers it: the
  dashboard's view of a million children), 400 naming a parameter that
  breaks its rule;
- ``GET /metrics`` → Prometheus text;
- ``GET /api/overview`` → what the dashboard shows beside the children;
- ``GET /api/repository?name=owner/name`` → one repository's view (404 for
  a repository neither configured nor stored);
- ``GET /api/analysis?id=N`` → one analysis in full (404 when there is none);
- ``GET /api/history`` → the last hour's figures, for the dashboard's charts
  (see :mod:`autosolve.http.history`);
- ``GET /api/readiness`` → what ``/readyz`` judges, always with 200, with
  the health and the children in trouble: the dashboard's health banner (a
  503 would be a browser console error);
- ``POST /api/control`` → the control socket's protocol: the same request
  document in, the same answer out, with 200 whenever the daemon answered
  (``"ok": false`` included: a refusal is an answer, as on the socket); 4xx
  only for what never reached the daemon (token, origin, body);
- ``GET /`` and ``GET /static/...`` → the dashboard, a page with no data in it.

Who may ask: every route but ``/healthz``, ``/readyz`` and (for a client on
this machine) ``/metrics`` needs the token (``http.token``, or the one
generated at the first start), on loopback too: as ``Authorization: Bearer
<token>``, or as the cookie a browser gets by opening ``/?token=<token>``
once (it is sent back redirected to ``/``, the token out of the address
bar). The cookie is ``HttpOnly`` (the page's scripts never see the token)
and ``SameSite=Strict`` (no other site's page can make the browser send it).
``/metrics`` without the token is only for a client on this machine that
names it as such (``Host`` a loopback name), so a web page cannot read it by
pointing a DNS name at 127.0.0.1. A state-changing request needs
``Content-Type: application/json`` and, if it carries an ``Origin``, the
endpoint's own (one authenticated by the cookie must carry it): a form or a
script on another site can send neither. Tokens are compared in constant
time. Every answer is masked with the daemon's secrets.
"""

from __future__ import annotations

import contextlib
import hmac
import html
import json
import logging
from collections.abc import Callable, Iterable, Mapping
from importlib import resources
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import parse_qs, quote, unquote, urlsplit

from autosolve.http.limits import MAX_BODY
from autosolve.http.readiness import JUDGED_STATES, Readiness, ReadinessRule
from autosolve.http.webhooks import MAX_DELIVERY, WEBHOOK_PATH, signed_by
from autosolve.masking import Secrets
from autosolve.settings.address import is_loopback

if TYPE_CHECKING:
    from autosolve.http.metrics import Metrics
    from autosolve.runtime import ChildState

__all__ = ["COOKIE_PREFIX", "MAX_BODY", "Daemon", "make_app"]

logger = logging.getLogger("autosolve.http")

COOKIE_PREFIX = "autosolve_token_"
"""The dashboard's cookie is this and the endpoint's port: cookies do not tell ports
apart, two daemons on one machine must not overwrite each other's."""

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class Daemon(Protocol):
    """What the endpoint asks of the running daemon."""

    @property
    def running(self) -> bool:
        """Whether the run goes on (it has not ended, gracefully or not)."""
        ...

    def status(self) -> dict[str, Any]:
        """The status document (as ``ctl status --json`` prints it)."""
        ...

    def status_in(self, states: frozenset[ChildState]) -> dict[str, Any]:
        """The status document of only the children in ``states``, in the status's order
        (``RuntimeHandle.status_in``): what readiness reads, costing those children only."""
        ...

    def answer(self, document: Mapping[str, Any]) -> dict[str, Any]:
        """The control protocol's answer to one request document; never raises."""
        ...

    def overview(self) -> dict[str, Any]:
        """Repositories, jobs and latest analyses, for the dashboard."""
        ...

    @property
    def webhook_secret(self) -> str:
        """``github.webhooks.secret``: "" while webhooks are off."""
        ...

    def deliver(self, event: str, delivery_id: str, payload: Any) -> str:
        """Apply a signed delivery; its outcome (``ping``, ``accepted``, ``duplicate``,
        ``unknown``). Raises ``ValueError`` when the payload lacks what the event carries."""
        ...

    def repository(self, name: str) -> dict[str, Any] | None:
        """One repository's view; None if there is no such repository.

        Raises:
            ValueError: ``name`` is not ``owner/name``.
        """
        ...

    def analysis(self, analysis_id: int) -> dict[str, Any] | None:
        """One analysis in full; None if there is none with that id."""
        ...

    def history(self) -> dict[str, Any]:
        """The last hour's figures (:meth:`autosolve.http.history.History.document`)."""
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
_LOGIN_POLICY = "default-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
_SCRIPT = "text/javascript; charset=utf-8"
_STATIC_TYPES = {
    "index.html": "text/html; charset=utf-8",
    "dashboard.css": "text/css; charset=utf-8",
    **dict.fromkeys(
        ("dashboard.js", "api.js", "dom.js", "charts.js", "children.js", "tables.js", "panel.js",
         "repository.js"),
        _SCRIPT,
    ),
}  # fmt: skip
"""The dashboard's files: the page, its style, its script modules."""
_UNAUTHORIZED = "401 Unauthorized"
_CHALLENGE = (("WWW-Authenticate", 'Bearer realm="autosolve"'),)
_OPEN = frozenset({"/healthz", "/readyz"})
"""Routes anyone may ask: probes carry no secrets, and these say nothing secret."""


def make_app(
    daemon: Daemon,
    metrics: Metrics,
    *,
    token: str,
    secrets: Secrets | None = None,
    readiness: ReadinessRule | None = None,
) -> WSGIApp:
    """The endpoint's WSGI application for ``daemon``.

    Args:
        daemon: the running daemon (see :class:`Daemon`).
        metrics: what ``/metrics`` renders.
        token: the token every route but health, readiness and local
            metrics requires (see the module).
        secrets: what every answer is masked with (the daemon's; the token
            is added to them).
        readiness: judges ``/readyz`` (it should observe the runtime's events).

    Raises:
        ValueError: ``token`` is empty.
    """
    return _App(daemon, metrics, token, secrets or Secrets(), readiness or ReadinessRule())


class _App:
    def __init__(
        self,
        daemon: Daemon,
        metrics: Metrics,
        token: str,
        secrets: Secrets,
        readiness: ReadinessRule,
    ) -> None:
        self._daemon = daemon
        self._metrics = metrics
        self._secrets = secrets
        self._readiness = readiness
        self._token = b""
        self.set_token(token)
        self._static = _load_static()
        self._login_page = _load_login_page()
        self._routes: dict[str, tuple[str, Callable[[dict[str, Any], str | None], _Response]]] = {
            "/healthz": ("GET", self._healthz),
            "/readyz": ("GET", self._readyz),
            "/status.json": ("GET", self._status),
            "/metrics": ("GET", self._scrape),
            "/api/overview": ("GET", self._overview),
            "/api/repository": ("GET", self._repository),
            "/api/analysis": ("GET", self._analysis),
            "/api/history": ("GET", self._history),
            "/api/readiness": ("GET", self._readiness_banner),
            "/api/control": ("POST", self._control),
        }

    def set_token(self, token: str) -> None:
        """The token from the next request on (a reload changed ``http.token``).

        Raises:
            ValueError: ``token`` is empty.
        """
        if not token:
            raise ValueError("the HTTP endpoint needs a token (http.token, or a generated one)")
        self._secrets.add([token])
        self._token = token.encode()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        try:
            response = self._handle(environ, method)
        except _Reply as reply:
            response = self._json(reply.status, {"ok": False, "error": reply.error}, reply.headers)
        except Exception:
            logger.exception("http: %s %s failed", method, environ.get("PATH_INFO"))
            response = self._json(
                "500 Internal Server Error", {"ok": False, "error": "internal error"}
            )
        status, headers, body = response
        headers = [*headers, *_COMMON_HEADERS, ("Content-Length", str(len(body)))]
        start_response(status, headers)
        return [b""] if method == "HEAD" else [body]

    def _handle(self, environ: dict[str, Any], method: str) -> _Response:
        path = environ.get("PATH_INFO") or "/"
        if path == WEBHOOK_PATH:  # authenticated by its signature, not the token
            _require_method(method, "POST")
            return self._webhook(environ)
        if path == "/":
            _require_method(method, "GET")
            return self._dashboard(environ)
        if path in _OPEN or (path == "/metrics" and _local(environ)):
            credential = None
        else:
            credential = self._authenticate(environ)
        if path.startswith("/static/"):
            _require_method(method, "GET")
            return self._page(path)
        route = self._routes.get(path)
        if route is None:
            raise _Reply("404 Not Found", f"no such route: {path}")
        _require_method(method, route[0])
        return route[1](environ, credential)

    # -- routes ----------------------------------------------------------------

    def _healthz(self, _environ: dict[str, Any], _credential: str | None) -> _Response:
        if self._daemon.running:
            return self._json("200 OK", {"status": "ok"})
        return self._json("503 Service Unavailable", {"status": "stopped"})

    def _readyz(self, _environ: dict[str, Any], _credential: str | None) -> _Response:
        readiness = self._judge()
        code = "200 OK" if readiness.ready else "503 Service Unavailable"
        return self._json(code, readiness.document())

    def _readiness_banner(self, _environ: dict[str, Any], _credential: str | None) -> _Response:
        return self._json("200 OK", self._judge().banner())

    def _judge(self) -> Readiness:
        # Never the whole document: probes come every few seconds, children by the million.
        return self._readiness.judge(self._daemon.status_in(JUDGED_STATES))

    def _status(self, environ: dict[str, Any], _credential: str | None) -> _Response:
        paging = _paging(environ)
        if not paging:
            return self._json("200 OK", self._daemon.status())
        # The control command checks the arguments: one rule, worded once.
        reply = self._daemon.answer({"command": "status", **paging})
        if not reply["ok"]:
            raise _Reply("400 Bad Request", str(reply["error"]))
        return self._json("200 OK", reply["status"])

    def _scrape(self, _environ: dict[str, Any], _credential: str | None) -> _Response:
        text = self._secrets.mask(self._metrics.render().decode())
        return "200 OK", [("Content-Type", self._metrics.content_type)], text.encode()

    def _overview(self, _environ: dict[str, Any], _credential: str | None) -> _Response:
        return self._json("200 OK", self._daemon.overview())

    def _repository(self, environ: dict[str, Any], _credential: str | None) -> _Response:
        name = _query(environ, "name", "owner/name")
        try:
            document = self._daemon.repository(name)
        except ValueError as error:
            raise _Reply("400 Bad Request", str(error)) from None
        return self._found(document, f"no such repository: {name}")

    def _analysis(self, environ: dict[str, Any], _credential: str | None) -> _Response:
        text = _query(environ, "id", "a number")
        if not text.isdigit() or len(text) > 18:
            raise _Reply("400 Bad Request", f"`id` must be a positive integer, got {text!r}")
        return self._found(self._daemon.analysis(int(text)), f"no analysis with id {text}")

    def _history(self, _environ: dict[str, Any], _credential: str | None) -> _Response:
        return self._json("200 OK", self._daemon.history())

    def _found(self, document: dict[str, Any] | None, missing: str) -> _Response:
        if document is None:
            raise _Reply("404 Not Found", missing)
        return self._json("200 OK", document)

    def _control(self, environ: dict[str, Any], credential: str | None) -> _Response:
        _require_json_body(environ)
        _require_same_origin(environ, required=credential == "cookie")
        document = _read_document(environ)
        return self._json("200 OK", self._daemon.answer(document))

    def _webhook(self, environ: dict[str, Any]) -> _Response:
        """A GitHub delivery (see :mod:`autosolve.http.webhooks`)."""
        secret = self._daemon.webhook_secret
        if not secret:
            raise _Reply("404 Not Found", "webhooks are off (github.webhooks.secret is empty)")
        body = _read_body(environ, MAX_DELIVERY)
        if not signed_by(secret, body, environ.get("HTTP_X_HUB_SIGNATURE_256", "")):
            self._metrics.on_webhook("", "bad_signature")
            raise _Reply(_UNAUTHORIZED, "X-Hub-Signature-256 is missing or wrong")
        event = environ.get("HTTP_X_GITHUB_EVENT", "")
        delivery_id = environ.get("HTTP_X_GITHUB_DELIVERY", "")
        if not event or not delivery_id:
            raise _Reply("400 Bad Request", "X-GitHub-Event and X-GitHub-Delivery are needed")
        try:
            outcome = self._daemon.deliver(event, delivery_id, json.loads(body))
        except ValueError as error:  # not JSON, or not the event's shape
            raise _Reply("400 Bad Request", f"delivery {delivery_id}: {error}") from None
        self._metrics.on_webhook(event, outcome)
        if outcome == "unknown":
            return "204 No Content", [], b""
        code = "202 Accepted" if outcome == "accepted" else "200 OK"
        return self._json(code, {"ok": True, "delivery": delivery_id, "outcome": outcome})

    def _dashboard(self, environ: dict[str, Any]) -> _Response:
        """The page; or, without the token, the form asking for it; ``?token=`` logs in."""
        given = parse_qs(environ.get("QUERY_STRING", "")).get("token")
        if given is not None:
            if not self._matches(given[0]):
                return self._login("that token was refused")
            cookie = (
                f"{_cookie_name(environ)}={quote(given[0], safe='')}; "
                "Path=/; HttpOnly; SameSite=Strict"
            )
            return "303 See Other", [("Location", "/"), ("Set-Cookie", cookie)], b""
        if self._credential(environ) is None:
            return self._login("this dashboard needs its token")
        return self._page("/")

    def _login(self, why: str) -> _Response:
        body = self._login_page.replace("{message}", html.escape(why)).encode()
        headers = [
            ("Content-Type", "text/html; charset=utf-8"),
            ("Content-Security-Policy", _LOGIN_POLICY),
            *_CHALLENGE,
        ]
        return _UNAUTHORIZED, headers, body

    def _page(self, path: str) -> _Response:
        name = "index.html" if path == "/" else path.removeprefix("/static/")
        body = self._static.get(name)
        if body is None:
            raise _Reply("404 Not Found", f"no such file: {path}")
        headers = [("Content-Type", _STATIC_TYPES[name])]
        if name == "index.html":
            headers.append(("Content-Security-Policy", _PAGE_POLICY))
        return "200 OK", headers, body

    def _json(
        self, status: str, document: Any, headers: Iterable[tuple[str, str]] = ()
    ) -> _Response:
        masked = self._secrets.mask_document(document)
        body = json.dumps(masked, separators=(",", ":"), ensure_ascii=False).encode()
        return status, [("Content-Type", _JSON), *headers], body

    # -- the token ---------------------------------------------------------------

    def _authenticate(self, environ: dict[str, Any]) -> str:
        credential = self._credential(environ)
        if credential is None:
            raise _Reply(
                _UNAUTHORIZED,
                "this route needs the token: Authorization: Bearer <token> "
                "(`autosolve-supervisor ctl http-url` shows it)",
                _CHALLENGE,
            )
        return credential

    def _credential(self, environ: dict[str, Any]) -> str | None:
        """How the request shows the token: ``bearer``, ``cookie``, or None (it does not)."""
        scheme, _, given = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
        if scheme.lower() == "bearer" and self._matches(given.strip()):
            return "bearer"
        cookie = _cookie(environ, _cookie_name(environ))
        if cookie is not None and self._matches(unquote(cookie)):
            return "cookie"
        return None

    def _matches(self, given: str) -> bool:
        return hmac.compare_digest(given.encode(), self._token)


_Response = tuple[str, list[tuple[str, str]], bytes]


def _local(environ: dict[str, Any]) -> bool:
    """A client on this machine that names it as such (not a page rebinding a DNS name)."""
    peer = environ.get("REMOTE_ADDR", "")
    return is_loopback(peer) and is_loopback(_hostname(environ.get("HTTP_HOST", "")))


def _cookie_name(environ: dict[str, Any]) -> str:
    return f"{COOKIE_PREFIX}{environ.get('SERVER_PORT', '')}"


def _cookie(environ: dict[str, Any], name: str) -> str | None:
    for pair in environ.get("HTTP_COOKIE", "").split(";"):
        key, _, value = pair.strip().partition("=")
        if key == name:
            return str(value)
    return None


def _query(environ: dict[str, Any], key: str, example: str) -> str:
    """The query parameter ``key``, which the route requires."""
    values = parse_qs(environ.get("QUERY_STRING", "")).get(key)
    if not values or not values[0]:
        raise _Reply("400 Bad Request", f"this route needs ?{key}= ({example})")
    return str(values[0])


_PAGING = ("state", "pattern", "offset", "limit")
"""The query parameters that make ``/status.json`` a page."""


def _paging(environ: dict[str, Any]) -> dict[str, object]:
    """The paging parameters given (the last of each), counts as integers where they are."""
    query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    paging: dict[str, object] = {key: query[key][-1] for key in _PAGING if key in query}
    for key in ("offset", "limit"):
        with contextlib.suppress(KeyError, ValueError):
            paging[key] = int(str(paging[key]))
    return paging


def _require_method(method: str, allowed: str) -> None:
    if method == allowed or (allowed == "GET" and method == "HEAD"):
        return
    allow = "GET, HEAD" if allowed == "GET" else allowed
    raise _Reply("405 Method Not Allowed", f"use {allow}", (("Allow", allow),))


def _require_json_body(environ: dict[str, Any]) -> None:
    media_type = environ.get("CONTENT_TYPE", "").split(";", 1)[0].strip().lower()
    if media_type != _JSON:
        raise _Reply("415 Unsupported Media Type", "the body must be application/json")


def _require_same_origin(environ: dict[str, Any], *, required: bool) -> None:
    """An ``Origin``, when sent, must name this endpoint as the client reached it (its ``Host``).

    A request without one comes from a program (curl, a probe), not from a
    page on another site: a browser sends ``Origin`` with every cross-origin
    request, and a JSON body (required before this check) cannot leave a
    page for another origin without a CORS preflight, which the endpoint
    never grants. Schemes are not compared: behind a TLS proxy the browser
    says ``https`` while the endpoint itself speaks plain HTTP. ``required``:
    a request that shows the token by its cookie comes from a browser, which
    always sends one with a POST.
    """
    origin = environ.get("HTTP_ORIGIN")
    if origin is None:
        if required:
            raise _Reply("403 Forbidden", "a browser's request must carry its Origin")
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


def _read_body(environ: dict[str, Any], limit: int) -> bytes:
    """The raw body of at most ``limit`` bytes (a larger one is refused unread)."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or "")
    except ValueError:
        raise _Reply("411 Length Required", "a Content-Length is required") from None
    if length > limit:
        raise _Reply("413 Content Too Large", f"the body must be at most {limit} bytes")
    try:
        body: bytes = environ["wsgi.input"].read(length) if length > 0 else b""
    except TimeoutError as error:  # a client trickling its body past the deadline
        raise _Reply("408 Request Timeout", str(error) or "the body came too slowly") from None
    return body


def _read_document(environ: dict[str, Any]) -> dict[str, Any]:
    body = _read_body(environ, MAX_BODY)
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


def _load_login_page() -> str:
    """The page asking for the token; ``{message}`` says why it is shown."""
    return (resources.files("autosolve.http") / "static" / "login.html").read_text()
