"""The OS-thread backend: pykka's own ``ThreadingActor``."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pykka

from autosolve.runtime.backends.hibernation import HibernatingActor, RunnerPool
from autosolve.runtime.backends.names import Backend

if TYPE_CHECKING:
    from autosolve.runtime.backends.hibernation import Runners
    from autosolve.runtime.pykka_internals import ActorInbox

__all__ = ["DaemonThreadingActor", "HibernatingThreadingActor", "ThreadRunners", "ThreadingBackend"]

logger = logging.getLogger("autosolve.runtime")


class DaemonThreadingActor(pykka.ThreadingActor):
    """A threading actor that cannot keep a stopped process alive.

    Work that ignores cancellation past ``runtime.shutdown_timeout`` is
    abandoned; a daemon thread lets the process exit anyway.
    """

    use_daemon_thread = True

    @staticmethod
    def _create_actor_inbox() -> ActorInbox:
        # The C ``SimpleQueue`` instead of ``queue.Queue``: an idle actor then
        # waits on one lock instead of a Python condition variable, which
        # allocates a lock per wait. Inboxes are unbounded either way.
        inbox: queue.SimpleQueue[Any] = queue.SimpleQueue()
        return inbox


class HibernatingThreadingActor(HibernatingActor):
    """A :class:`HibernatingActor` on threads: what a threading run's children are built on."""

    @staticmethod
    def _create_future() -> pykka.Future[Any]:
        return pykka.ThreadingFuture()


class ThreadRunners(RunnerPool[threading.Lock]):
    """The threads that run a threading run's hibernating actors (see ``hibernation.py``).

    The scheme of :class:`RunnerPool`, with :attr:`lock` guarding the pool
    too. A parked runner waits on a lock of its own (the waker releases it):
    one futex wake-up per burst of ticks instead of one per tick. At most
    :data:`_MOST_IDLE` stay parked; the others end.
    """

    __slots__ = ("lock",)

    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()

    def close(self) -> None:
        with self.lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for bell in idle:
            bell.release()

    def _call(self) -> None:
        """Wake a parked runner or start one (with :attr:`lock` held)."""
        if self._idle:
            self._called = True
            self._idle.pop().release()
            return
        try:
            threading.Thread(target=self._run, name="autosolve-runner", daemon=True).start()
        except RuntimeError:  # no more threads: the busy runners take the queue in turn
            logger.exception("could not start a runner thread")
            return
        self._called = True

    def _run(self) -> None:
        with self.lock:
            self._alive += 1
        try:
            self._serve()
        finally:
            with self.lock:
                self._alive -= 1

    def _serve(self) -> None:
        me = threading.current_thread()
        lock, queue = self.lock, self._queue
        bell = threading.Lock()
        bell.acquire()
        lock.acquire()
        self._called = False
        while True:
            if queue:
                inbox = queue.popleft()
                if queue and not self._called:
                    self._call()
                lock.release()
                inbox.run(me)
                lock.acquire()
                continue
            if self._closed or len(self._idle) >= _MOST_IDLE:
                lock.release()
                return
            self._idle.append(bell)
            lock.release()
            bell.acquire()  # parked until a submit or the close releases it
            lock.acquire()
            self._called = False


_MOST_IDLE = 8
"""Parked runner threads a pool keeps."""


class _LockWakeup:
    """A condition variable with a single waiter, made of two plain locks.

    ``threading.Condition`` allocates a lock on every wait; the timer loop
    waits once per deadline, so this one keeps a doorbell lock instead: held
    while nobody rang, released by :meth:`notify`. A ring stays until the
    waiter takes it, so a notify is never lost.
    """

    __slots__ = ("_bell", "lock")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._bell = threading.Lock()
        self._bell.acquire()

    def wait(self, timeout: float | None) -> None:
        self.lock.release()
        try:
            self._bell.acquire(timeout=-1 if timeout is None else max(timeout, 0.0))
        finally:
            self.lock.acquire()

    def notify(self) -> None:
        try:  # noqa: SIM105 - on the tick path; suppress() costs a context manager
            self._bell.release()
        except RuntimeError:
            pass  # already rung


class ThreadingBackend:
    """Actors on OS threads, timeouts on ``threading`` primitives."""

    name = Backend.THREADING
    actor_class = DaemonThreadingActor
    parallel = True

    def make_event(self) -> threading.Event:
        return threading.Event()

    def make_wakeup(self) -> _LockWakeup:
        return _LockWakeup()

    def make_lock(self) -> threading.Lock:
        return threading.Lock()

    def spawn_loop(self, target: Callable[[], None], name: str) -> None:
        threading.Thread(target=target, name=name, daemon=True).start()

    def call_later_real(self, delay: float, callback: Callable[[], None]) -> threading.Timer:
        timer = threading.Timer(delay, callback)
        timer.daemon = True
        timer.start()
        return timer

    def make_runners(self) -> Runners:
        return ThreadRunners()

    def child_actor_class(self, runners: Runners) -> type[HibernatingActor]:
        return type("HibernatingThreadingActor", (HibernatingThreadingActor,), {"runners": runners})

    def abandon(self, ref: pykka.ActorRef[Any] | None) -> None:
        pass  # a thread cannot be interrupted: it finishes on its own

    def cooperate(self) -> None:
        pass  # threads are preempted anyway
