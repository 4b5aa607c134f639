"""Removed children on their way out: their last actors end, or are abandoned."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from autosolve.runtime.events import EventKind
from autosolve.runtime.messages import RemovalDeadline
from autosolve.runtime.status import ChildState, Phase
from autosolve.runtime.supervisor.core import logger

if TYPE_CHECKING:
    from autosolve.runtime.slot import ChildSlot
    from autosolve.runtime.supervisor.admission import Admission
    from autosolve.runtime.supervisor.core import SupervisorCore
    from autosolve.runtime.supervisor.launcher import Launcher
    from autosolve.runtime.supervisor.phases import Phases
    from autosolve.runtime.supervisor.stopping import StopCoordinator
    from autosolve.runtime.supervisor.table import ChildTable

__all__ = ["Departures"]


@dataclass(eq=False)
class Departures:
    """Forgets removed children at once and sees their last actors end.

    The stop is the normal one: the running tick is cancelled, and a child
    still running ``shutdown_timeout`` after its removal is abandoned. A unit
    added again under a removed name starts once the old one's actor ended.
    """

    _core: SupervisorCore
    _table: ChildTable
    _launcher: Launcher
    _admission: Admission
    _phases: Phases
    _stop: StopCoordinator

    def remove(self, slots: list[ChildSlot]) -> None:
        """Forget ``slots`` and signal their actors (in reverse order).

        A removed preflight that had not succeeded no longer holds its
        group's workers back: they may start now.
        """
        gone = set(slots)
        for slot in gone:
            slot.gone = True  # before anything else: none of them is started meanwhile
        touched = self._table.forget(gone)
        signalled = [self._signal(slot) for slot in reversed(slots)]
        leaving = frozenset(slot for slot in signalled if slot is not None)
        if leaving:
            self._core.later_real(self._core.options.shutdown_timeout, RemovalDeadline(leaving))
        for group in touched:
            if not group.empty:
                self._phases.progress(group)

    def _signal(self, slot: ChildSlot) -> ChildSlot | None:
        """Signal ``slot``'s actor; returns it if that actor must still end."""
        core, name = self._core, slot.unit.name
        self._launcher.cancel_restart(slot)
        self._admission.admitted(slot)
        core.emit(EventKind.REMOVED, name)
        core.emit(EventKind.STOPPING, name)
        if not slot.live:
            record = slot.record
            record.state, record.next_run_at = ChildState.STOPPED, None
            core.emit(EventKind.STOPPED, name)
            return None
        self._launcher.ask_to_stop(slot)
        self._table.leave(slot)
        return slot

    def on_deadline(self, message: RemovalDeadline) -> None:
        """``shutdown_timeout`` after a removal: abandon its children still running."""
        self._core.fired(message)
        late = [slot for slot in message.slots if slot in self._table.leaving]
        if not late:
            return
        logger.warning(
            "%s did not finish within runtime.shutdown_timeout (%g s) of their removal; "
            "abandoned",
            ", ".join(sorted(s.unit.name for s in late)), self._core.options.shutdown_timeout,
        )  # fmt: skip
        for slot in late:
            self._core.backend.abandon(slot.ref)
            self._core.emit(EventKind.ABANDONED, slot.unit.name)
            self.ended(slot, ChildState.ABANDONED)

    def ended(self, slot: ChildSlot, state: ChildState) -> None:
        """The last actor of a removed child ended (or was abandoned): it is gone for good."""
        if not self._table.left(slot):
            return
        name = slot.unit.name
        record = slot.record
        record.state, record.next_run_at, record.running_since = state, None, None
        if state is ChildState.STOPPED:
            self._core.emit(EventKind.STOPPED, name)
        if self._core.phase is Phase.STOPPING:
            self._stop.ended(slot)
            return
        namesake = self._table.slots.get(name)
        if namesake is not None and namesake.generation == 0:
            self._launcher.respawn_if_due(namesake)  # added again meanwhile: its turn now
