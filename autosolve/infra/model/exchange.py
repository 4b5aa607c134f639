"""One HTTP exchange with a model server, bounded as a whole by a deadline.

``requests`` only bounds each socket read, so a server sending one byte at a
time never times out. urllib3's total timeout bounds the connection and the
wait for the headers; a watchdog shuts the socket down when the deadline
passes while the body is still coming. Shared by every model client.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import requests
import urllib3
from requests.adapters import HTTPAdapter

from autosolve.infra.model.errors import ModelTimeoutError
from autosolve.infra.model.protocol import MAX_CONCURRENCY
from autosolve.infra.transport import raise_short

__all__ = ["NOT_JSON", "BoundedExchange", "Reply", "new_session", "timed"]

logger = logging.getLogger(__name__)

NOT_JSON: Any = object()
""":attr:`Reply.payload` of a body that did not decode as JSON."""


@dataclass(frozen=True)
class Reply:
    """A complete answer: status, headers, body text and the body decoded as JSON."""

    status: int
    headers: Mapping[str, str]
    text: str
    payload: Any
    """The decoded JSON, or :data:`NOT_JSON`."""


def new_session() -> requests.Session:
    """A session whose pool holds a connection for every model request allowed in flight."""
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=1, pool_maxsize=MAX_CONCURRENCY)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


class BoundedExchange:
    """Sends requests that end, answered or not, within ``timeout`` seconds.

    Args:
        timeout: seconds from connecting to the last byte of the answer.
        setting: the key that sets ``timeout``, for the message when it passes.
        timeout_error: the class raised then (a :class:`ModelTimeoutError`).
        session: a ``requests`` session (default: :func:`new_session`).
    """

    def __init__(
        self,
        timeout: float,
        setting: str,
        timeout_error: type[ModelTimeoutError] = ModelTimeoutError,
        session: requests.Session | None = None,
    ) -> None:
        self.timeout = timeout
        self.setting = setting
        self.timeout_error = timeout_error
        self.session = session if session is not None else new_session()

    def request(self, method: str, url: str, **arguments: Any) -> Reply:
        """``method url`` (``requests`` keyword ``arguments``), complete within the timeout.

        Raises:
            ModelTimeoutError: (``timeout_error``) no complete answer in time.
            requests.RequestException: the server cannot be reached (a short message).
        """
        deadline = time.monotonic() + self.timeout
        try:
            response = self.session.request(
                method,
                url,
                # requests hands a urllib3 Timeout to the pool as it is.
                timeout=urllib3.Timeout(total=self.timeout),  # type: ignore[arg-type]
                stream=True,
                **arguments,
            )
        except requests.Timeout:
            response = None
        except requests.RequestException as error:
            raise_short(error, method, url)
        if response is None:  # raised outside the handler: urllib3's text is not its cause
            raise self._timed_out(method, url)
        return self._read(response, deadline, method, url)

    def _read(self, response: requests.Response, deadline: float, method: str, url: str) -> Reply:
        watchdog = _Watchdog(response, deadline - time.monotonic())
        try:
            content = response.content
        except requests.RequestException as error:
            if not watchdog.fired:
                raise_short(error, method, url)
            content = b""
        finally:
            watchdog.cancel()
            response.close()
        if watchdog.fired:  # the shut-down socket may read as a short, clean end
            raise self._timed_out(method, url)
        text = content.decode(response.encoding or "utf-8", errors="replace")
        try:
            payload: Any = response.json()
        except ValueError:
            payload = NOT_JSON
        return Reply(response.status_code, response.headers, text, payload)

    def _timed_out(self, method: str, url: str) -> ModelTimeoutError:
        return self.timeout_error(
            f"{method} {url}: no complete answer within {self.setting} "
            f"({self.timeout:g} s, connect to last byte); the model is too slow or stuck",
            request=requests.Request(method, url),
        )


@contextlib.contextmanager
def timed(hook: Callable[[float], None] | None, owner: str) -> Iterator[None]:
    """Report the block's duration in seconds to ``hook``, failed or not; its errors are logged."""
    started = time.monotonic()
    try:
        yield
    finally:
        if hook is not None:
            try:
                hook(time.monotonic() - started)
            except Exception:
                logger.exception("the on_request hook of %s failed", owner)


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
