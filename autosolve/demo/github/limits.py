"""GitHub's secondary rate limits, enforced by the simulated GitHub when asked to.

GitHub documents, beside the hourly 5,000 requests: at most 900 points per
minute on REST endpoints (a GET, HEAD or OPTIONS costs 1 point, any other
method 5), at most 100 concurrent requests, and at most 80 content-creating
requests per minute and 500 per hour. A request beyond any of them is
answered ``403`` with a secondary-rate-limit message and ``retry-after``.
A 304 counts like any answer.

This is deliberately written apart from :mod:`autosolve.infra.budget`: a
simulation that shared the daemon's arithmetic could not catch its mistakes.
The "minute" is ``window`` seconds and the "hour" 60 of them, so tests
compress time the way the daemon's ``github.budget.window`` does.

Example::

    github.limits = GitHubLimits(points=60, window=10.0)
    ...
    assert github.limits.rejected == []
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from autosolve.demo.server import Request, Response

__all__ = ["GitHubLimits", "Rejection"]

DOCS = "https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api"
SECONDARY_MESSAGE = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
    "If you reach out to GitHub Support for help, please include the request ID."
)
_READS = ("GET", "HEAD", "OPTIONS")


@dataclass(frozen=True)
class Rejection:
    """One request the simulation refused, and which limit it broke."""

    method: str
    path: str
    limit: str
    retry_after: int


@dataclass
class GitHubLimits:
    """The limits, the arrivals they are counted over, and what was refused.

    Defaults are GitHub's documented numbers.
    """

    points: int = 900
    window: float = 60.0
    concurrency: int = 100
    writes: int = 80
    writes_long: int = 500
    clock: Callable[[], float] = time.monotonic
    rejected: list[Rejection] = field(default_factory=list)
    """Every refusal, in order."""
    admitted: int = 0
    """Requests served within the limits."""
    peak_in_flight: int = 0
    peak_points: int = 0
    """The most points seen in one window (at an arrival)."""

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._arrivals: deque[tuple[float, int]] = deque()  # (time, points) within a window
        self._writes: deque[float] = deque()  # times of writes within the long window
        self._in_flight = 0

    @contextmanager
    def admit(self, request: Request) -> Iterator[Response | None]:
        """Yield ``None`` for a request within the limits (served meanwhile), else the 403."""
        refusal = self._check_in(request)
        if refusal is not None:
            yield refusal
            return
        try:
            yield None
        finally:
            with self._lock:
                self._in_flight -= 1

    def _check_in(self, request: Request) -> Response | None:
        now = self.clock()
        write = request.method not in _READS
        cost = 1 if not write else 5
        with self._lock:
            while self._arrivals and self._arrivals[0][0] <= now - self.window:
                self._arrivals.popleft()
            while self._writes and self._writes[0] <= now - 60 * self.window:
                self._writes.popleft()
            spent = sum(points for _, points in self._arrivals)
            broken = None
            if self._in_flight >= self.concurrency:
                broken, wait = "concurrency", 1.0
            elif spent + cost > self.points:
                broken, wait = "points", self._until_room(now, spent + cost - self.points)
            elif write and self._recent_writes(now) >= self.writes:
                broken, wait = "writes", self._write_expiry(now)
            elif write and len(self._writes) >= self.writes_long:
                broken, wait = "writes per hour", self._writes[0] + 60 * self.window - now
            if broken is not None:
                retry = max(math.ceil(wait), 1)
                self.rejected.append(Rejection(request.method, request.path, broken, retry))
                return Response.json(
                    403,
                    {"message": SECONDARY_MESSAGE, "documentation_url": DOCS},
                    {"retry-after": str(retry)},
                )
            self._arrivals.append((now, cost))
            if write:
                self._writes.append(now)
            self._in_flight += 1
            self.admitted += 1
            self.peak_in_flight = max(self.peak_in_flight, self._in_flight)
            self.peak_points = max(self.peak_points, spent + cost)
            return None

    def _until_room(self, now: float, excess: int) -> float:
        for stamp, points in self._arrivals:
            excess -= points
            if excess <= 0:
                return stamp + self.window - now
        return self.window

    def _recent_writes(self, now: float) -> int:
        return sum(1 for stamp in self._writes if stamp > now - self.window)

    def _write_expiry(self, now: float) -> float:
        recent = [stamp for stamp in self._writes if stamp > now - self.window]
        return recent[0] + self.window - now
