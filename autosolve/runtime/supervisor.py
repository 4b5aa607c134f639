"""The supervisor: two phases, Erlang-style restarts, a bounded stop, a tick watchdog."""

from __future__ import annotations

import functools
import logging
import math
import random
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pykka

from autosolve.runtime.child import child_actor_class, tell_quietly
from autosolve.runtime.classify import Classifier, classify
from autosolve.runtime.contained import Contained, GreenletExit
from autosolve.runtime.context import WorkContext
from autosolve.runtime.control import ControlMixin
from autosolve.runtime.errors import ActorDied, TickHung
from autosolve.runtime.events import EventKind, Failure, Observer, RuntimeEvent
from autosolve.runtime.messages import (
    STOP_CHILD,
    STOP_DEADLINE,
    STOP_RUN,
    SWEEP,
    ChildExited,
    ChildFailed,
    ChildSucceeded,
    RestartDue,
)
from autosolve.runtime.policy import Category, Policies, default_policies
from autosolve.runtime.slot import ChildSlot
from autosolve.runtime.status import ChildState, Phase, describe_error

if TYPE_CHECKING:
    from autosolve.runtime.backends import Backend, Cancellable
    from autosolve.runtime.context import Event
    from autosolve.runtime.shared import RunShared
    from autosolve.runtime.timers import TimerHandle
    from autosolve.runtime.units import Unit

__all__ = [
    "Observer",
    "Outcome",
    "RunResult",
    "RuntimeEvent",
    "SupervisorBehaviour",
    "SupervisorOptions",
    "supervisor_actor_class",
]

logger = logging.getLogger("autosolve.runtime")

_COOPERATE_EVERY = 500
"""Children handled between two yields of a loop over all of them."""

_ABANDONED_NAMED = 100
"""Children named in the one log line of a stop that abandoned some (the rest are counted)."""


@dataclass(frozen=True)
class RunResult:
    """How a run ended: ``ok`` after a requested stop, else the reason it failed."""

    ok: bool
    reason: str | None = None


@dataclass(frozen=True)
class SupervisorOptions:
    """Everything about supervision that is not the units themselves."""

    policies: Policies = field(default_factory=Policies)
    classifier: Classifier | None = None
    shutdown_timeout: float = 30.0
    """Seconds (real time) a stop waits for children; also how long a cancelled tick may take."""
    tick_deadline: float = 0.0
    """Seconds a tick may run before it is cancelled; 0 = 10 × the interval, at least 60 s."""
    max_restarts: int = 0
    """Give up after more than this many restarts within ``within_seconds``; 0 = never."""
    within_seconds: float = 60.0
    shutdown_hooks: Sequence[Callable[[], None]] = ()
    """Run once every child stopped or was abandoned, in order, on every way out."""
    observer: Observer | None = None
    rng: random.Random | None = None


class Outcome:
    """Where the supervisor leaves its :class:`RunResult` for whoever waits."""

    def __init__(self, done: Event) -> None:
        self._done = done
        self.result: RunResult | None = None
        self.final_status: dict[str, Any] | None = None
        """The status document as the run ended, for callers who ask afterwards."""

    def set(self, result: RunResult) -> None:
        self.result = result
        self._done.set()

    def wait(self, timeout: float | None = None) -> RunResult | None:
        self._done.wait(timeout)
        return self.result


class SupervisorBehaviour(ControlMixin, Contained):  # type: ignore[misc]  # stop(): see below
    """Starts preflights, then workers; restarts failures; answers control calls.

    Its own handling is guarded: a classifier, policy, observer or error
    formatter that raises is logged with its traceback and the failure is
    handled as unknown (degraded). Should the actor die anyway, its loop
    wrapper stops the children, runs the hooks and leaves a failed
    :class:`RunResult` naming the crash, so whoever waits learns of it.

    ``stop()`` here is the control call (begin a graceful stop of the run),
    not pykka's ``Actor.stop()``: the supervisor ends itself through its ref.
    """

    def __init__(
        self,
        preflights: Sequence[Unit],
        workers: Sequence[Unit],
        *,
        shared: RunShared,
        options: SupervisorOptions,
        outcome: Outcome,
    ) -> None:
        super().__init__()
        counts = Counter(u.name for u in (*preflights, *workers))
        duplicates = sorted(name for name, count in counts.items() if count > 1)
        if duplicates:
            raise ValueError(f"duplicate unit names: {', '.join(duplicates)}")
        self._preflights = [ChildSlot(u) for u in preflights]
        self._workers = [ChildSlot(u) for u in workers]
        self._slots = {s.unit.name: s for s in (*self._preflights, *self._workers)}
        self._started: list[ChildSlot] = []
        self._preflights_left = len(self._preflights)
        self._shared = shared
        self._backend: Backend = shared.backend
        self._timers = shared.timers
        self._clock = shared.clock
        self._options = options
        self._outcome = outcome
        self._child_class = child_actor_class(self._backend.actor_class)
        self._restart_times: deque[float] = deque()
        self._phase = Phase.PREFLIGHT
        self._sweep_period = _sweep_period((*preflights, *workers), options)
        self._sweep_timer: TimerHandle | None = None
        self._failure: str | None = None
        self._culprit: ChildSlot | None = None
        self._outstanding: set[ChildSlot] = set()
        """Children a stop signalled and has not seen exit yet."""
        self._stop_deadline: Cancellable | None = None
        self._handlers: dict[type, Callable[[Any], None]] = {
            ChildFailed: self._on_child_failed,
            ChildSucceeded: self._on_child_succeeded,
            ChildExited: self._on_child_exited,
            RestartDue: self._on_restart_due,
            type(STOP_RUN): self._on_signal,
        }

    # -- lifecycle -----------------------------------------------------------

    def on_start(self) -> None:
        try:
            self._emit(EventKind.PHASE, detail=Phase.PREFLIGHT)
            self._arm_sweep()
            if not self._preflights:
                self._start_workers()
                return
            for slot in self._preflights:
                self._spawn(slot)
                self._backend.cooperate()
        except BaseException as error:
            self.crash = error
            raise

    def on_receive(self, message: Any) -> Any:
        handler = self._handlers.get(type(message))
        if handler is not None:
            handler(message)
        return None

    def _actor_loop(self) -> None:
        crash: BaseException | None = None
        try:
            super()._actor_loop()
        except BaseException as error:  # killed from outside pykka's reach
            crash = error
            self.actor_stopped.set()
            pykka.ActorRegistry.unregister(self.actor_ref)
        finally:
            if self._outcome.result is None:
                self._die(crash or self.crash or ActorDied("the supervisor ended without a result"))

    def _start_workers(self) -> None:
        self._set_phase(Phase.WORKERS)
        for slot in self._workers:
            self._spawn(slot)
            # On greenlets, let the child start (and run its first tick) now:
            # the hub stays responsive while thousands spawn, and first ticks
            # spread over the spawn instead of all falling due in one burst.
            self._backend.cooperate()

    def _spawn(self, slot: ChildSlot) -> None:
        record = slot.record
        restarted = slot.generation > 0
        if restarted:
            record.restarts += 1
        else:
            self._started.append(slot)
        slot.generation += 1
        slot.live, slot.expect_exit, slot.restart_due = True, False, False
        slot.overdue_tick = slot.runner = None
        slot.context = WorkContext(slot.unit.name, self._backend.make_event(), self._clock, record)
        record.state = ChildState.PENDING
        record.next_run_at = record.running_since = None
        try:
            slot.ref = self._child_class.start(slot, self.actor_ref, self._shared)
        except Exception as error:  # e.g. no more threads: a failure of this child
            slot.live, slot.ref = False, None
            logger.exception("%s: could not start an actor", slot.unit.name)
            self._on_failure(slot, error)
            return
        self._emit(EventKind.SPAWNED, slot.unit.name, slot.generation)
        if restarted:
            self._emit(EventKind.RESTARTED, slot.unit.name, record.restarts)

    def _maybe_respawn(self, slot: ChildSlot) -> None:
        """Start the fresh actor once both the restart is due and the old actor is gone."""
        if self._phase.running and slot.restart_due and not slot.live:
            self._spawn(slot)

    def _ask_to_stop(self, slot: ChildSlot) -> None:
        slot.expect_exit = True
        if slot.context is not None:
            slot.context.cancel()
        if slot.ref is not None:
            tell_quietly(slot.ref, STOP_CHILD)

    def _cancel_restart_timer(self, slot: ChildSlot) -> None:
        if slot.restart_timer is not None:
            slot.restart_timer.cancel()
            slot.restart_timer = None

    # -- messages from children and timers ---------------------------------------

    def _current(self, name: str, generation: int) -> ChildSlot | None:
        slot = self._slots.get(name)
        return slot if slot is not None and slot.generation == generation else None

    def _on_child_failed(self, message: ChildFailed) -> None:
        slot = self._current(message.name, message.generation)
        if slot is None or not self._phase.running:
            return
        slot.expect_exit = True
        self._on_failure(slot, message.error)

    def _on_child_succeeded(self, message: ChildSucceeded) -> None:
        slot = self._current(message.name, message.generation)
        if slot is None:
            return
        slot.expect_exit = True
        self._emit(EventKind.SUCCEEDED, message.name)
        self._preflights_left -= 1
        if self._phase is Phase.PREFLIGHT and self._preflights_left == 0:
            self._start_workers()

    def _on_child_exited(self, message: ChildExited) -> None:
        self._emit(EventKind.EXITED, message.name, message.generation)
        slot = self._current(message.name, message.generation)
        if slot is None or not slot.live:
            return
        slot.live, slot.ref = False, None
        if self._phase is Phase.STOPPING:
            self._outstanding.discard(slot)
            self._settle(slot)
            if not self._outstanding:
                self._finish()
            return
        if not self._phase.running:
            return
        if not slot.expect_exit:  # died without a word: a failure all the same
            self._shared.running.discard(slot)
            slot.record.running_since = None
            self._on_failure(slot, message.crash or ActorDied(f"{slot.unit.name}: actor ended"))
        self._maybe_respawn(slot)

    def _on_restart_due(self, message: RestartDue) -> None:
        slot = self._current(message.name, message.generation)
        if slot is None or slot.restart_timer is None or not self._phase.running:
            return
        slot.restart_timer = None
        slot.restart_due = True
        self._maybe_respawn(slot)

    def _on_signal(self, message: object) -> None:
        if message is STOP_RUN:
            self._begin_stop(None, None)
        elif message is SWEEP:
            self._sweep()
        elif message is STOP_DEADLINE:
            self._abandon_outstanding()

    # -- failures ----------------------------------------------------------------

    def _on_failure(
        self, slot: ChildSlot, error: BaseException, forced: Category | None = None
    ) -> None:
        """Book a failure of ``slot``'s current actor and restart it, or end the run."""
        record = slot.record
        record.failures += 1
        record.last_error = describe_error(error)
        record.state = ChildState.FAILED
        record.next_run_at = None
        category, wait = (forced, None) if forced is not None else self._classify(slot, error)
        if slot.restart_due:  # a requested restart is pending: it wins
            self._emit(
                EventKind.FAILED, slot.unit.name, Failure(category, record.last_error, False)
            )
            return
        delay, reason = self._decide(slot, category, wait)
        if reason is None and self._restart_intensity_exceeded():
            reason = (
                f"restart intensity exceeded: more than {self._options.max_restarts} "
                f"restarts within {self._options.within_seconds:g} s "
                f"(last: {slot.unit.name}: {record.last_error})"
            )
        self._emit(
            EventKind.FAILED,
            slot.unit.name,
            Failure(category, record.last_error, reason is not None),
        )
        if reason is not None or delay is None:
            self._fail_run(reason or f"{slot.unit.name} failed permanently", slot)
            return
        self._schedule_restart(slot, category, delay)

    def _classify(self, slot: ChildSlot, error: BaseException) -> tuple[Category, float | None]:
        """The error's category and wait hint; a classifier that raises means "unknown"."""
        try:
            verdict = classify(error, self._options.classifier)
            category = Category(verdict.category)
            wait = verdict.wait
            if wait is not None and not (math.isfinite(wait) and wait >= 0):
                raise ValueError(f"wait hint {wait!r} is not a finite number of seconds")
        except GreenletExit:
            raise
        except BaseException:
            logger.exception(
                "classifying the failure of %s raised; handling it as unknown (degraded)",
                slot.unit.name, extra={"child": slot.unit.name},
            )  # fmt: skip
            return Category.DEGRADED, None
        return category, wait

    def _decide(
        self, slot: ChildSlot, category: Category, wait: float | None
    ) -> tuple[float | None, str | None]:
        """``(delay, None)`` to restart, or ``(None, reason)`` when the failure is permanent."""
        name, error = slot.unit.name, slot.record.last_error
        attempt = slot.record.attempts[category]
        try:
            policy = self._options.policies.lookup(slot.unit.kind, category)
        except Exception:
            logger.exception("restart policy lookup for %s failed; using the defaults", name)
            policy = default_policies().lookup(slot.unit.kind, category)
        if policy is None:
            return None, (f"{name} failed permanently ({category} error, no retry policy): {error}")
        if policy.exhausted(attempt):
            return None, (
                f"{name} failed permanently after {policy.retries} {category} retries: {error}"
            )
        if wait is not None and wait > 0:
            return wait, None
        try:
            return policy.delay(attempt, self._options.rng), None
        except Exception:
            logger.exception("restart delay for %s failed; using the policy's initial", name)
            return max(policy.initial, 0.0), None

    def _schedule_restart(self, slot: ChildSlot, category: Category, delay: float) -> None:
        record = slot.record
        attempt = record.count_attempt(category)
        record.state = ChildState.BACKOFF
        record.next_run_at = self._clock.monotonic() + delay
        slot.restart_due = False
        slot.restart_timer = self._timers.call_later(
            delay,
            functools.partial(
                tell_quietly, self.actor_ref, RestartDue(slot.unit.name, slot.generation)
            ),
        )
        level = logging.ERROR if category is Category.DEGRADED else logging.WARNING
        logger.log(
            level,
            "%s failed (%s, attempt %d), restarting in %.6g s: %s",
            slot.unit.name, category, attempt + 1, delay, record.last_error,
            extra={"child": slot.unit.name},
        )  # fmt: skip
        self._emit(EventKind.BACKOFF, slot.unit.name, delay)

    def _restart_intensity_exceeded(self) -> bool:
        limit = self._options.max_restarts
        if limit <= 0:
            return False
        now = self._clock.monotonic()
        times = self._restart_times
        times.append(now)
        while times and times[0] <= now - self._options.within_seconds:
            times.popleft()
        return len(times) > limit

    def _fail_run(self, reason: str, culprit: ChildSlot) -> None:
        logger.error("run failed: %s", reason)
        self._begin_stop(reason, culprit)

    # -- the tick watchdog ---------------------------------------------------------

    def _arm_sweep(self) -> None:
        self._sweep_timer = self._timers.call_later(
            self._sweep_period, functools.partial(tell_quietly, self.actor_ref, SWEEP)
        )

    def _sweep(self) -> None:
        """Cancel ticks past their deadline; declare hung those that ignored it."""
        if not self._phase.running:
            return
        now = self._clock.monotonic()
        for slot in self._shared.running.copy():  # a C-level copy: whole under the GIL
            self._check_deadline(slot, now)
        self._arm_sweep()

    def _check_deadline(self, slot: ChildSlot, now: float) -> None:
        started = slot.record.running_since
        if started is None or not slot.live or slot.context is None:
            return
        deadline = self._deadline(slot)
        if slot.overdue_tick != started:
            if now - started >= deadline:
                slot.overdue_tick, slot.overdue_since = started, now
                slot.context.cancel(overdue=True)
                logger.warning(
                    "%s: tick running for %.6g s, past its deadline of %g s: cancelled",
                    slot.unit.name, now - started, deadline, extra={"child": slot.unit.name},
                )  # fmt: skip
                self._emit(EventKind.OVERDUE, slot.unit.name, deadline)
        elif now - slot.overdue_since >= self._options.shutdown_timeout:
            self._declare_hung(slot, now - started, deadline)

    def _deadline(self, slot: ChildSlot) -> float:
        if slot.unit.deadline is not None:
            return slot.unit.deadline
        if self._options.tick_deadline > 0:
            return self._options.tick_deadline
        return _default_deadline(slot.record.interval)

    def _declare_hung(self, slot: ChildSlot, running_for: float, deadline: float) -> None:
        runner = slot.runner
        slot.generation += 1  # whatever the old actor reports from now on is stale
        slot.live, slot.ref, slot.runner = False, None, None
        self._shared.running.discard(slot)
        slot.record.running_since = None
        self._backend.abandon(runner)
        self._emit(EventKind.HUNG, slot.unit.name, running_for)
        self._on_failure(slot, TickHung(slot.unit.name, running_for, deadline), Category.DEGRADED)

    # -- stopping ------------------------------------------------------------------

    def _begin_stop(self, failure: str | None, culprit: ChildSlot | None) -> None:
        """Signal every child at once, in reverse start order; finish when all ended.

        Nothing here waits: the children's exits arrive as messages, and a
        real-time timer bounds the wait by ``shutdown_timeout``, so the stop
        costs O(N) and the supervisor answers status calls meanwhile.
        """
        if not self._phase.running:
            return
        self._failure, self._culprit = failure, culprit
        self._shared.stopping = True  # from now on no tick starts
        self._set_phase(Phase.STOPPING)
        if self._sweep_timer is not None:
            self._sweep_timer.cancel()
        self._stop_deadline = self._backend.call_later_real(
            self._options.shutdown_timeout,
            functools.partial(tell_quietly, self.actor_ref, STOP_DEADLINE),
        )
        for count, slot in enumerate(reversed(self._started), 1):
            self._cancel_restart_timer(slot)
            slot.restart_due = False
            self._emit(EventKind.STOPPING, slot.unit.name)
            if slot.live:
                self._ask_to_stop(slot)
                self._outstanding.add(slot)
            else:
                self._settle(slot)
            if not count % _COOPERATE_EVERY:
                self._backend.cooperate()
        if not self._outstanding:
            self._finish()

    def _settle(self, slot: ChildSlot) -> None:
        """The final state of a child the stop has seen end (or that had no actor)."""
        record = slot.record
        if slot is self._culprit:
            record.state = ChildState.FAILED
        elif record.state != ChildState.SUCCEEDED:
            record.state = ChildState.STOPPED
        record.next_run_at = record.running_since = None
        self._emit(EventKind.STOPPED, slot.unit.name)

    def _abandon_outstanding(self) -> None:
        if self._phase is not Phase.STOPPING or not self._outstanding:
            return
        names = []
        for slot in reversed(self._started):
            if slot in self._outstanding:
                slot.record.state = ChildState.ABANDONED
                slot.record.next_run_at = None
                self._backend.abandon(slot.runner)
                names.append(slot.unit.name)
                self._emit(EventKind.ABANDONED, slot.unit.name)
        self._outstanding.clear()
        _log_abandoned(names, self._options.shutdown_timeout)
        self._finish()

    def _finish(self) -> None:
        if self._stop_deadline is not None:
            self._stop_deadline.cancel()
        self._run_hooks()
        self._timers.stop()
        final = Phase.FAILED if self._failure else Phase.STOPPED
        self._set_phase(final)
        self._outcome.final_status = self._status_document(final)
        self._outcome.set(RunResult(ok=self._failure is None, reason=self._failure))
        self.actor_ref.stop(block=False)

    def _run_hooks(self) -> None:
        for hook in self._options.shutdown_hooks:
            try:
                hook()
            except GreenletExit:
                raise
            except BaseException:
                logger.exception("shutdown hook %r failed", hook)

    def _die(self, crash: BaseException) -> None:
        """The actor is dying of ``crash``: stop what can be stopped and say so."""
        reason = f"the supervisor crashed: {describe_error(crash)}"
        logger.error("%s", reason, exc_info=crash)
        self._shared.stopping = True
        self._phase = Phase.FAILED
        for slot in reversed(self._started):
            self._cancel_restart_timer(slot)
            if slot.live:
                self._ask_to_stop(slot)
            if slot.record.state != ChildState.SUCCEEDED:
                slot.record.state = ChildState.STOPPED
            slot.record.next_run_at = None
        if self._stop_deadline is not None:
            self._stop_deadline.cancel()
        self._run_hooks()
        self._timers.stop()
        try:
            self._outcome.final_status = self._status_document(Phase.FAILED)
        except Exception:
            logger.exception("status after the supervisor crashed")
            self._outcome.final_status = {"phase": Phase.FAILED.value, "children": []}
        self._outcome.set(RunResult(ok=False, reason=reason))
        self._emit(EventKind.PHASE, detail=Phase.FAILED)

    # -- observers -------------------------------------------------------------------

    def _set_phase(self, phase: Phase) -> None:
        self._phase = phase
        logger.info("phase: %s", phase)
        self._emit(EventKind.PHASE, detail=phase)

    def _emit(self, kind: EventKind, name: str | None = None, detail: Any = None) -> None:
        observer = self._options.observer
        if observer is not None:
            try:
                observer(RuntimeEvent(kind, name, detail))
            except GreenletExit:
                raise
            except BaseException:
                logger.exception("runtime observer failed on a %s event", kind)


def _default_deadline(interval: float | None) -> float:
    """10 × the interval, at least 60 s (a preflight, without interval: 60 s)."""
    return 60.0 if interval is None else max(60.0, 10.0 * interval)


def _sweep_period(units: Sequence[Unit], options: SupervisorOptions) -> float:
    """How often the watchdog looks: a quarter of the shortest deadline, at most a second."""
    shortest = min((u.deadline for u in units if u.deadline is not None), default=math.inf)
    if options.tick_deadline > 0:
        shortest = min(shortest, options.tick_deadline)
    return max(0.01, min(1.0, shortest / 4))


def _log_abandoned(names: list[str], timeout: float) -> None:
    """One line for all of them: ``a, b did not finish within ...; abandoned``."""
    shown = ", ".join(names[:_ABANDONED_NAMED])
    more = len(names) - _ABANDONED_NAMED
    logger.warning(
        "%s%s did not finish within runtime.shutdown_timeout (%g s); abandoned",
        shown, f" and {more} more" if more > 0 else "", timeout,
    )  # fmt: skip


@functools.cache
def supervisor_actor_class(actor_class: type[pykka.Actor]) -> type[pykka.Actor]:
    """The supervisor actor for a backend."""
    return type(f"Supervisor{actor_class.__name__}", (SupervisorBehaviour, actor_class), {})
