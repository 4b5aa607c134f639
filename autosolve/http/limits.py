"""What a client may cost the HTTP endpoint, on either backend.

A slow or idle client must cost a buffer, never the endpoint's ability to
answer others (``/healthz`` stays prompt with hundreds of such connections):

- the request line and headers must arrive within :data:`HEAD_TIMEOUT`
  seconds, a body within :data:`BODY_TIMEOUT`; a client that trickles them
  slower is answered 408 and closed;
- one address holds at most :data:`PER_ADDRESS` connections and the
  endpoint :data:`MAX_CONNECTIONS`; one more is answered 503 and closed;
- a request target that does not parse (``GET //[x``) is answered 400 and
  logged at DEBUG: it is the client's mistake, not the daemon's.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from urllib.parse import urlsplit

from autosolve.control.protocol import MAX_LINE

__all__ = [
    "BODY_TIMEOUT",
    "HEAD_TIMEOUT",
    "MAX_BODY",
    "MAX_CONNECTIONS",
    "MAX_HEAD",
    "PER_ADDRESS",
    "ClientLimits",
    "early_answer",
    "target_problem",
]

HEAD_TIMEOUT = 5.0
"""Seconds from a connection's start (or its previous answer) to the end of the headers."""

BODY_TIMEOUT = 30.0
"""Seconds from the end of the headers to the end of the body."""

MAX_HEAD = 16 * 1024
"""Bytes of request line and headers; a browser sends about one kilobyte."""

MAX_BODY = MAX_LINE
"""Largest ``POST /api/control`` body, in bytes: a control request line's limit."""

PER_ADDRESS = 64
"""Connections one client address may hold open at once."""

MAX_CONNECTIONS = 512
"""Connections the endpoint holds open at once (well below a process's 1,024 files)."""


class ClientLimits:
    """Counts open connections per client address; refuses those over the limits."""

    def __init__(self, per_address: int = PER_ADDRESS, total: int = MAX_CONNECTIONS) -> None:
        self.per_address = per_address
        self.total = total
        self._lock = threading.Lock()
        self._open: Counter[str] = Counter()

    def admit(self, address: str) -> str | None:
        """Count a connection from ``address`` in; or why it is refused (then not counted)."""
        with self._lock:
            if self._open.total() >= self.total:
                return f"too many connections ({self.total} open); try again later"
            if self._open[address] >= self.per_address:
                return (
                    f"too many connections from {address} ({self.per_address} open); "
                    "try again later"
                )
            self._open[address] += 1
            return None

    def release(self, address: str) -> None:
        """Count a connection from ``address`` out (once per admitted connection)."""
        with self._lock:
            self._open[address] -= 1
            if self._open[address] <= 0:
                del self._open[address]

    def open(self, address: str | None = None) -> int:
        """Connections open, from ``address`` or in all."""
        with self._lock:
            return self._open.total() if address is None else self._open[address]


def target_problem(target: str) -> str | None:
    """Why a request target cannot be served, or None when it parses."""
    try:
        urlsplit(target)
    except ValueError as error:
        return f"malformed request target: {error}"
    return None


def early_answer(status: str, error: str) -> bytes:
    """A whole HTTP answer for a request refused before the application saw it."""
    body = json.dumps({"ok": False, "error": error}).encode()
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode("latin-1") + body
