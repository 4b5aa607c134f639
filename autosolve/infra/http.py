"""HTTP plumbing shared by every actor: a request throttle and a rate-limit gate.

Both objects are meant to be shared by all actor threads that talk to one
service, so they are thread-safe and never hold their lock while sleeping.
Clocks and sleep are injectable so tests can drive them without real waiting;
the defaults look ``time.*`` up at call time so freezegun and gevent's
monkey-patching take effect even for objects created before patching.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

__all__ = ["RateLimitGate", "Throttle"]


def _sleep(seconds: float) -> None:
    time.sleep(seconds)


def _monotonic() -> float:
    return time.monotonic()


def _wall_time() -> float:
    return time.time()


class Throttle:
    """Spaces requests at least ``min_interval`` seconds apart, across all threads.

    Each caller reserves the next free slot under the lock and sleeps outside it,
    so N concurrent callers are released one ``min_interval`` apart instead of
    all at once.
    """

    def __init__(
        self,
        min_interval: float,
        sleep: Callable[[float], None] = _sleep,
        monotonic: Callable[[], float] = _monotonic,
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
    """Remembers until when a service told us to stop sending requests.

    Once a service has said "no more requests until T", asking again before T
    only burns goodwill (and, on GitHub, can get the token banned for abuse).
    The gate lets every sharer of a client fail fast, without network traffic,
    until the wall-clock deadline has passed.
    """

    def __init__(self, now: Callable[[], float] = _wall_time) -> None:
        self._now = now
        self._lock = threading.Lock()
        self._blocked_until: float | None = None

    def block_until(self, deadline: float) -> None:
        """Refuse requests until ``deadline`` (epoch seconds); never shortens a block."""
        with self._lock:
            if self._blocked_until is None or deadline > self._blocked_until:
                self._blocked_until = deadline

    def remaining(self) -> float:
        """Seconds until requests may be sent again; ``0.0`` when the gate is open."""
        with self._lock:
            if self._blocked_until is None:
                return 0.0
            left = self._blocked_until - self._now()
            if left <= 0:
                self._blocked_until = None
                return 0.0
            return left

    @property
    def blocked_until(self) -> float | None:
        """The epoch deadline of the current block, if any (for status displays)."""
        with self._lock:
            return self._blocked_until

    def __repr__(self) -> str:
        return f"RateLimitGate(blocked_until={self.blocked_until!r})"
