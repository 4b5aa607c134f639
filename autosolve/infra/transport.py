"""Short, readable reasons for transport failures (refused, reset, timed out, …).

``requests`` wraps a refused connection in three layers of urllib3 text
(``HTTPConnectionPool(host=…): Max retries exceeded … (Caused by
NewConnectionError(…: Failed to establish a new connection: [Errno 111]
Connection refused))``). Repeated every few seconds during an outage, that
drowns the log. The clients re-raise the *same* exception class (so the
runtime still classifies it as a node error) with a one-line message built
here: ``connection refused to 127.0.0.1:9 (POST /api/generate)``.
"""

from __future__ import annotations

import http.client
import socket
from collections.abc import Iterator
from typing import NoReturn
from urllib.parse import urlsplit

import requests

__all__ = ["raise_short", "short_reason"]

_MAX_FALLBACK = 160


def short_reason(error: BaseException) -> str:
    """What went wrong, in a few words, found anywhere in the exception's chain."""
    chain = list(_chain(error))
    for link in chain:
        if isinstance(link, socket.gaierror):
            return "cannot resolve the host name"
        if isinstance(link, OSError) and link.errno is not None and link.strerror:
            return link.strerror[:1].lower() + link.strerror[1:]
    for link in chain:
        if isinstance(link, requests.ConnectTimeout) or "ConnectTimeout" in type(link).__name__:
            return "timed out connecting"
        if isinstance(link, requests.ReadTimeout) or "ReadTimeout" in type(link).__name__:
            return "timed out waiting for the answer"
        if isinstance(link, http.client.RemoteDisconnected):
            return "the server closed the connection without answering"
        if isinstance(link, http.client.IncompleteRead):
            return "the answer was cut off"
    last = chain[-1]
    text = str(last).strip() or type(last).__name__
    return text if len(text) <= _MAX_FALLBACK else text[: _MAX_FALLBACK - 1] + "…"


def raise_short(error: requests.RequestException, method: str, url: str) -> NoReturn:
    """Re-raise ``error`` as its own class with a one-line message naming the peer.

    Raises:
        requests.RequestException: always, of the same class as ``error``.
    """
    parts = urlsplit(url)
    peer = parts.netloc.rpartition("@")[2] or url
    message = f"{short_reason(error)} to {peer} ({method} {parts.path or '/'})"
    raise type(error)(message, request=error.request, response=error.response) from None


def _chain(error: BaseException) -> Iterator[BaseException]:
    """Every exception reachable from ``error``: causes, contexts, reasons, args."""
    seen: set[int] = set()
    todo = [error]
    while todo:
        current = todo.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        linked = [current.__cause__, current.__context__, getattr(current, "reason", None)]
        linked += [arg for arg in current.args if isinstance(arg, BaseException)]
        todo.extend(link for link in linked if isinstance(link, BaseException))
