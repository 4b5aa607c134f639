"""Child actors: one per unit and generation, never reused after a failure."""

from __future__ import annotations

import functools
import math
from typing import TYPE_CHECKING, Any

import pykka
from pykka._envelope import Envelope  # the inbox item type, part of the backend contract

from autosolve.runtime.context import CURRENT_UNIT, Cancelled
from autosolve.runtime.messages import ChildExited, ChildFailed, ChildSucceeded, RunNow
from autosolve.runtime.status import ChildState
from autosolve.runtime.timers import TimerHandle

if TYPE_CHECKING:
    from autosolve.runtime.shared import RunShared
    from autosolve.runtime.slot import ChildSlot

__all__ = ["ChildBehaviour", "child_actor_class", "tell_quietly"]


def tell_quietly(ref: pykka.ActorRef[Any], message: Any) -> None:
    """Tell ``ref`` unless it already stopped (a late timer is not an error)."""
    try:  # noqa: SIM105 - on the tick path; suppress() costs a context manager per tick
        ref.tell(message)
    except pykka.ActorDeadError:
        pass


def _nothing() -> None:
    pass


def _deliver(ref: pykka.ActorRef[Any], envelope: Envelope[Any]) -> None:
    """``tell_quietly`` for a tick, with the envelope made once per timer handle.

    ``ActorRef.tell`` wraps every message in a new envelope, and pykka's loop
    keeps the last one referenced while the actor idles: at tens of thousands
    of workers each tick left one young object alive for a whole interval,
    and every young-generation collection had to scan them all (11 ms at
    20,000 workers). The envelope is pykka's own inbox item, as for any
    backend that implements its inbox; a handle is re-armed only after its
    actor took it out, so one envelope is never in an inbox twice.
    """
    if ref.is_alive():
        ref.actor_inbox.put(envelope)


class ChildBehaviour:
    """Runs a unit's work: once (preflight) or at a fixed rate (worker).

    The work runs inside the actor, so messages that arrive during a tick
    (pause, run-now, stop) are handled after it: ticks of one unit never
    overlap, and a pause lets the current tick finish.

    The tick message is the actor's timer handle itself: the timer loop tells
    the handle that fired, and only the current handle counts as a tick (one
    replaced by a run-now is stale). The handle and its envelope are re-used
    for every tick, so a steady worker allocates nothing per tick that
    outlives the tick (see :func:`_deliver`).
    """

    def __init__(
        self,
        slot: ChildSlot,
        supervisor: pykka.ActorRef[Any],
        shared: RunShared,
    ) -> None:
        super().__init__()
        self._slot = slot
        self._generation = slot.generation
        self._supervisor = supervisor
        self._timers = shared.timers
        self._clock = shared.clock
        self._lateness = shared.lateness
        self._ctx = slot.context
        self._record = slot.record
        self._one_shot = slot.unit.interval is None
        self._work = slot.unit.work
        self._timer = self._new_timer()
        self._due = 0.0
        self._done = False
        self._succeeded_once = False

    def on_start(self) -> None:
        CURRENT_UNIT.set(self._slot.unit.name)  # so log records name their child
        self._due = self._clock.monotonic()
        self.actor_ref.tell(self._timer)  # the first tick runs at once

    def on_stop(self) -> None:
        self._timer.cancel()
        if not self._done and self._record.state != ChildState.SUCCEEDED:
            self._record.state = ChildState.STOPPED
        self._record.next_run_at = None
        tell_quietly(self._supervisor, ChildExited(self._slot.unit.name, self._generation))

    def on_receive(self, message: Any) -> Any:
        if self._done or self._ctx.cancelled:
            return None
        if message is self._timer:
            self._tick()
        elif type(message) is RunNow:
            # The armed handle may already sit in the inbox: replace it, so
            # that stale copy is ignored instead of ticking a second time.
            self._timer.cancel()
            self._timer = self._new_timer()
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
        self._lateness.observe(self._clock.monotonic() - self._due)
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
        if not self._succeeded_once:
            # Retry counters are only written while no actor runs the unit,
            # so the first success of this actor is the only one with any to reset.
            self._succeeded_once = True
            record.reset_attempts()
        if self._one_shot:
            self._finish_one_shot()
        else:
            self._schedule_next()

    def _schedule_next(self) -> None:
        interval = self._record.interval  # work may have changed it (set_interval)
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
        self._timers.arm(self._timer, due)
        self._record.next_run_at = due
        self._record.state = ChildState.IDLE

    def _new_timer(self) -> TimerHandle:
        timer = TimerHandle(_nothing)  # the callback needs the handle itself: set below
        timer.callback = functools.partial(_deliver, self.actor_ref, Envelope(timer))
        return timer

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
