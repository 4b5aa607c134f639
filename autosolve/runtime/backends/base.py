"""What every backend provides.

Below both backends and the package that picks one (:func:`get_backend`),
so none of them imports another to know the contract.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from autosolve.runtime.backends.names import Backend

if TYPE_CHECKING:
    import pykka

    from autosolve.runtime.backends.hibernation import HibernatingActor, Runners
    from autosolve.runtime.context import Event
    from autosolve.runtime.locks import Lock

__all__ = ["Cancellable", "ExecutionBackend", "Wakeup"]


class Wakeup(Protocol):
    """A lock plus a wait that :meth:`notify` interrupts (a condition variable)."""

    lock: Any

    def wait(self, timeout: float | None) -> None:
        """Wait with :attr:`lock` held until notified or ``timeout`` passes."""
        ...

    def notify(self) -> None: ...


class Cancellable(Protocol):
    def cancel(self) -> None: ...


class ExecutionBackend(Protocol):
    """Where a runtime's actors, timers and waits live: see :func:`get_backend`."""

    @property
    def name(self) -> Backend:
        """Which of the two it is."""
        ...

    @property
    def parallel(self) -> bool:
        """Its actors may run at the same time (OS threads): what they share needs a lock.

        Greenlets of one thread switch only where they block, so on the gevent
        backend the runtime's hot paths take no lock at all (``with`` on any
        lock costs a quarter of a microsecond per tick).
        """
        ...

    @property
    def actor_class(self) -> type[pykka.Actor]:
        """The pykka actor class the supervisor is built on (one thread or greenlet of its own)."""
        ...

    def make_runners(self) -> Runners:
        """A pool of runners for one run's hibernating children (closed when the run ends)."""
        ...

    def child_actor_class(self, runners: Runners) -> type[HibernatingActor]:
        """The actor class children are built on: hibernating actors run by ``runners``."""
        ...

    def make_event(self) -> Event: ...
    def make_wakeup(self) -> Wakeup: ...
    def make_lock(self) -> Lock:
        """A lock for counters that actors of this backend update in parallel."""
        ...

    def spawn_loop(self, target: Callable[[], None], name: str) -> None: ...
    def call_later_real(self, delay: float, callback: Callable[[], None]) -> Cancellable:
        """Call ``callback`` (quick, non-blocking) after ``delay`` seconds of real time.

        For deadlines that must pass even on a manual clock: a stop is
        bounded in real seconds.
        """
        ...

    def abandon(self, ref: pykka.ActorRef[Any] | None) -> None:
        """End the running activation of a child that ignores cancellation, if the backend can.

        On greenlets the work sees :class:`Abandoned` (a ``GreenletExit``)
        thrown into it; an OS thread cannot be interrupted and is left to
        finish on its own (a daemon thread: it never holds up exit).
        """
        ...

    def cooperate(self) -> None:
        """Let other actors run before going on (a no-op where they run anyway).

        Loops over thousands of children call this between iterations, so on
        greenlets a long loop neither blocks the hub nor starves the others.
        """
        ...
