"""The supervisor: two phases, Erlang-style restarts, a bounded stop, a tick watchdog."""

from __future__ import annotations

import functools
import itertools
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
from autosolve.runtime.dynamic import DynamicMixin
from autosolve.runtime.errors import ActorDied, TickHung
from autosolve.runtime.events import EventKind, Failure, GroupChange, Observer, RuntimeEvent
from autosolve.runtime.groups import Group
from autosolve.runtime.messages import (
    STOP_CHILD,
    STOP_DEADLINE,
    STOP_RUN,
    SWEEP,
    ChildExited,
    ChildFailed,
    ChildSucceeded,
    FirstTickDone,
    RemovalDeadline,
    RestartDue,
)
from autosolve.runtime.policy import Category, Policies, default_policies
from autosolve.runtime.slot import ChildSlot
from autosolve.runtime.status import ChildRecord, ChildState, Phase, describe_error
from autosolve.runtime.units import UnitKind, tick_allowance

if TYPE_CHECKING:
    from autosolve.runtime.backends import Cancellable, ExecutionBackend
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
    add_concurrency: int = 16
    """Children of added groups that may be starting at once (spawned, first tick not over);
    0 = no limit. A reload adding thousands then does not starve the children running."""
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


class SupervisorBehaviour(ControlMixin, DynamicMixin, Contained):  # type: ignore[misc]  # stop()
    """Starts preflights, then workers; restarts failures; answers control calls.

    Units come in groups (:class:`~autosolve.runtime.groups.Group`): group 0
    is what the run started with, later ones are added while it runs
    (:class:`~autosolve.runtime.dynamic.DynamicMixin`); each group's
    workers wait for its own preflights.

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
        self._slots: dict[str, ChildSlot] = {}
        """Every child the supervisor knows, by name, in the order added."""
        self._allowance_of = self._record_allowance
        """Bound once: every child's context shares it."""
        self._groups: dict[int, Group] = {}
        self._initial = self._new_group(0, preflights, workers)
        self._group_numbers = itertools.count(1)
        self._started: list[ChildSlot] = []
        self._leaving: set[ChildSlot] = set()
        """Removed children whose last actor has not ended yet."""
        self._leaving_names: Counter[str] = Counter()
        self._removal_deadlines: dict[RemovalDeadline, Cancellable] = {}
        self._admission: deque[ChildSlot] = deque()
        """Children of added groups waiting for their turn to start."""
        self._admitting: set[ChildSlot] = set()
        """Children of added groups started and not through their first tick yet."""
        self._admitted_count = 0
        self._shared = shared
        self._backend: ExecutionBackend = shared.backend
        self._timers = shared.timers
        self._clock = shared.clock
        self._options = options
        self._outcome = outcome
        self._child_class = child_actor_class(self._backend.actor_class)
        self._restart_times: deque[float] = deque()
        self._phase = Phase.PREFLIGHT
        self._sweep_period = _sweep_period((*preflights, *workers), options)
        """Seconds between two looks of the tick watchdog (follows units and options)."""
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
            RemovalDeadline: self._on_removal_deadline,
            FirstTickDone: self._on_first_tick_done,
            type(STOP_RUN): self._on_signal,
        }

    # -- lifecycle -----------------------------------------------------------

    def on_start(self) -> None:
        try:
            self._emit(EventKind.PHASE, detail=Phase.PREFLIGHT)
            self._arm_sweep()
            if not self._initial.waiting:
                self._start_workers()
                return
            self._spawn_all(self._initial.preflights, self._initial)
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

    def _new_group(self, number: int, preflights: Sequence[Unit], workers: Sequence[Unit]) -> Group:
        """A group of fresh slots, known by name from now on (names checked by the caller)."""
        group = Group(number)
        group.preflights = [ChildSlot(u, group) for u in preflights]
        group.workers = [ChildSlot(u, group) for u in workers]
        group.waiting = set(group.preflights)
        for slot in (*group.preflights, *group.workers):
            self._slots[slot.unit.name] = slot
        self._groups[number] = group
        return group

    def _start_workers(self) -> None:
        """The run's preflights all succeeded: start the workers of every ready group."""
        self._set_phase(Phase.WORKERS)
        for group in list(self._groups.values()):
            if group.ready:
                self._start_group_workers(group)

    def _start_group_workers(self, group: Group) -> None:
        group.phase = Phase.WORKERS
        self._emit(EventKind.GROUP, detail=GroupChange(group.id, Phase.WORKERS))
        self._spawn_all(group.workers, group)

    def _group_progress(self, group: Group) -> None:
        """Start ``group``'s workers if its preflights are all done and the run allows it."""
        if not group.ready or not self._phase.running:
            return
        if group.initial:
            self._start_workers()
        elif self._phase is Phase.WORKERS:
            self._start_group_workers(group)

    def _spawn_all(self, slots: Sequence[ChildSlot], group: Group) -> None:
        if not group.initial:
            self._admit(slots)  # paced: what runs already keeps its pace
            return
        for slot in list(slots):
            # A failed spawn may end the group or the run: then the rest stays unstarted.
            if not self._phase.running or group.phase is Phase.FAILED:
                return
            self._spawn(slot)
            # On greenlets, let the child start (and run its first tick) now:
            # the hub stays responsive while thousands spawn, and first ticks
            # spread over the spawn instead of all falling due in one burst.
            self._backend.cooperate()

    def _spawn(self, slot: ChildSlot) -> None:
        name = slot.unit.name
        if slot.generation == 0 and self._leaving_names[name]:
            # Removed and added again: the new unit starts once the old one's
            # last actor ended, so two ticks of one name never overlap.
            slot.restart_due = True
            return
        record = slot.record
        restarted = slot.generation > 0 and not slot.quiet_restart
        if slot.generation == 0:
            self._started.append(slot)
        elif restarted:
            record.restarts += 1
        slot.quiet_restart = False
        slot.generation += 1
        record.actors += 1
        slot.live, slot.expect_exit, slot.restart_due = True, False, False
        slot.overdue_tick = slot.runner = None
        slot.context = WorkContext(
            slot.unit.name, self._backend.make_event(), self._clock, record,
            allowance=self._allowance_of,
        )  # fmt: skip
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

    @staticmethod
    def _current(slot: ChildSlot, generation: int) -> ChildSlot | None:
        """``slot`` if the report is about its current actor and it is still supervised."""
        if slot.generation != generation or slot.gone or slot.group.phase is Phase.FAILED:
            return None
        return slot

    def _on_child_failed(self, message: ChildFailed) -> None:
        slot = self._current(message.slot, message.generation)
        if slot is None or not self._phase.running:
            return
        slot.expect_exit = True
        self._on_failure(slot, message.error)

    def _on_child_succeeded(self, message: ChildSucceeded) -> None:
        slot = self._current(message.slot, message.generation)
        if slot is None:
            return
        slot.expect_exit = True
        self._emit(EventKind.SUCCEEDED, message.name)
        group = slot.group
        group.waiting.discard(slot)
        self._group_progress(group)

    def _on_child_exited(self, message: ChildExited) -> None:
        slot = message.slot
        self._emit(EventKind.EXITED, message.name, message.generation)
        if slot.generation != message.generation or not slot.live:
            return
        slot.live, slot.ref = False, None
        self._admitted(slot)  # ended before its first tick was over
        if slot.gone:
            self._removed_child_ended(slot, ChildState.STOPPED)
            return
        if self._phase is Phase.STOPPING:
            self._outstanding.discard(slot)
            self._settle(slot)
            if not self._outstanding:
                self._finish()
            return
        if not self._phase.running:
            return
        if slot.group.phase is Phase.FAILED:
            self._settle_failed_group_child(slot)
            return
        if not slot.expect_exit:  # died without a word: a failure all the same
            self._shared.running.discard(slot)
            slot.record.running_since = None
            self._on_failure(slot, message.crash or ActorDied(f"{slot.unit.name}: actor ended"))
        self._maybe_respawn(slot)

    def _on_restart_due(self, message: RestartDue) -> None:
        slot = self._current(message.slot, message.generation)
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
        intensity = None
        if reason is None and self._restart_intensity_exceeded():
            intensity = (
                f"restart intensity exceeded: more than {self._options.max_restarts} "
                f"restarts within {self._options.within_seconds:g} s "
                f"(last: {slot.unit.name}: {record.last_error})"
            )
        permanent = reason is not None or delay is None or intensity is not None
        self._emit(
            EventKind.FAILED, slot.unit.name, Failure(category, record.last_error, permanent)
        )
        if intensity is not None:
            self._fail_run(intensity, slot)
        elif permanent:
            reason = reason or f"{slot.unit.name} failed permanently"
            if slot.unit.kind is UnitKind.PREFLIGHT and not slot.group.initial:
                self._fail_group(slot.group, reason, slot)
            else:
                self._fail_run(reason, slot)
        else:
            assert delay is not None
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
            functools.partial(tell_quietly, self.actor_ref, RestartDue(slot, slot.generation)),
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

    def _fail_group(self, group: Group, reason: str, culprit: ChildSlot) -> None:
        """A later group's preflight failed for good: the group never starts, the run goes on."""
        units = [*group.preflights, *group.workers]
        logger.error(
            "%s; its group %d (%d units) does not start; the run goes on",
            reason, group.id, len(units), extra={"child": culprit.unit.name},
        )  # fmt: skip
        group.phase, group.reason = Phase.FAILED, reason
        for slot in units:
            self._admitted(slot)
            self._cancel_restart_timer(slot)
            slot.restart_due = False
            if slot.live and not slot.expect_exit:
                self._ask_to_stop(slot)  # its sibling preflights still running
            self._settle_failed_group_child(slot)
        self._emit(EventKind.GROUP, detail=GroupChange(group.id, Phase.FAILED, reason))

    @staticmethod
    def _settle_failed_group_child(slot: ChildSlot) -> None:
        record = slot.record
        if record.state != ChildState.SUCCEEDED:
            record.state = ChildState.FAILED
        record.next_run_at = None
        if not slot.live:
            record.running_since = None

    # -- the tick watchdog ---------------------------------------------------------

    def _refresh_sweep_period(self) -> None:
        self._sweep_period = _sweep_period([s.unit for s in self._slots.values()], self._options)

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
        if started is None or not slot.live or slot.context is None or slot.gone:
            return  # a removed child is bounded by its removal's deadline instead
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
        return tick_allowance(slot.unit.deadline, self._options.tick_deadline, slot.record.interval)

    def _record_allowance(self, record: ChildRecord) -> float:
        """:meth:`_deadline` by the child's record (``WorkContext.allowance``, from its thread)."""
        slot = self._slots.get(record.name)
        deadline = None if slot is None else slot.unit.deadline
        return tick_allowance(deadline, self._options.tick_deadline, record.interval)

    def _declare_hung(self, slot: ChildSlot, running_for: float, deadline: float) -> None:
        runner = slot.runner
        slot.generation += 1  # whatever the old actor reports from now on is stale
        slot.live, slot.ref, slot.runner = False, None, None
        self._shared.running.discard(slot)
        slot.record.running_since = None
        self._admitted(slot)
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
        self._admission.clear()
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
        self._outstanding.update(self._leaving)  # removed, already signalled, not ended yet
        if not self._outstanding:
            self._finish()

    def _settle(self, slot: ChildSlot) -> None:
        """The final state of a child the stop has seen end (or that had no actor)."""
        record = slot.record
        if slot is self._culprit:
            record.state = ChildState.FAILED
        elif slot.group.phase is Phase.FAILED:
            self._settle_failed_group_child(slot)
        elif record.state != ChildState.SUCCEEDED:
            record.state = ChildState.STOPPED
        record.next_run_at = record.running_since = None
        self._emit(EventKind.STOPPED, slot.unit.name)

    def _abandon_outstanding(self) -> None:
        if self._phase is not Phase.STOPPING or not self._outstanding:
            return
        names = []
        ordered = [s for s in reversed(self._started) if s in self._outstanding]
        for slot in [*ordered, *(s for s in self._outstanding if s.gone)]:
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
        self._cancel_removal_deadlines()
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
        self._cancel_removal_deadlines()
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
