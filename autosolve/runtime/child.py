"""Child actors: one per unit and generation, never reused after a failure."""

from __future__ import annotations

import functools
import math
import sys
from typing import TYPE_CHECKING, Any, Self

import pykka

from autosolve.runtime.contained import Contained
from autosolve.runtime.context import CURRENT_CONTEXT, CURRENT_UNIT
from autosolve.runtime.errors import TickOverdue
from autosolve.runtime.messages import (
    STOP_CHILD,
    ChildExited,
    ChildFailed,
    ChildSucceeded,
    FirstTickDone,
    RunNow,
)
from autosolve.runtime.pykka_internals import Envelope
from autosolve.runtime.status import ChildState
from autosolve.runtime.timers import TimerHandle

if TYPE_CHECKING:
    from autosolve.runtime.backends.hibernation import HibernatingActor
    from autosolve.runtime.shared import RunShared
    from autosolve.runtime.slot import ChildSlot

    _HibernatingBase = HibernatingActor
    """What the behaviour is always combined with (see :func:`child_actor_class`)."""
else:
    _HibernatingBase = object

__all__ = ["ChildBehaviour", "child_actor_class", "tell_quietly"]

_IDLE, _PAUSED = ChildState.IDLE, ChildState.PAUSED
"""Read once: an enum member costs a quarter of a microsecond per lookup, on every tick."""


def tell_quietly(ref: pykka.ActorRef[Any], message: Any) -> None:
    """Tell ``ref`` unless it already stopped (a late timer is not an error)."""
    try:  # noqa: SIM105 - on the tick path; suppress() costs a context manager per tick
        ref.tell(message)
    except pykka.ActorDeadError:
        pass


def _nothing() -> None:
    pass


class ChildBehaviour(Contained, _HibernatingBase):
    """Runs a unit's work: once (preflight) or at a fixed rate (worker).

    The work runs inside the actor, so messages that arrive during a tick
    (pause, run-now, stop) are handled after it: ticks of one unit never
    overlap, and a pause lets the current tick finish.

    The tick message is the actor's timer handle itself: the timer loop tells
    the handle that fired, and only the current handle counts as a tick (one
    replaced by a run-now is stale). The handle and its envelope are re-used
    for every tick, so a steady worker allocates nothing per tick that
    outlives the tick (see :meth:`_new_timer`).

    Whatever ends the actor (a stop, a reported result, a bug in this class,
    a kill from outside), its last act (:meth:`_actor_ended`) is to tell the
    supervisor :class:`ChildExited`, with the crash if there was one: the
    link of an Erlang process to its supervisor.
    """

    def __init__(
        self,
        slot: ChildSlot,
        supervisor: pykka.ActorRef[Any],
        shared: RunShared,
    ) -> None:
        super().__init__()
        self._slot = slot
        self._name = slot.unit.name
        self._generation = slot.generation
        self._supervisor = supervisor
        self._shared = shared
        self._timers = shared.timers
        self._clock = shared.clock
        self._lateness = shared.lateness
        context = slot.context
        assert context is not None
        self._ctx = context
        self._record = slot.record
        self._one_shot = slot.unit.interval is None
        self._work = slot.unit.work
        self._timer = self._new_timer()
        self._due = 0.0
        self._done = False
        """Reported a result (success or failure): nothing more to do but end."""
        self._succeeded_once = False
        self._admitting = slot.admitting
        """Tell the supervisor when the first tick is over (see :class:`FirstTickDone`)."""

    @classmethod
    def start(cls, *args: Any, **kwargs: Any) -> pykka.ActorRef[Self]:
        """Start the actor *without* registering it in pykka's ``ActorRegistry``.

        pykka's registry is a list: unregistering scans it, so stopping N
        registered children costs O(N²) (50 s at 50,000). The supervisor
        holds its children's refs itself; and the embedding application's
        ``ActorRegistry.stop_all()`` cannot yank them from under it.
        """
        actor = cls(*args, **kwargs)
        actor._start_actor_loop()
        ref: pykka.ActorRef[Self] = actor.actor_ref
        return ref

    # -- lifecycle -------------------------------------------------------------

    def _actor_ended(self, crash: BaseException | None) -> None:
        self._timer.cancel()
        self.crash = self.crash or crash
        tell_quietly(self._supervisor, ChildExited(self._slot, self._generation, self.crash))

    def _stop(self) -> None:
        # pykka's, but for its registry: a child is never in it (see start),
        # and unregistering took a lock and formatted two debug lines per child
        # (a tenth of a stop's time at 100,000 children).
        self.actor_stopped.set()
        try:
            self.on_stop()
        except Exception:
            self._handle_failure(*sys.exc_info())

    def on_start(self) -> None:
        # In the actor's own context (see HibernatingActor): whichever runner
        # runs its later activations, these stay set for its code.
        CURRENT_UNIT.set(self._name)  # so log records name their child
        CURRENT_CONTEXT.set(self._ctx)
        self._due = self._clock.monotonic()
        self.actor_ref.tell(self._timer)  # the first tick: now

    def _handle_envelope(self, envelope: Envelope[Any]) -> None:
        # The tick and the stop, the messages every child gets, are neither
        # proxy calls nor asks: they skip pykka's dispatch. The tick's work
        # runs guarded in _tick; anything else raising here ends this actor
        # as a crash.
        message = envelope.message
        if message is self._timer:
            if not (self._done or self._shared.stopping or self._ctx.cancelled):
                self._tick()
        elif message is STOP_CHILD:
            self._stop()  # now: what was queued before it is handled already
        else:
            super()._handle_envelope(envelope)
            return
        if self._admitting:
            self._message_done()

    def on_receive(self, message: Any) -> Any:
        if type(message) is RunNow and self._wants(message):
            # The armed handle may already sit in the inbox: replace it, so
            # that stale copy is ignored instead of ticking a second time.
            self._timer.cancel()
            self._timer = self._new_timer()
            self._due = self._clock.monotonic()
            self._tick(forced=True)
        if self._admitting:
            self._message_done()
        return None

    def _message_done(self) -> None:
        """The first message of an admitted child is handled: another may start."""
        self._admitting = False
        tell_quietly(self._supervisor, FirstTickDone(self._slot, self._generation))

    def _wants(self, run_now: RunNow) -> bool:
        """A run-now ticks even a paused worker, unless a pause came after it."""
        if self._done or self._shared.stopping or self._ctx.cancelled:
            return False
        return not (self._slot.paused and run_now.epoch != self._slot.pause_epoch)

    # -- ticks -----------------------------------------------------------------

    def _tick(self, *, forced: bool = False) -> None:
        slot, record, ctx = self._slot, self._record, self._ctx
        slot.run_now_pending = False
        if slot.paused and not forced:
            record.state = _PAUSED
            record.next_run_at = None
            return
        now = self._clock.monotonic()
        self._lateness.observe(now - self._due)
        ctx.scheduled_at = self._due
        record.running_since = now  # the child shows as running until it is cleared
        try:
            self._work(ctx)
        except BaseException as error:
            self._after_work(error)
            return
        self._after_work(None)

    def _after_work(self, error: BaseException | None) -> None:
        slot, record, ctx = self._slot, self._record, self._ctx
        if slot.generation != self._generation:
            # Declared hung and replaced while the work ran (or killed for
            # it): the slot and its record belong to a fresh actor now.
            self._done = True
            self.stop()
            return
        record.running_since = None
        if ctx.cancelled:
            if ctx.overdue:
                self._fail(TickOverdue(self._name, self._clock.monotonic() - self._due))
            return  # a stop interrupted the work: not a failure
        if error is not None:
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
        record = self._record
        interval = record.interval  # work may have changed it (set_interval)
        assert interval is not None
        if self._slot.paused:  # resume() sends a RunNow, which reschedules
            record.state = _PAUSED
            record.next_run_at = None
            return
        now = self._clock.monotonic()
        due = self._due + interval
        if due < now:
            # Overran: skip the ticks that were missed instead of bursting;
            # a slot that falls due exactly now is not missed.
            due = self._due + interval * math.ceil((now - self._due) / interval)
        self._due = due
        self._timers.arm(self._timer, due)
        record.next_run_at = due
        record.state = _IDLE

    def _new_timer(self) -> TimerHandle:
        """A handle that, when it fires, puts itself into this actor's inbox: the tick.

        ``ActorRef.tell`` would wrap every tick in a new envelope, each a young
        object alive for a whole interval that every young-generation
        collection had to scan (11 ms at 20,000 workers): the handle's envelope,
        pykka's own inbox item, is made once. A handle is re-armed only after
        its actor took it out, so one envelope is never in an inbox twice; an
        inbox whose actor ended drops what it is given, so a late tick is no error.
        """
        timer = TimerHandle(_nothing)  # the callback needs the handle itself: set below
        timer.callback = functools.partial(self.actor_inbox.put, Envelope(timer))
        return timer

    # -- results ---------------------------------------------------------------

    def _finish_one_shot(self) -> None:
        self._done = True
        self._record.state = ChildState.SUCCEEDED
        self._record.next_run_at = None
        tell_quietly(self._supervisor, ChildSucceeded(self._slot, self._generation))
        self.stop()

    def _fail(self, error: BaseException) -> None:
        # A failed actor never runs again: the supervisor starts a fresh one.
        # It keeps the books (counters, error text) and may format the error:
        # arbitrary code, which must not run here, on the failure path.
        self._done = True
        self._record.state = ChildState.FAILED
        self._record.next_run_at = None
        tell_quietly(self._supervisor, ChildFailed(self._slot, self._generation, error))
        self.stop()


def child_actor_class(actor_class: type[HibernatingActor]) -> type[HibernatingActor]:
    """The child actor of a run: the behaviour on the backend's hibernating actor."""
    return type(f"Child{actor_class.__name__}", (ChildBehaviour, actor_class), {})
