"""HTTP plumbing shared by every actor: a request throttle and a rate-limit gate.

Both objects are meant to be shared by all actor threads that talk to one
service, so they are thread-safe and never hold their lock while sleeping.
Clocks and sleep are injectable so tests can drive them without real waiting;
the defaults look ``time.*`` up at call time so freezegun and gevent's
monkey-patching take effect even for objects created before patching.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from autosolve.infra import clocks

__all__ = ["RateLimitGate", "Throttle"]


class Throttle:
    """Spaces requests at least ``min_interval`` seconds apart, across all threads.

    Each caller reserves the next free slot under the lock and sleeps outside it,
    so N concurrent callers are released one ``min_interval`` apart instead of
    all at once.
    """

    def __init__(
        self,
        min_interval: float,
        sleep: Callable[[float], None] = clocks.sleep,
        monotonic: Callable[[], float] = clocks.monotonic,
    ) -> None:
        if min_interval < 0:
            raise ValueError(f"min_interval must be >= 0, got {min_interval!r}")
        self.min_interval = float(min_interval)
        self._sleep = sleep
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._next_slot: float | None = None

    def wait(self) -> float:
        """Block until this caller's slot; return the seconds slept (0.0 if none)."""
        if self.min_interval <= 0:
            return 0.0
        with self._lock:
            now = self._monotonic()
            slot = now if self._next_slot is None else max(now, self._next_slot)
            self._next_slot = slot + self.min_interval
        delay = slot - now
        if delay > 0:
            self._sleep(delay)
            return delay
        return 0.0

    def __repr__(self) -> str:
        return f"Throttle(min_interval={self.min_interval!r})"


class RateLimitGate:
    """Remembers for how long a service told us to stop sending requests.

    Once a service has said "no more requests for N seconds", asking again
    before then only burns goodwill (and, on GitHub, can get the token banned
    for abuse). The gate lets every sharer of a client fail fast, without
    network traffic, until the wait is over. It counts the wait on a monotonic
    clock: a wall clock stepped back (NTP, a VM resumed) neither lengthens nor
    shortens it.
    """

    def __init__(self, now: Callable[[], float] = clocks.monotonic) -> None:
        self._now = now
        self._lock = threading.Lock()
        self._open_at: float | None = None

    def block_for(self, seconds: float) -> None:
        """Refuse requests for ``seconds`` from now; never shortens a block."""
        with self._lock:
            open_at = self._now() + seconds
            if self._open_at is None or open_at > self._open_at:
                self._open_at = open_at

    def remaining(self) -> float:
        """Seconds until requests may be sent again; ``0.0`` when the gate is open."""
        with self._lock:
            if self._open_at is None:
                return 0.0
            left = self._open_at - self._now()
            if left <= 0:
                self._open_at = None
                return 0.0
            return left

    def __repr__(self) -> str:
        return f"RateLimitGate(remaining={self.remaining()!r})"
