"""The supervisor's seat for one unit, outliving the actors that fill it, and its group.

A slot belongs to a group and a group lists its slots: both live here, so
neither module has to import the other.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from autosolve.runtime.status import ChildRecord, GroupState, Phase

if TYPE_CHECKING:
    import pykka

    from autosolve.runtime.context import WorkContext
    from autosolve.runtime.timers import TimerHandle
    from autosolve.runtime.units import Unit

__all__ = ["ChildSlot", "Group"]


class ChildSlot:
    """A unit, its record, and the actor currently running it (if any).

    ``generation`` grows with every fresh actor, and when a hung actor is
    abandoned; reports from another generation are stale and ignored. Only
    the supervisor writes the slot's own fields, except ``run_now_pending``
    (cleared by a tick).
    """

    __slots__ = (
        "admitting", "context", "expect_exit", "generation", "gone", "live", "overdue_since",
        "overdue_tick", "pause_epoch", "paused", "position", "quiet_restart", "record", "ref",
        "restart_due", "restart_timer", "run_now_pending", "stopped", "unit",
    )  # fmt: skip

    def __init__(self, unit: Unit, group: Group | None = None, position: int = 0) -> None:
        self.unit = unit
        """What the slot runs; :meth:`SupervisorBehaviour.replace` swaps it for the next actor."""
        self.record = ChildRecord(unit.name, unit.kind, unit.interval, group)
        self.position = position
        """Where the status lists it: slots created later have greater positions (a few
        children picked from the view are put in the status's order by it)."""
        self.generation = 0
        self.context: WorkContext | None = None
        self.ref: pykka.ActorRef[Any] | None = None
        self.live = False
        """The current generation's actor has not been seen to exit yet."""
        self.expect_exit = False
        """The current actor reported its result or was asked to stop: its exit is no news."""
        self.restart_due = False
        """Start a fresh actor as soon as the current one exited (backoff over, or a restart)."""
        self.restart_timer: TimerHandle | None = None
        self.paused = False
        self.pause_epoch = 0
        """Pauses so far: a run-now asked for before the latest pause is void."""
        self.run_now_pending = False
        self.overdue_tick: float | None = None
        """``record.running_since`` of the tick that was cancelled for its deadline."""
        self.overdue_since = 0.0
        """When that tick was cancelled (the runtime clock's monotonic time)."""
        self.gone = False
        """Removed (``handle.remove``): forgotten by the supervisor, its last actor stopping."""
        self.stopped = False
        """Stopped by request (``handle.stop_children``): no actor starts for it until
        ``handle.start_children``; the run's own stop does not set it."""
        self.quiet_restart = False
        """The next fresh actor replaces this one on request: no restart to count."""
        self.admitting = False
        """Started by an admission (an added group): its actor reports its first tick."""

    @property
    def group(self) -> Group:
        """The group the slot was created in (its record keeps it, for the status)."""
        group = self.record.group
        assert group is not None, "a supervised slot always has a group"
        return cast(Group, group)


class Group(GroupState):
    """The units of one ``start_runtime`` (group 0) or one ``handle.add`` (1, 2, ...).

    A group runs the two phases on its own: its workers start once all of
    *its* preflights succeeded (and the run itself reached its workers
    phase). Only group 0 can fail the run by a preflight; a later group whose
    preflight fails permanently is marked ``failed`` and the run goes on.
    """

    __slots__ = ("preflights", "waiting", "workers")

    def __init__(self, group_id: int) -> None:
        super().__init__(group_id)
        self.preflights: list[ChildSlot] = []
        self.workers: list[ChildSlot] = []
        self.waiting: set[ChildSlot] = set()
        """Its preflights that have not succeeded yet (nor been removed)."""

    @property
    def initial(self) -> bool:
        """The run's own group: a permanent preflight failure here fails the run."""
        return self.id == 0

    @property
    def ready(self) -> bool:
        """Every preflight succeeded; the workers have not started yet."""
        return self.phase is Phase.PREFLIGHT and not self.waiting

    @property
    def empty(self) -> bool:
        return not (self.preflights or self.workers)

    def forget(self, gone: set[ChildSlot]) -> None:
        """Drop removed units (a removed preflight no longer holds the workers back)."""
        self.waiting -= gone
        self.preflights = [s for s in self.preflights if s not in gone]
        self.workers = [s for s in self.workers if s not in gone]
