"""The greenlet backend: gevent's actors, runners, wake-ups and loops.

The actors themselves are in ``gevent_actor.py``; here is what a gevent run
is made of around them: the runners of its hibernating children, the
timer loop's wake-up, and the :class:`GeventBackend` that makes them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import gevent
import gevent.event
import greenlet
import pykka

from autosolve.runtime.backends.gevent_actor import Abandoned, GeventActor, HibernatingGeventActor
from autosolve.runtime.backends.hibernation import HibernatingActor, HibernatingInbox, RunnerPool
from autosolve.runtime.backends.names import Backend

if TYPE_CHECKING:
    from autosolve.runtime.backends.hibernation import Runners

__all__ = ["GeventBackend", "GeventRunners"]


class GeventRunners(RunnerPool[greenlet.greenlet]):
    """The greenlets that run a gevent run's hibernating actors (see ``hibernation.py``).

    The scheme of :class:`RunnerPool`: a runner runs one activation after
    the other, without a switch between them. Should an activation wait on
    I/O, the hub runs the runner called meanwhile, which takes the queue
    over; should it not, the called runner finds nothing and parks again. Every
    :data:`_YIELD_EVERY` activations a runner yields to the hub, so a burst of
    ticks does not hold up the timer loop, the supervisor or the embedding
    service for its whole length. At most :data:`_MOST_IDLE` runners stay
    parked; the others end, and with them their stacks.
    """

    __slots__ = ("_hub", "lock")

    def __init__(self) -> None:
        super().__init__()
        self.lock = None  # greenlets of one thread: a put and a hibernation never interleave
        self._hub = gevent.get_hub()

    def close(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, []
        for runner in idle:
            self._hub.loop.run_callback(runner.switch)

    def _call(self) -> None:
        self._called = True
        while self._idle:
            runner = self._idle.pop()
            if not runner.dead:  # one killed while parked (gevent.killall) is skipped
                self._hub.loop.run_callback(runner.switch)
                return
        gevent.spawn_raw(self._run)

    def _run(self) -> None:
        self._alive += 1
        try:
            self._serve()
        finally:
            self._alive -= 1

    def _serve(self) -> None:
        me = greenlet.getcurrent()
        queue, hub, loop = self._queue, self._hub, self._hub.loop
        while True:
            self._called = False
            ran = 0
            while queue:
                inbox = queue.popleft()
                if queue and not self._called:
                    self._call()
                inbox.run(me)
                ran += 1
                if not ran % _YIELD_EVERY:
                    loop.run_callback(me.switch)
                    hub.switch()
            if self._closed or len(self._idle) >= _MOST_IDLE:
                return
            self._idle.append(me)
            hub.switch()


_YIELD_EVERY = 64
"""Activations a runner runs between two yields to the hub (well under a millisecond)."""

_MOST_IDLE = 16
"""Parked runners a pool keeps; each holds a greenlet and its stack (~10 KiB)."""


def _thread_lock() -> Any:
    """An OS lock, even in a monkey-patched process (where ``threading.Lock`` is gevent's).

    It only guards a few operations that never switch greenlets, so it is
    never contended and never blocks the hub; the OS one is cheaper than
    gevent's, and cheaper than a no-op context manager.
    """
    from gevent.monkey import get_original

    allocate_lock: Callable[[], Any] = get_original("_thread", "allocate_lock")
    return allocate_lock()


def _throw_if_running(inbox: HibernatingInbox, runner: greenlet.greenlet) -> None:
    """End the activation ``runner`` runs for ``inbox``, if it still runs that one.

    The check is made when the hub calls this, not when the abandon was
    asked for: by then the runner may have finished with that actor and be
    running another's tick, which must not be hit.
    """
    if inbox.runner is runner and not runner.dead:
        runner.throw(Abandoned)


class _ParkedWakeup:
    """A condition variable for one waiting greenlet, parked on the hub.

    The timer loop waits once per deadline: ``gevent.event.Event.wait``
    would make a ``Timeout`` and link a waiter for each; this parks the
    greenlet and arms one hub timer. :attr:`lock` is an OS lock (see
    :func:`_thread_lock`), released while parked. A notify while nobody waits
    is kept for the next wait, so none is lost. Both the timer and a notify
    wake the waiter through :meth:`_ring`, which switches only to a greenlet
    still waiting here (never into a wait on something else); a wait may
    so end early (a notify's wake-up that came after the timer's), as any
    condition variable's may.
    """

    __slots__ = ("_hub", "_ringing", "_rung", "_waiter", "lock")

    def __init__(self) -> None:
        self.lock = _thread_lock()
        self._hub = gevent.get_hub()
        self._waiter: greenlet.greenlet | None = None
        self._rung = False
        """Notified while nobody waited: the next wait returns at once."""
        self._ringing = False
        """A :meth:`_ring` is scheduled on the hub already."""

    def wait(self, timeout: float | None) -> None:
        if self._rung:
            self._rung = False
            return
        self._waiter = greenlet.getcurrent()
        timer = None if timeout is None else self._hub.loop.timer(max(timeout, 0.0))
        self.lock.release()
        try:
            if timer is not None:
                timer.start(self._ring)
            self._hub.switch()
        finally:
            self._waiter = None
            if timer is not None:
                timer.close()
            self.lock.acquire()
        self._rung = False

    def notify(self) -> None:
        if self._waiter is None:
            self._rung = True
        elif not self._ringing:
            self._ringing = True
            self._hub.loop.run_callback(self._ring)

    def _ring(self) -> None:
        self._ringing = False
        waiter, self._waiter = self._waiter, None
        if waiter is not None:
            waiter.switch()


class _LaterGreenlet:
    """A :func:`gevent.spawn_later` greenlet, cancelled by killing it."""

    __slots__ = ("_greenlet",)

    def __init__(self, delay: float, callback: Callable[[], None]) -> None:
        self._greenlet = gevent.spawn_later(delay, callback)

    def cancel(self) -> None:
        self._greenlet.kill(block=False)


class GeventBackend:
    """Actors, events, wake-ups and loops on greenlets; timeouts are hub timers."""

    name = Backend.GEVENT
    actor_class = GeventActor
    parallel = False

    def make_event(self) -> gevent.event.Event:
        return gevent.event.Event()

    def make_wakeup(self) -> _ParkedWakeup:
        return _ParkedWakeup()

    def make_lock(self) -> Any:
        # Greenlets of one thread switch only where they block, and nothing
        # a lock guards here blocks: there is nothing to exclude. The OS lock
        # is the cheapest thing to write ``with`` for; on hot paths the
        # runtime takes none at all (``parallel`` is False).
        return _thread_lock()

    def spawn_loop(self, target: Callable[[], None], name: str) -> None:
        loop = gevent.spawn(target)
        loop.name = name

    def call_later_real(self, delay: float, callback: Callable[[], None]) -> _LaterGreenlet:
        return _LaterGreenlet(delay, callback)

    def make_runners(self) -> GeventRunners:
        return GeventRunners()

    def child_actor_class(self, runners: Runners) -> type[HibernatingActor]:
        return type("HibernatingGeventActor", (HibernatingGeventActor,), {"runners": runners})

    def abandon(self, ref: pykka.ActorRef[Any] | None) -> None:
        inbox = None if ref is None else ref.actor_inbox
        if isinstance(inbox, HibernatingInbox) and inbox.runner is not None:
            gevent.get_hub().loop.run_callback(_throw_if_running, inbox, inbox.runner)

    def cooperate(self) -> None:
        gevent.sleep(0)
