"""What every part of a supervisor shares: the run's phase and options, its clocks, its events."""

from __future__ import annotations

import functools
import logging
from typing import TYPE_CHECKING, Any

from autosolve.runtime.child import tell_quietly
from autosolve.runtime.contained import GreenletExit
from autosolve.runtime.events import EventKind, RuntimeEvent
from autosolve.runtime.status import Phase

if TYPE_CHECKING:
    import pykka

    from autosolve.runtime.backends.base import Cancellable
    from autosolve.runtime.shared import RunShared
    from autosolve.runtime.supervisor.options import SupervisorOptions
    from autosolve.runtime.timers import TimerHandle

__all__ = ["SupervisorCore", "logger"]

logger = logging.getLogger("autosolve.runtime")


class SupervisorCore:
    """The supervisor's own state that each of its parts reads, and the means they act by.

    Every part of the supervisor (the child table, the launcher, the restart
    planner, the watchdog, the stop...) runs on the supervisor's actor and
    gets this one object instead of a reference to the supervisor: what they
    share is written here once, and none of them reaches into another.

    Args:
        ref: the supervisor's own actor: timers tell it what fell due.
        shared: what the run's actors share (backend, timers, clock).
        options: the supervision options; :attr:`options` may be replaced later.
    """

    def __init__(self, ref: pykka.ActorRef[Any], shared: RunShared, options: SupervisorOptions):
        self.ref = ref
        self.shared = shared
        self.backend = shared.backend
        self.timers = shared.timers
        self.clock = shared.clock
        self.options = options
        """Replaced whole by ``update_options``: read it at each use, never keep it."""
        self.phase = Phase.PREFLIGHT
        """Where the run is; written by the supervisor and its stop only."""
        self._real_deadlines: dict[object, Cancellable] = {}
        """Real-time timers not fired yet, by the message they will tell."""

    def emit(self, kind: EventKind, name: str | None = None, detail: Any = None) -> None:
        """Tell the observer; one that raises is logged and changes nothing."""
        observer = self.options.observer
        if observer is not None:
            try:
                observer(RuntimeEvent(kind, name, detail))
            except GreenletExit:
                raise
            except BaseException:
                logger.exception("runtime observer failed on a %s event", kind)

    def set_phase(self, phase: Phase) -> None:
        self.phase = phase
        logger.info("phase: %s", phase)
        self.emit(EventKind.PHASE, detail=phase)

    def later(self, delay: float, message: object) -> TimerHandle:
        """Tell the supervisor ``message`` after ``delay`` seconds of the run's clock."""
        return self.timers.call_later(delay, functools.partial(tell_quietly, self.ref, message))

    def later_real(self, delay: float, message: object) -> None:
        """Tell the supervisor ``message`` after ``delay`` seconds of real time.

        For the bounds of stops, which hold even on a manual clock. The
        handler calls :meth:`fired` with the message; whatever has not fired
        when the run ends is cancelled by :meth:`cancel_real_deadlines`.
        """
        self._real_deadlines[message] = self.backend.call_later_real(
            delay, functools.partial(tell_quietly, self.ref, message)
        )

    def fired(self, message: object) -> None:
        """``message`` of :meth:`later_real` arrived: nothing left to cancel for it."""
        self._real_deadlines.pop(message, None)

    def cancel_real_deadlines(self) -> None:
        for deadline in self._real_deadlines.values():
            deadline.cancel()
        self._real_deadlines.clear()

    def refusal(self) -> str | None:
        """Why a change cannot be made now (the run is stopping or over), or None."""
        return None if self.phase.running else f"the runtime is {self.phase}"
