"""Minimal Ollama client: one non-streaming ``/api/generate`` call, bounded as a whole."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import requests
import urllib3
from marshmallow import EXCLUDE, Schema, ValidationError, fields
from requests.adapters import HTTPAdapter

from autosolve.infra.ollama.errors import (
    ModelNotFoundError,
    OllamaError,
    OllamaMalformedResponseError,
    OllamaServerError,
    OllamaTimeoutError,
)
from autosolve.infra.transport import raise_short
from autosolve.settings.limits import MAX_CONCURRENCY

__all__ = ["OllamaClient"]

logger = logging.getLogger(__name__)


class _GenerateResponseSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    response = fields.String(required=True)


_generate_schema = _GenerateResponseSchema()


class OllamaClient:
    """Asks one model for a completion; thread-safe (one shared session).

    Args:
        url: the Ollama server, ``http(s)://host:port``.
        model: the model name (``ollama.model``).
        timeout: seconds for the *whole* request, from connecting to the last
            byte of the answer (``ollama.timeout``). A model that trickles its
            answer cannot hold a job past it.
        session: a ``requests`` session to use (tests, proxies).
        on_request: called after every model request, successful or not, with
            its duration in seconds (metrics); called on the requesting
            thread, and its own errors are logged, never raised.
    """

    def __init__(
        self,
        url: str,
        model: str,
        timeout: float,
        session: requests.Session | None = None,
        on_request: Callable[[float], None] | None = None,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"ollama url must be an http(s) URL, got {url!r}")
        self.url = url.rstrip("/")
        self.model = model
        self.timeout = timeout
        self.on_request = on_request
        """The duration hook, see the class docstring; may be set after construction."""
        if session is None:
            session = requests.Session()
            # Up to analysis.concurrency requests may be in flight at once.
            adapter = HTTPAdapter(pool_connections=1, pool_maxsize=MAX_CONCURRENCY)
            session.mount("https://", adapter)
            session.mount("http://", adapter)
        self._session = session

    def __repr__(self) -> str:
        return f"OllamaClient(url={self.url!r}, model={self.model!r}, timeout={self.timeout!r})"

    def generate(self, prompt: str) -> str:
        """The model's whole answer to ``prompt`` (``stream: false``).

        Raises:
            OllamaTimeoutError: the answer was not complete within ``timeout``.
            requests.ConnectionError: Ollama cannot be reached (a short message).
            ModelNotFoundError, OllamaServerError, OllamaError,
            OllamaMalformedResponseError: see :mod:`.errors`.
        """
        started = time.monotonic()
        try:
            return self._generate(prompt)
        finally:
            self._report(time.monotonic() - started)

    def _generate(self, prompt: str) -> str:
        where = f"POST {self.url}/api/generate"
        status, payload_text, payload = self._post(prompt)
        said = _error_text(status, payload_text, payload)
        said = f" (Ollama says: {said})" if said else ""
        if status == 404:
            raise ModelNotFoundError(
                f"{where}: 404{said}: model {self.model!r} is not available on {self.url}; "
                f"run `ollama pull {self.model}` there or change ollama.model",
                status=status,
            )
        if status >= 500:
            raise OllamaServerError(
                f"{where}: {status}{said}: Ollama failed; will retry", status=status
            )
        if status >= 400:
            raise OllamaError(f"{where}: {status}{said}: request refused by Ollama", status=status)
        if status != 200:
            raise OllamaMalformedResponseError(
                f"{where}: unexpected status {status}", status=status
            )
        if payload is _NOT_JSON:
            raise OllamaMalformedResponseError(
                f"{where}: 200 body is not JSON (starts with {payload_text[:120]!r}); "
                "is ollama.url really an Ollama server?",
                status=status,
            )
        try:
            answer: str = _generate_schema.load(payload)["response"]
        except ValidationError as exc:
            raise OllamaMalformedResponseError(
                f"{where}: 200 body does not have the expected shape: {exc.messages}",
                status=status,
            ) from None
        return answer

    def _post(self, prompt: str) -> tuple[int, str, Any]:
        """Status, body text and decoded JSON of one request, all within ``timeout``.

        ``requests`` only bounds each socket read, so a server sending one
        byte at a time never times out. urllib3's total timeout bounds the
        connection and the wait for the headers; a watchdog shuts the socket
        down when the deadline passes while the body is still coming.
        """
        url = f"{self.url}/api/generate"
        deadline = time.monotonic() + self.timeout
        try:
            response = self._session.post(
                url,
                json={"model": self.model, "prompt": prompt, "stream": False},
                # requests hands a urllib3 Timeout to the pool as it is.
                timeout=urllib3.Timeout(total=self.timeout),  # type: ignore[arg-type]
                stream=True,
            )
        except requests.Timeout:
            raise self._timed_out() from None
        except requests.RequestException as error:
            raise_short(error, "POST", url)
        watchdog = _Watchdog(response, deadline - time.monotonic())
        try:
            content = response.content
        except requests.RequestException as error:
            if watchdog.fired:
                raise self._timed_out() from None
            raise_short(error, "POST", url)
        finally:
            watchdog.cancel()
            response.close()
        if watchdog.fired:  # the shut-down socket may read as a short, clean end
            raise self._timed_out()
        text = content.decode(response.encoding or "utf-8", errors="replace")
        try:
            payload: Any = response.json()
        except ValueError:
            payload = _NOT_JSON
        return response.status_code, text, payload

    def _timed_out(self) -> OllamaTimeoutError:
        return OllamaTimeoutError(
            f"POST {self.url}/api/generate: no complete answer within ollama.timeout "
            f"({self.timeout:g} s, connect to last byte); the model is too slow or stuck"
        )

    def _report(self, seconds: float) -> None:
        hook = self.on_request
        if hook is None:
            return
        try:
            hook(seconds)
        except Exception:
            logger.exception("the on_request hook of the Ollama client failed")


_NOT_JSON = object()
"""Marks a body that did not decode as JSON."""


class _Watchdog:
    """Shuts ``response``'s socket down after ``seconds``, unless cancelled first.

    A blocked read then ends at once (on threads and on gevent's cooperative
    sockets alike); :attr:`fired` tells the reader why.
    """

    def __init__(self, response: requests.Response, seconds: float) -> None:
        self.fired = False
        self._response = response
        self._timer = threading.Timer(max(seconds, 0.0), self._fire)
        self._timer.daemon = True
        self._timer.start()

    def cancel(self) -> None:
        self._timer.cancel()

    def _fire(self) -> None:
        self.fired = True
        sock = _socket_of(self._response)
        if sock is None:
            return
        with contextlib.suppress(OSError):  # already closed: the read is over anyway
            sock.shutdown(socket.SHUT_RDWR)


def _socket_of(response: requests.Response) -> socket.socket | None:
    connection = getattr(response.raw, "connection", None)
    return getattr(connection, "sock", None)


def _error_text(status: int, text: str, payload: Any) -> str:
    if status < 400:
        return ""
    if payload is _NOT_JSON:
        return text[:200].strip()
    if isinstance(payload, dict) and payload.get("error"):
        return str(payload["error"])[:300]
    return ""
