"""What every actor of one run shares: timers, the clock, tick statistics, the stop flag."""

from __future__ import annotations

from typing import TYPE_CHECKING

from autosolve.runtime.lateness import LatenessHistogram

if TYPE_CHECKING:
    from autosolve.runtime.backends import ExecutionBackend
    from autosolve.runtime.backends.hibernation import Runners
    from autosolve.runtime.clock import Clock
    from autosolve.runtime.locks import Lock
    from autosolve.runtime.timers import TimerService

__all__ = ["RunShared"]


class RunShared:
    """One run's common ground, handed to the supervisor and to every child.

    Children write here without a message to the supervisor (a tick must not
    cost a round trip); every write is a single attribute or container
    operation, whole under the GIL.
    """

    __slots__ = (
        "backend", "clock", "collector_frozen", "lateness", "runners", "stopping", "tick_lock",
        "timers",
    )  # fmt: skip

    def __init__(self, backend: ExecutionBackend, timers: TimerService) -> None:
        self.backend = backend
        self.timers = timers
        self.runners: Runners = backend.make_runners()
        """Run the children's activations (children hibernate between messages)."""
        self.clock: Clock = timers.clock
        self.tick_lock: Lock | None = backend.make_lock() if backend.parallel else None
        """Guards what every tick updates (the lateness histogram, the status view's
        counts) where ticks run in parallel; None on greenlets, where they cannot
        interleave: ``with`` on any lock costs a quarter of a microsecond per tick."""
        self.lateness = LatenessHistogram(self.tick_lock)
        """How late ticks started (see :meth:`RuntimeHandle.tick_lateness`)."""
        self.stopping = False
        """Set once a stop began: from then on no tick starts."""
        self.collector_frozen = False
        """The run froze the garbage collector's objects (``gc.freeze``): its end thaws them."""
