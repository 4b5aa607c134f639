"""Clocks: the real one, and a manual one tests move by hand.

Every delay the runtime computes (backoff, ticks, restart intensity) reads a
:class:`Clock`, so a test can jump an hour ahead and assert the exact delay a
policy chose without sleeping.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from typing import Protocol

__all__ = ["Clock", "ManualClock", "SystemClock", "real_monotonic"]


def _unfreezable_monotonic() -> Callable[[], float]:
    """``time.monotonic``, out of reach of test tools that freeze time.

    ``freezegun.freeze_time`` replaces ``time.monotonic`` and every module
    attribute bound to it; a runtime reading the frozen value would wait for
    a due time that never comes. ``clock_gettime(CLOCK_MONOTONIC)`` is the
    same clock (it is what ``time.monotonic`` reads on Linux and macOS) and
    freezegun leaves it alone; elsewhere a partial keeps the real function
    out of sight of freezegun's module scan.
    """
    clock_gettime = getattr(time, "clock_gettime", None)
    clock_id = getattr(time, "CLOCK_MONOTONIC", None)
    if clock_gettime is not None and clock_id is not None:
        return functools.partial(clock_gettime, clock_id)
    return functools.partial(time.monotonic)


real_monotonic: Callable[[], float] = _unfreezable_monotonic()
"""Monotonic seconds that keep running under ``freezegun.freeze_time``."""


class Clock(Protocol):
    """Monotonic time for scheduling, wall time for humans."""

    #: True when time passes by itself; a timer service may then sleep with a
    #: timeout. A manual clock only moves on :meth:`ManualClock.advance`.
    real: bool

    def monotonic(self) -> float: ...
    def time(self) -> float: ...
    def subscribe(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` whenever time jumps (never, for a real clock)."""
        ...


class SystemClock:
    """The process's clocks: real monotonic time for scheduling, ``time.time`` for stamps.

    Under ``freezegun.freeze_time`` timers keep running on real monotonic
    time, while wall-clock stamps (``last_success_at``, ``next_run_at``)
    follow the frozen clock, which is what a test of those stamps wants.
    """

    real = True

    monotonic = staticmethod(real_monotonic)

    def time(self) -> float:
        return time.time()  # looked up per call: a frozen clock applies

    def subscribe(self, callback: Callable[[], None]) -> None:
        pass


class ManualClock:
    """A clock that stands still until a test calls :meth:`advance`.

    Args:
        start: the initial monotonic reading.
        wall: the wall-clock reading (epoch seconds) at ``start``.
    """

    real = False

    def __init__(self, start: float = 1000.0, wall: float = 1_767_225_600.0) -> None:
        self._now = start
        self._wall_offset = wall - start
        self._lock = threading.Lock()
        self._listeners: list[Callable[[], None]] = []

    def monotonic(self) -> float:
        return self._now

    def time(self) -> float:
        return self._now + self._wall_offset

    def subscribe(self, callback: Callable[[], None]) -> None:
        with self._lock:
            self._listeners.append(callback)

    def advance(self, seconds: float) -> None:
        """Move time forward and wake whoever waits on this clock."""
        if seconds < 0:
            raise ValueError("`seconds` must be non-negative")
        with self._lock:
            self._now += seconds
            listeners = list(self._listeners)
        for listener in listeners:
            listener()
