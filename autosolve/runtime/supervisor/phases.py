"""Preflights first, then workers: for the run, and for each group on its own."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from autosolve.runtime.events import EventKind, GroupChange
from autosolve.runtime.kinds import UnitKind
from autosolve.runtime.status import ChildState, Phase
from autosolve.runtime.supervisor.core import logger

if TYPE_CHECKING:
    from autosolve.runtime.slot import ChildSlot, Group
    from autosolve.runtime.supervisor.admission import Admission
    from autosolve.runtime.supervisor.core import SupervisorCore
    from autosolve.runtime.supervisor.launcher import Launcher
    from autosolve.runtime.supervisor.table import ChildTable

__all__ = ["Phases", "settle_failed_group_child"]

_SPAWNS_BETWEEN_YIELDS = 32
"""Children started between two yields to the hub (a runner runs their first activations
in one go: a yield per child cost more than the rest of its start)."""


@dataclass(eq=False)
class Phases:
    """Starts each group's workers once all of its preflights succeeded.

    Group 0 (the units the run started with) moves the whole run into its
    workers phase; a group added later starts its workers once its own
    preflights succeeded and the run is in its workers phase, and its
    children start through :class:`Admission`, a few at a time.
    """

    _core: SupervisorCore
    _table: ChildTable
    _launcher: Launcher
    _admission: Admission

    def begin(self, group: Group) -> None:
        """Start a new group: its preflights now, or its workers if it has none."""
        if group.waiting:
            self.spawn_all(group.preflights, group)
        else:
            self.progress(group)

    def progress(self, group: Group) -> None:
        """Start ``group``'s workers if its preflights are all done and the run allows it."""
        if not group.ready or not self._core.phase.running:
            return
        if group.initial:
            self._start_workers()
        elif self._core.phase is Phase.WORKERS:
            self._start_group_workers(group)

    def spawn_all(self, slots: Sequence[ChildSlot], group: Group) -> None:
        if not group.initial:
            self._admission.admit(slots)  # paced: what runs already keeps its pace
            return
        for count, slot in enumerate(list(slots), 1):
            # A failed spawn may end the group or the run: then the rest stays unstarted.
            if not self._core.phase.running or group.phase is Phase.FAILED:
                return
            if slot.stopped:
                continue  # stopped before it ever started: it waits for a start
            self._launcher.spawn(slot)
            if not count % _SPAWNS_BETWEEN_YIELDS:
                # On greenlets, let the children started run their first tick
                # now: the hub stays responsive while thousands spawn, and first
                # ticks spread over the spawn instead of all falling due at once.
                self._core.backend.cooperate()

    def may_start(self, slot: ChildSlot) -> bool:
        """Whether ``slot``'s phase has come: a preflight's always, a worker's with its group's."""
        return slot.unit.kind is UnitKind.PREFLIGHT or slot.group.phase is Phase.WORKERS

    def fail_group(self, group: Group, reason: str, culprit: ChildSlot) -> None:
        """A later group's preflight failed for good: the group never starts, the run goes on."""
        units = [*group.preflights, *group.workers]
        logger.error(
            "%s; its group %d (%d units) does not start; the run goes on",
            reason, group.id, len(units), extra={"child": culprit.unit.name},
        )  # fmt: skip
        group.phase, group.reason = Phase.FAILED, reason
        for slot in units:
            self._admission.admitted(slot)
            self._launcher.cancel_restart(slot)
            if slot.live and not slot.expect_exit:
                self._launcher.ask_to_stop(slot)  # its sibling preflights still running
            settle_failed_group_child(slot)
        self._core.emit(EventKind.GROUP, detail=GroupChange(group.id, Phase.FAILED, reason))

    def _start_workers(self) -> None:
        """The run's preflights all succeeded: start the workers of every ready group."""
        self._core.set_phase(Phase.WORKERS)
        for group in list(self._table.groups.values()):
            if group.ready:
                self._start_group_workers(group)

    def _start_group_workers(self, group: Group) -> None:
        group.phase = Phase.WORKERS
        self._core.emit(EventKind.GROUP, detail=GroupChange(group.id, Phase.WORKERS))
        self.spawn_all(group.workers, group)


def settle_failed_group_child(slot: ChildSlot) -> None:
    """The final state of a child of a failed group: ``failed``, unless it had succeeded."""
    record = slot.record
    if record.state != ChildState.SUCCEEDED:
        record.state = ChildState.FAILED
    record.next_run_at = None
    if not slot.live:
        record.running_since = None
