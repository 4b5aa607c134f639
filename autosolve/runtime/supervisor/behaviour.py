"""The supervisor actor: two phases, Erlang-style restarts, a bounded stop, a tick watchdog.

The actor itself only routes: each message and control call goes to the part
of the supervisor responsible for it, and the parts are plain objects that
share one :class:`SupervisorCore`:

- :class:`ChildTable`: the children by name, group and start order;
- :class:`Launcher`: starts a child's actors and asks them to end;
- :class:`Phases`: preflights before workers, per group;
- :class:`Admission`: children of added groups start a few at a time;
- :class:`RestartPlanner`: a failure's category and delay, or a permanent verdict;
- :class:`Watchdog`: ticks past their deadline are cancelled, hung ones abandoned;
- :class:`StopCoordinator`: the run's stop, its deadline and hooks, and a crash;
- :class:`CollectorFreezer`: the children's long-lived objects kept off the collector;
- :class:`Departures`: removed children on their way out;
- :class:`ChildControl`: pause, resume, run now, restart, stop and start by name;
- :class:`GroupChanges`: add, remove, replace, new options.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import pykka

from autosolve.runtime.contained import Contained
from autosolve.runtime.errors import ActorDied
from autosolve.runtime.events import EventKind
from autosolve.runtime.messages import (
    STOP_DEADLINE,
    STOP_RUN,
    SWEEP,
    ChildExited,
    ChildFailed,
    ChildrenStopDeadline,
    ChildSucceeded,
    FirstTickDone,
    RemovalDeadline,
    RestartDue,
)
from autosolve.runtime.status import ChildState, Phase
from autosolve.runtime.supervisor.admission import Admission
from autosolve.runtime.supervisor.collector import CollectorFreezer
from autosolve.runtime.supervisor.control import ChildControl, reply
from autosolve.runtime.supervisor.core import SupervisorCore
from autosolve.runtime.supervisor.departures import Departures
from autosolve.runtime.supervisor.dynamic import GroupChanges
from autosolve.runtime.supervisor.launcher import Launcher
from autosolve.runtime.supervisor.phases import Phases, settle_failed_group_child
from autosolve.runtime.supervisor.restarts import RestartPlanner
from autosolve.runtime.supervisor.stopping import StopCoordinator
from autosolve.runtime.supervisor.table import ChildTable, duplicate_names
from autosolve.runtime.supervisor.watchdog import TickDeadlines, Watchdog
from autosolve.runtime.view import PageRequest

if TYPE_CHECKING:
    from autosolve.runtime.policy import Category
    from autosolve.runtime.shared import RunShared
    from autosolve.runtime.slot import ChildSlot
    from autosolve.runtime.supervisor.options import Outcome, SupervisorOptions
    from autosolve.runtime.units import Unit, UnitGroup

__all__ = ["SupervisorBehaviour", "supervisor_actor_class"]

_EXITED, _STOPPING = EventKind.EXITED, Phase.STOPPING
"""Read once: every child's exit reads them (an enum member lookup is not free on 3.11)."""


class SupervisorBehaviour(Contained):
    """Starts preflights, then workers; restarts failures; answers control calls.

    Units come in groups: group 0 is what the run started with, later ones
    are added while it runs (:meth:`add`); each group's workers wait for its
    own preflights.

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
        duplicates = duplicate_names((*preflights, *workers))
        if duplicates:
            raise ValueError(f"duplicate unit names: {', '.join(duplicates)}")
        core = self._core = SupervisorCore(self.actor_ref, shared, options)
        table = self._table = ChildTable(core)
        self._initial = table.new_group(preflights, workers)
        deadlines = TickDeadlines(core, table)
        self._restarts = RestartPlanner(core)
        collector = self._collector = CollectorFreezer(core)
        launcher = self._launcher = Launcher(
            core, table, deadlines.of_record, self._on_failure, collector
        )
        admission = self._admission = Admission(core, launcher)
        watchdog = self._watchdog = Watchdog(
            core, table, deadlines, admission, launcher, self._on_hung
        )
        phases = self._phases = Phases(core, table, launcher, admission)
        self._stopping = StopCoordinator(
            core, table, launcher, admission, watchdog, collector, outcome
        )
        self._departures = Departures(core, table, launcher, admission, phases, self._stopping)
        self._control = ChildControl(core, table, launcher, admission, phases.may_start)
        self._changes = GroupChanges(core, table, launcher, phases, self._departures, watchdog)
        self._outcome = outcome
        self._handlers: dict[type, Callable[[Any], None]] = {
            ChildFailed: self._on_child_failed,
            ChildSucceeded: self._on_child_succeeded,
            ChildExited: self._on_child_exited,
            RestartDue: self._on_restart_due,
            RemovalDeadline: self._departures.on_deadline,
            ChildrenStopDeadline: self._control.on_stop_deadline,
            FirstTickDone: self._on_first_tick_done,
            type(STOP_RUN): self._on_signal,
        }

    # -- lifecycle -----------------------------------------------------------

    def on_start(self) -> None:
        try:
            self._core.emit(EventKind.PHASE, detail=Phase.PREFLIGHT)
            self._watchdog.arm()
            self._phases.begin(self._initial)
        except BaseException as error:
            self.crash = error
            raise

    def _handle_receive(self, message: Any) -> Any:
        # The children's reports and the timers' signals skip pykka's dispatch
        # (a stop of a million children brings a million reports), contained
        # all the same; proxy calls and anything else take pykka's way.
        handler = self._handlers.get(type(message))
        if handler is None:
            return super()._handle_receive(message)
        return self._contain(handler, message)

    def on_receive(self, message: Any) -> Any:
        return None  # every message it knows is handled above

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
                self._stopping.die(
                    crash or self.crash or ActorDied("the supervisor ended without a result")
                )

    # -- control calls (through the pykka proxy, see RuntimeHandle) ---------------
    # Each is the part's own call (ChildControl, GroupChanges), documented there;
    # all answer {"ok": True, "names": [...]} or {"ok": False, "error": ...}.

    def status(self) -> dict[str, Any]:
        """The phase and one record per child."""
        return self._table.status(self._core.phase)

    def status_page(self, arguments: dict[str, Any]) -> dict[str, Any]:
        """A page of the status: ``state``, ``pattern``, ``offset`` and ``limit`` (see
        :class:`PageRequest`); its cost is the children it shows or steps over."""
        try:
            request = PageRequest.parse(arguments)
        except ValueError as error:
            return reply(error=str(error))
        return {"ok": True, **self._table.page(self._core.phase, request)}

    def status_in(self, states: frozenset[ChildState]) -> dict[str, Any]:
        """The phase and the records of the children in ``states``: what they cost."""
        return self._table.status_in(self._core.phase, states)

    def status_counts(self) -> dict[str, Any]:
        """The phase, the number of children and how many are in each state: O(states)."""
        return self._table.counts(self._core.phase)

    def pause(self, pattern: str) -> dict[str, Any]:
        return self._control.pause(pattern)

    def resume(self, pattern: str) -> dict[str, Any]:
        return self._control.resume(pattern)

    def run_now(self, pattern: str) -> dict[str, Any]:
        return self._control.run_now(pattern)

    def restart(self, pattern: str) -> dict[str, Any]:
        return self._control.restart(pattern)

    def stop_children(self, patterns: str | Sequence[str]) -> dict[str, Any]:
        return self._control.stop_children(patterns)

    def start_children(self, patterns: str | Sequence[str]) -> dict[str, Any]:
        return self._control.start_children(patterns)

    def add(self, groups: Sequence[UnitGroup]) -> dict[str, Any]:
        return self._changes.add(groups)

    def remove(self, patterns: str | Sequence[str]) -> dict[str, Any]:
        return self._changes.remove(patterns)

    def replace(self, units: Sequence[Unit]) -> dict[str, Any]:
        return self._changes.replace(units)

    def update_options(self, changes: dict[str, Any]) -> dict[str, Any]:
        return self._changes.update_options(changes)

    def stop(self) -> dict[str, Any]:  # type: ignore[override]  # the control call, see above
        """Begin a graceful stop; returns at once (wait on the handle for the end)."""
        if self._core.phase.running:
            self.actor_ref.tell(STOP_RUN)
        return reply([])

    # -- messages from children and timers ---------------------------------------

    @staticmethod
    def _current(slot: ChildSlot, generation: int) -> ChildSlot | None:
        """``slot`` if the report is about its current actor and it is still supervised."""
        if slot.generation != generation or slot.gone or slot.group.phase is Phase.FAILED:
            return None
        return slot

    def _on_child_failed(self, message: ChildFailed) -> None:
        slot = self._current(message.slot, message.generation)
        if slot is None or not self._core.phase.running:
            return
        slot.expect_exit = True
        self._on_failure(slot, message.error)

    def _on_child_succeeded(self, message: ChildSucceeded) -> None:
        slot = self._current(message.slot, message.generation)
        if slot is None:
            return
        slot.expect_exit = True
        self._core.emit(EventKind.SUCCEEDED, message.name)
        group = slot.group
        group.waiting.discard(slot)
        self._phases.progress(group)

    def _on_child_exited(self, message: ChildExited) -> None:
        slot = message.slot
        self._core.emit(_EXITED, message.name, message.generation)
        if slot.generation != message.generation or not slot.live:
            return
        slot.live, slot.ref = False, None
        self._admission.admitted(slot)  # ended before its first tick was over
        phase = self._core.phase
        if slot.gone:
            self._departures.ended(slot, ChildState.STOPPED)
        elif phase is _STOPPING:
            self._stopping.ended(slot)
        elif not phase.running:
            return
        elif slot.group.phase is Phase.FAILED:
            settle_failed_group_child(slot)
        elif slot.stopped:
            self._control.stopped_child_ended(slot)
        else:
            if not slot.expect_exit:  # died without a word: a failure all the same
                slot.record.running_since = None
                self._on_failure(slot, message.crash or ActorDied(f"{slot.unit.name}: actor ended"))
            self._launcher.respawn_if_due(slot)

    def _on_restart_due(self, message: RestartDue) -> None:
        slot = self._current(message.slot, message.generation)
        if slot is None or slot.restart_timer is None or not self._core.phase.running:
            return
        slot.restart_timer = None
        slot.restart_due = True
        self._launcher.respawn_if_due(slot)

    def _on_first_tick_done(self, message: FirstTickDone) -> None:
        if message.generation == message.slot.generation:
            self._admission.admitted(message.slot)

    def _on_signal(self, message: object) -> None:
        if message is STOP_RUN:
            self._stopping.begin()
        elif message is SWEEP:
            self._watchdog.sweep()
            self._collector.sweep()
        elif message is STOP_DEADLINE:
            self._stopping.abandon_outstanding()

    # -- failures ----------------------------------------------------------------

    def _on_failure(
        self, slot: ChildSlot, error: BaseException, forced: Category | None = None
    ) -> None:
        """A failure of ``slot``'s current actor: restart it, or end its group or the run."""
        verdict = self._restarts.on_failure(slot, error, forced)
        if verdict is None:
            return
        if verdict.ends_run:
            self._stopping.fail_run(verdict.reason, slot)
        else:
            self._phases.fail_group(slot.group, verdict.reason, slot)

    def _on_hung(self, slot: ChildSlot, error: BaseException, category: Category) -> None:
        self._on_failure(slot, error, category)
        # A restart asked for while the tick hung waited for its actor to end:
        # that actor is abandoned now, so the fresh one may start.
        self._launcher.respawn_if_due(slot)


@functools.cache
def supervisor_actor_class(actor_class: type[pykka.Actor]) -> type[pykka.Actor]:
    """The supervisor actor for a backend."""
    return type(f"Supervisor{actor_class.__name__}", (SupervisorBehaviour, actor_class), {})
