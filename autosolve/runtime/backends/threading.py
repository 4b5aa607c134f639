"""The OS-thread backend: pykka's own ``ThreadingActor``."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pykka

from autosolve.runtime.backends.names import Backend

if TYPE_CHECKING:
    from autosolve.runtime.pykka_internals import ActorInbox

__all__ = ["DaemonThreadingActor", "ThreadingBackend"]


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

    def current_runner(self) -> None:
        return None  # a thread cannot be ended from outside

    def abandon(self, runner: Any) -> None:
        pass

    def cooperate(self) -> None:
        pass  # threads are preempted anyway
