"""One timer service for every delay and tick of a runtime.

A thread (or greenlet) per timer would cost a stack per child; instead all
deadlines live in one calendar served by a single loop. Callbacks run on that
loop and must be quick: the runtime only ever uses them to ``tell`` an actor.
"""

from __future__ import annotations

import heapq
import logging
import math
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from autosolve.runtime.backends import ExecutionBackend
    from autosolve.runtime.clock import Clock
    from autosolve.runtime.locks import Lock

__all__ = ["TimerHandle", "TimerService"]

logger = logging.getLogger(__name__)

_SLOTS_PER_SECOND = 1000
"""The calendar's resolution: one slot per millisecond of the clock; on a real
clock, also how late a handle may fire (the loop wakes once per slot)."""


class TimerHandle:
    """A scheduled callback; :meth:`cancel` makes it a no-op.

    A handle that has fired may be armed again with :meth:`TimerService.arm`:
    a worker re-arms one handle for every tick, so a steady tick allocates
    nothing that outlives it, and the garbage collector has nothing new to scan.
    """

    __slots__ = ("callback", "cancelled", "when")

    def __init__(self, callback: Callable[[], None], when: float = 0.0) -> None:
        self.callback = callback
        self.when = when
        """Monotonic deadline on the service's clock."""
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class TimerService:
    """A calendar of deadlines on ``clock``, fired by one backend loop.

    Handles wait in slots of a millisecond (a dict of lists, by slot
    number), and a small heap of slot numbers says which comes next: arming
    is an append, firing a pop of whole slots, whatever the number of
    handles. A binary heap of handles cost two dozen comparisons of Python
    objects per tick at 100,000 workers, a fifth of a tick's CPU. Handles
    fire slot after slot and, within a slot, in the order they were armed
    (equal deadlines first-come first-served); a handle never fires before
    its deadline. On a real clock the loop sleeps until the *end* of the
    next slot and fires it whole: a handle fires up to a millisecond late,
    and the handles of a millisecond cost one wake-up (timer slack, as the
    kernel's). On a manual clock it fires exactly when the clock reaches the
    deadline.

    Args:
        clock: where deadlines are read; a manual clock wakes the loop when it
            is advanced.
        backend: provides the wake-up primitive and the loop (a thread or a
            greenlet).
    """

    def __init__(self, clock: Clock, backend: ExecutionBackend) -> None:
        self.clock = clock
        self._slots: dict[int, list[TimerHandle]] = {}
        self._numbers: list[int] = []
        """Heap of the numbers of the slots in :attr:`_slots`."""
        self._spare: list[list[TimerHandle]] = []
        """Emptied slots, for the next ones: a slot list made per millisecond would be a
        young container of the handles it holds, and the young collections that scan
        it would visit every handle of that millisecond (at a million children, 50 ms
        pauses); reused, the lists grow old (and frozen) once, and stay so."""
        self._sleeping_until = -math.inf
        """The deadline the loop sleeps until (-inf while it is awake): an earlier
        one must wake it."""
        self._wakeup = backend.make_wakeup()
        self._lock: Lock | None = self._wakeup.lock if backend.parallel else None
        """What :meth:`arm` takes (the wake-up's, where it can race the loop): once per tick."""
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

        A handle still waiting must not be armed again: cancel it and arm a
        new one instead.
        """
        handle.cancelled = False
        handle.when = when
        lock = self._lock
        if lock is not None:
            lock.acquire()
        try:
            number = int(when * _SLOTS_PER_SECOND)  # non-decreasing in ``when``
            slot = self._slots.get(number)
            if slot is None:
                slot = self._slots[number] = self._spare.pop() if self._spare else []
                heapq.heappush(self._numbers, number)
            slot.append(handle)
            earlier = when < self._sleeping_until
        finally:
            if lock is not None:
                lock.release()
        if earlier:
            self._wakeup.notify()
        return handle

    def stop(self) -> None:
        self._stopped = True
        self._wakeup.notify()

    def _run(self) -> None:
        clock = self.clock
        while not self._stopped:
            with self._wakeup.lock:
                now = clock.monotonic()
                due = self._take_due(now)
                if not due:
                    self._sleep(now)
                    continue
            for handle in due:
                if handle.cancelled:
                    continue
                try:
                    handle.callback()
                except Exception:
                    logger.exception("timer callback failed")

    def _take_due(self, now: float) -> list[TimerHandle]:
        """Take the handles due at ``now`` out of the calendar, in firing order."""
        slots, numbers = self._slots, self._numbers
        last = int(now * _SLOTS_PER_SECOND)  # no slot after this one holds a due handle
        due: list[TimerHandle] = []
        while numbers and numbers[0] <= last:
            number = numbers[0]
            slot = slots[number]
            if number == last:  # the current slot: its handles may be due or not
                waiting = [handle for handle in slot if handle.when > now]
                if waiting:
                    due.extend(handle for handle in slot if handle.when <= now)
                    slot[:] = waiting
                    break
            due.extend(slot)
            slot.clear()
            self._spare.append(slot)
            del slots[number]
            heapq.heappop(numbers)
        return due

    def _sleep(self, now: float) -> None:
        """Wait (with the lock held) until the next slot is due, or until notified.

        :attr:`_sleeping_until` says which deadline armed meanwhile is too
        early to wait for: on a real clock one in a slot before the next (the
        next is fired whole at its end), on a manual clock one before the
        earliest deadline waiting.
        """
        numbers = self._numbers
        timeout = None
        if not numbers:
            self._sleeping_until = math.inf
        elif self.clock.real:
            self._sleeping_until = numbers[0] / _SLOTS_PER_SECOND
            timeout = max((numbers[0] + 1) / _SLOTS_PER_SECOND - now, 0.0)
        else:
            self._sleeping_until = min(handle.when for handle in self._slots[numbers[0]])
        self._wakeup.wait(timeout)
        self._sleeping_until = -math.inf
