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
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from autosolve.runtime.backends import ExecutionBackend
    from autosolve.runtime.clock import Clock

__all__ = ["TimerHandle", "TimerService"]

logger = logging.getLogger(__name__)


class TimerHandle(list[Any]):
    """A scheduled callback; :meth:`cancel` makes it a no-op.

    Handles are the heap's entries themselves. A handle is the list
    ``[when, seq, callback]`` so that ``heapq`` orders handles by deadline,
    then by arming order (equal deadlines fire first-come first-served), with
    the C list comparison: a Python ``__lt__`` would be called some thirty
    times per tick at tens of thousands of timers. A handle that has fired may
    be armed again with :meth:`TimerService.arm`: a worker re-arms one handle
    for every tick, so a steady tick allocates nothing that outlives it, and
    the garbage collector has nothing new to scan.
    """

    __slots__ = ("cancelled",)

    def __init__(self, callback: Callable[[], None], when: float = 0.0) -> None:
        super().__init__((when, 0, callback))
        self.cancelled = False

    @property
    def when(self) -> float:
        """Monotonic deadline on the service's clock."""
        when: float = self[0]
        return when

    @property
    def callback(self) -> Callable[[], None]:
        callback: Callable[[], None] = self[2]
        return callback

    @callback.setter
    def callback(self, callback: Callable[[], None]) -> None:
        self[2] = callback

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

    def __init__(self, clock: Clock, backend: ExecutionBackend) -> None:
        self.clock = clock
        self._heap: list[TimerHandle] = []
        self._seq = itertools.count()
        self._wakeup = backend.make_wakeup()
        self._stopped = False
        clock.subscribe(self._wakeup.notify)
        backend.spawn_loop(self._run, name="autosolve-timers")

    def call_at(self, when: float, callback: Callable[[], None]) -> TimerHandle:
        """Run ``callback`` on the timer loop once ``clock.monotonic() >= when``."""
        return self.arm(TimerHandle(callback), when)

    def call_later(self, delay: float, callback: Callable[[], None]) -> TimerHandle:
        return self.call_at(self.clock.monotonic() + delay, callback)

    def arm(self, handle: TimerHandle, when: float) -> TimerHandle:
        """Schedule ``handle`` (new, or one that has fired) to fire at ``when``.

        A handle still waiting in the heap must not be armed again: cancel it
        and arm a new one instead.
        """
        handle.cancelled = False
        heap = self._heap
        with self._wakeup.lock:
            handle[0] = when
            handle[1] = next(self._seq)
            first = not heap or when < heap[0][0]
            heapq.heappush(heap, handle)
        if first:
            self._wakeup.notify()
        return handle

    def stop(self) -> None:
        self._stopped = True
        self._wakeup.notify()

    def _run(self) -> None:
        clock = self.clock
        heap = self._heap
        heappop = heapq.heappop
        while not self._stopped:
            due: list[TimerHandle] = []
            with self._wakeup.lock:
                now = clock.monotonic()
                while heap and heap[0][0] <= now:
                    due.append(heappop(heap))
                if not due:
                    timeout = (heap[0][0] - now) if heap and clock.real else None
                    self._wakeup.wait(timeout)
                    continue
            for handle in due:
                if handle.cancelled:
                    continue
                try:
                    handle[2]()
                except Exception:
                    logger.exception("timer callback failed")
