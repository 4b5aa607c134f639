"""Changing a running supervisor: add and remove groups of units, replace units, new options.

Erlang/OTP supervisors have ``start_child``/``terminate_child``; this is the
same for this runtime. None of it restarts, pauses or delays a child it is
not about, and none of it counts as a restart or against the restart
intensity. Each call answers ``{"ok": True, ...}`` or ``{"ok": False,
"error": ...}`` and changes nothing when it refuses.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from autosolve.runtime.events import EventKind, GroupChange
from autosolve.runtime.status import Phase
from autosolve.runtime.supervisor.control import reply
from autosolve.runtime.supervisor.table import duplicate_names
from autosolve.runtime.units import Unit, UnitGroup

if TYPE_CHECKING:
    from autosolve.runtime.slot import ChildSlot
    from autosolve.runtime.supervisor.core import SupervisorCore
    from autosolve.runtime.supervisor.departures import Departures
    from autosolve.runtime.supervisor.launcher import Launcher
    from autosolve.runtime.supervisor.phases import Phases
    from autosolve.runtime.supervisor.table import ChildTable
    from autosolve.runtime.supervisor.watchdog import Watchdog

__all__ = ["GroupChanges"]


@dataclass(eq=False)
class GroupChanges:
    """What :meth:`RuntimeHandle.add`, ``remove``, ``replace`` and ``update_options`` ask for."""

    _core: SupervisorCore
    _table: ChildTable
    _launcher: Launcher
    _phases: Phases
    _departures: Departures
    _watchdog: Watchdog

    def add(self, groups: Sequence[UnitGroup]) -> dict[str, Any]:
        """Start each ``(preflights, workers)`` as a group of its own.

        A group's preflights start now (``add_concurrency`` at a time), its
        workers once all of them succeeded and the run is in its workers
        phase. A name already supervised (or given twice) refuses the whole call.
        """
        refusal = self._core.refusal()
        if refusal is not None:
            return reply(error=refusal)
        units = [unit for preflights, workers in groups for unit in (*preflights, *workers)]
        problem = _unit_problem(units) or self._naming_problem(units)
        if problem is not None:
            return reply(error=problem)
        added = []
        for preflights, workers in groups:
            group = self._table.new_group(preflights, workers)
            added.append(group)
            self._core.emit(EventKind.GROUP, detail=GroupChange(group.id, Phase.PREFLIGHT))
            for slot in (*group.preflights, *group.workers):
                self._core.emit(EventKind.ADDED, slot.unit.name, group.id)
        self._watchdog.refresh()
        for group in added:
            self._phases.begin(group)
        return {**reply([u.name for u in units]), "groups": [g.id for g in added]}

    def remove(self, patterns: str | Sequence[str]) -> dict[str, Any]:
        """Stop the matching children and forget them; each pattern must match one.

        The stop is the normal one: the running tick is cancelled, and a child
        still running ``shutdown_timeout`` later is abandoned. Removing a
        preflight that has not succeeded lets its group's workers start
        without it.
        """
        refusal = self._core.refusal()
        if refusal is not None:
            return reply(error=refusal)
        slots, error = self._table.match_each(patterns)
        if error is not None:
            return reply(error=error)
        self._departures.remove(slots)
        return reply([slot.unit.name for slot in slots])

    def replace(self, units: Sequence[Unit]) -> dict[str, Any]:
        """Run each unit in the slot of the child of the same name, from a fresh actor on.

        A child that runs is stopped as for a restart (its tick cancelled and
        finished first) and a fresh actor runs the new unit, with its
        interval; its counters stay, and it counts as no restart. A child in
        backoff gets the new unit when the backoff ends; one not started yet
        (or stopped on request) when it starts. Names must exist; a
        preflight stays a preflight.
        """
        problem = self._core.refusal() or _unit_problem(units)
        if problem is not None:
            return reply(error=problem)
        slots, problem = self._slots_of(units)
        if problem is not None:
            return reply(error=problem)
        for slot, unit in zip(slots, units, strict=True):
            slot.unit = unit
            slot.record.interval = unit.interval
            if slot.live and not slot.expect_exit:
                self._launcher.cancel_restart(slot)
                slot.quiet_restart = slot.restart_due = True
                self._launcher.ask_to_stop(slot)
        self._watchdog.refresh()
        return reply([unit.name for unit in units])

    def update_options(self, changes: dict[str, Any]) -> dict[str, Any]:
        """Replace fields of the :class:`SupervisorOptions`, effective from the next use.

        A new policy applies to the next failure, a new restart intensity to
        the next restart, a new ``tick_deadline`` to the next sweep; no child
        is restarted for it.
        """
        refusal = self._core.refusal()
        if refusal is not None:
            return reply(error=refusal)
        try:
            options = dataclasses.replace(self._core.options, **changes)
        except TypeError as error:
            return reply(error=f"unknown supervisor option: {error}")
        self._core.options = options
        self._watchdog.refresh()
        return reply(sorted(changes))

    def _slots_of(self, units: Sequence[Unit]) -> tuple[list[ChildSlot], str | None]:
        """The slot of each unit's name, or why one does not fit."""
        slots = []
        for unit in units:
            slot = self._table.slots.get(unit.name)
            if slot is None:
                return [], f"no child named {unit.name!r}"
            if unit.kind is not slot.unit.kind:
                return [], f"{unit.name} is a {slot.unit.kind}, not a {unit.kind}"
            slots.append(slot)
        if len(set(slots)) < len(slots):
            return [], "a child is named twice"
        return slots, None

    def _naming_problem(self, units: Sequence[Unit]) -> str | None:
        """Why these units cannot be added (names twice, or taken), or None."""
        duplicates = duplicate_names(units)
        if duplicates:
            return f"duplicate unit names: {', '.join(duplicates)}"
        taken = sorted({unit.name for unit in units if unit.name in self._table.slots})
        if taken:
            return f"duplicate unit names (already supervised): {', '.join(taken)}"
        return None


def _unit_problem(units: Sequence[object]) -> str | None:
    """``not a Unit: ...`` for the first thing in ``units`` that is not one (a proxy call
    takes anything)."""
    for unit in units:
        if not isinstance(unit, Unit):
            return f"not a Unit: {unit!r}"
    return None
