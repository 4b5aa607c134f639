"""One timer service for every delay and tick of a runtime.

A thread (or greenlet) per timer would cost a stack per child; instead all
deadlines live in one heap served by a single loop. Callbacks run on that loop
and must be quick: the runtime only ever uses them to ``tell`` an actor.
"""

from __future__ import annotations

import heapq
import itertools
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from autosolve.runtime.backends import Backend
    from autosolve.runtime.clock import Clock

__all__ = ["TimerHandle", "TimerService"]

logger = logging.getLogger(__name__)


class TimerHandle:
    """A scheduled callback; :meth:`cancel` makes it a no-op."""

    __slots__ = ("callback", "cancelled", "when")

    def __init__(self, when: float, callback: Callable[[], None]) -> None:
        self.when = when
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class TimerService:
    """A heap of deadlines on ``clock``, fired by one backend loop.

    Args:
        clock: where deadlines are read; a manual clock wakes the loop when it
            is advanced.
        backend: provides the wake-up primitive and the loop (a thread or a
            greenlet).
    """

    def __init__(self, clock: Clock, backend: Backend) -> None:
        self.clock = clock
        self._heap: list[tuple[float, int, TimerHandle]] = []
        self._seq = itertools.count()
        self._wakeup = backend.make_wakeup()
        self._stopped = False
        self._idle = backend.make_event()
        clock.subscribe(self._wakeup.notify)
        backend.spawn_loop(self._run, name="autosolve-timers")

    def call_at(self, when: float, callback: Callable[[], None]) -> TimerHandle:
        """Run ``callback`` on the timer loop once ``clock.monotonic() >= when``."""
        handle = TimerHandle(when, callback)
        with self._wakeup.lock:
            first = not self._heap or when < self._heap[0][0]
            heapq.heappush(self._heap, (when, next(self._seq), handle))
        if first:
            self._wakeup.notify()
        return handle

    def call_later(self, delay: float, callback: Callable[[], None]) -> TimerHandle:
        return self.call_at(self.clock.monotonic() + delay, callback)

    def stop(self) -> None:
        self._stopped = True
        self._wakeup.notify()

    def _run(self) -> None:
        clock = self.clock
        heap = self._heap
        while not self._stopped:
            due: list[TimerHandle] = []
            with self._wakeup.lock:
                now = clock.monotonic()
                while heap and heap[0][0] <= now:
                    due.append(heapq.heappop(heap)[2])
                if not due:
                    timeout = (heap[0][0] - now) if heap and clock.real else None
                    self._wakeup.wait(timeout)
                    continue
            for handle in due:
                if handle.cancelled:
                    continue
                try:
                    handle.callback()
                except Exception:
                    logger.exception("timer callback failed")
