"""Child actors: one per unit and generation, never reused after a failure."""

from __future__ import annotations

import functools
import math
from typing import TYPE_CHECKING, Any

import pykka

from autosolve.runtime.context import CURRENT_UNIT, Cancelled
from autosolve.runtime.messages import (
    ChildExited,
    ChildFailed,
    ChildSucceeded,
    RunNow,
    Tick,
)
from autosolve.runtime.status import ChildState

if TYPE_CHECKING:
    from autosolve.runtime.slot import ChildSlot
    from autosolve.runtime.timers import TimerHandle, TimerService

__all__ = ["ChildBehaviour", "child_actor_class", "tell_quietly"]


def tell_quietly(ref: pykka.ActorRef[Any], message: Any) -> None:
    """Tell ``ref`` unless it already stopped (a late timer is not an error)."""
    try:  # noqa: SIM105 - on the tick path; suppress() costs a context manager per tick
        ref.tell(message)
    except pykka.ActorDeadError:
        pass


class ChildBehaviour:
    """Runs a unit's work: once (preflight) or at a fixed rate (worker).

    The work runs inside the actor, so messages that arrive during a tick
    (pause, run-now, stop) are handled after it: ticks of one unit never
    overlap, and a pause lets the current tick finish.
    """

    def __init__(
        self,
        slot: ChildSlot,
        supervisor: pykka.ActorRef[Any],
        timers: TimerService,
    ) -> None:
        super().__init__()
        self._slot = slot
        self._generation = slot.generation
        self._supervisor = supervisor
        self._timers = timers
        self._clock = timers.clock
        self._ctx = slot.context
        self._record = slot.record
        self._interval = slot.unit.interval
        self._work = slot.unit.work
        self._token = 0
        self._timer: TimerHandle | None = None
        self._due = 0.0
        self._done = False

    def on_start(self) -> None:
        CURRENT_UNIT.set(self._slot.unit.name)  # so log records name their child
        self._due = self._clock.monotonic()
        self.actor_ref.tell(Tick(0))

    def on_stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if not self._done and self._record.state != ChildState.SUCCEEDED:
            self._record.state = ChildState.STOPPED
        self._record.next_run_at = None
        tell_quietly(self._supervisor, ChildExited(self._slot.unit.name, self._generation))

    def on_receive(self, message: Any) -> Any:
        if self._done or self._ctx.cancelled:
            return None
        if type(message) is Tick:
            if message.token == self._token:
                self._tick()
        elif type(message) is RunNow:
            if self._timer is not None:
                self._timer.cancel()
            self._due = self._clock.monotonic()
            self._tick(forced=True)
        return None

    def _tick(self, *, forced: bool = False) -> None:
        slot, record = self._slot, self._record
        slot.run_now_pending = False
        if slot.paused and not forced:
            record.state = ChildState.PAUSED
            record.next_run_at = None
            return
        self._ctx.scheduled_at = self._due
        record.state = ChildState.RUNNING
        try:
            self._work(self._ctx)
        except Exception as error:
            if isinstance(error, Cancelled) or self._ctx.cancelled:
                return  # a stop interrupted the work: not a failure
            self._fail(error)
            return
        record.runs += 1
        record.last_success_at = self._clock.time()
        record.reset_attempts()
        if self._interval is None:
            self._finish_one_shot()
        else:
            self._schedule_next()

    def _schedule_next(self) -> None:
        interval = self._interval
        assert interval is not None
        if self._slot.paused:  # resume() sends a RunNow, which reschedules
            self._record.state = ChildState.PAUSED
            self._record.next_run_at = None
            return
        now = self._clock.monotonic()
        due = self._due + interval
        if due <= now:
            # Overran: skip the ticks that were missed instead of bursting.
            due = self._due + interval * (math.floor((now - self._due) / interval) + 1)
        self._due = due
        self._token += 1
        self._timer = self._timers.call_at(
            due, functools.partial(tell_quietly, self.actor_ref, Tick(self._token))
        )
        self._record.next_run_at = due
        self._record.state = ChildState.IDLE

    def _finish_one_shot(self) -> None:
        self._done = True
        self._record.state = ChildState.SUCCEEDED
        self._record.next_run_at = None
        self._supervisor.tell(ChildSucceeded(self._slot.unit.name, self._generation))
        self.actor_ref.stop(block=False)

    def _fail(self, error: Exception) -> None:
        # A failed actor never runs again: the supervisor starts a fresh one.
        self._done = True
        record = self._record
        record.failures += 1
        record.set_error(error)
        record.state = ChildState.FAILED
        record.next_run_at = None
        tell_quietly(self._supervisor, ChildFailed(self._slot.unit.name, self._generation, error))
        self.actor_ref.stop(block=False)


@functools.cache
def child_actor_class(actor_class: type[pykka.Actor]) -> type[pykka.Actor]:
    """The child actor for a backend: the behaviour on the backend's actor."""
    return type(f"Child{actor_class.__name__}", (ChildBehaviour, actor_class), {})
