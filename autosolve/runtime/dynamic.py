"""Changing a running supervisor: add and remove groups of units, replace units, new options.

Erlang/OTP supervisors have ``start_child``/``terminate_child``; this is the
same for this runtime (SPEC §2.4b). None of it restarts, pauses or delays a
child it is not about, and none of it counts as a restart or against the
restart intensity.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from collections import Counter, deque
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from autosolve.runtime.child import tell_quietly
from autosolve.runtime.control import glob_slots, reply
from autosolve.runtime.events import EventKind, GroupChange
from autosolve.runtime.messages import FirstTickDone, RemovalDeadline
from autosolve.runtime.status import ChildState, Phase
from autosolve.runtime.units import Unit

if TYPE_CHECKING:
    import pykka

    from autosolve.runtime.backends import Cancellable, ExecutionBackend
    from autosolve.runtime.groups import Group
    from autosolve.runtime.slot import ChildSlot
    from autosolve.runtime.supervisor import SupervisorOptions

__all__ = ["DynamicMixin", "UnitGroup"]

logger = logging.getLogger("autosolve.runtime")

UnitGroup = tuple[Sequence[Unit], Sequence[Unit]]
"""``(preflights, workers)`` of one group to add."""


class _Supervisor(Protocol):
    """What the methods here use of the supervisor they are mixed into."""

    _phase: Phase
    _slots: dict[str, ChildSlot]
    _groups: dict[int, Group]
    _group_numbers: Any
    _started: list[ChildSlot]
    _leaving: set[ChildSlot]
    _leaving_names: Counter[str]
    _removal_deadlines: dict[RemovalDeadline, Cancellable]
    _outstanding: set[ChildSlot]
    _admission: deque[ChildSlot]
    _admitting: set[ChildSlot]
    _admitted_count: int
    _options: SupervisorOptions
    _sweep_period: float
    _backend: ExecutionBackend

    @property
    def actor_ref(self) -> pykka.ActorRef[Any]: ...
    def _new_group(
        self, number: int, preflights: Sequence[Unit], workers: Sequence[Unit]
    ) -> Group: ...
    def _spawn_all(self, slots: Sequence[ChildSlot], group: Group) -> None: ...
    def _group_progress(self, group: Group) -> None: ...
    def _cancel_restart_timer(self, slot: ChildSlot) -> None: ...
    def _ask_to_stop(self, slot: ChildSlot) -> None: ...
    def _maybe_respawn(self, slot: ChildSlot) -> None: ...
    def _emit(self, kind: EventKind, name: str | None = None, detail: Any = None) -> None: ...
    def _finish(self) -> None: ...
    def _removed_child_ended(self, slot: ChildSlot, state: ChildState) -> None: ...
    def _refresh_sweep_period(self) -> None: ...
    def _spawn(self, slot: ChildSlot) -> None: ...
    def _admit_more(self) -> None: ...
    def _admitted(self, slot: ChildSlot) -> None: ...


class DynamicMixin:
    """Methods of :class:`SupervisorBehaviour` that change what it supervises.

    Called through its pykka proxy (see :class:`RuntimeHandle`); they answer
    ``{"ok": True, ...}`` or ``{"ok": False, "error": ...}`` and change
    nothing when they refuse.
    """

    def add(self: _Supervisor, groups: Sequence[UnitGroup]) -> dict[str, Any]:
        """Start each ``(preflights, workers)`` as a group of its own.

        A group's preflights start now (``add_concurrency`` at a time, see
        :meth:`_admit_more`), its workers once all of them succeeded and the
        run is in its workers phase. A name already supervised (or given
        twice) refuses the whole call.
        """
        if not self._phase.running:
            return reply(error=f"the runtime is {self._phase}")
        units = [unit for preflights, workers in groups for unit in (*preflights, *workers)]
        problem = _unit_problem(units) or _naming_problem(units, self._slots)
        if problem is not None:
            return reply(error=problem)
        added = []
        for preflights, workers in groups:
            group = self._new_group(next(self._group_numbers), preflights, workers)
            added.append(group)
            self._emit(EventKind.GROUP, detail=GroupChange(group.id, Phase.PREFLIGHT))
            for slot in (*group.preflights, *group.workers):
                self._emit(EventKind.ADDED, slot.unit.name, group.id)
        self._refresh_sweep_period()
        for group in added:
            if group.waiting:
                self._spawn_all(group.preflights, group)
            else:
                self._group_progress(group)
        return {**reply([u.name for u in units]), "groups": [g.id for g in added]}

    def remove(self: _Supervisor, patterns: Sequence[str]) -> dict[str, Any]:
        """Stop the matching children and forget them; each pattern must match one.

        The stop is the normal one: the running tick is cancelled, and a child
        still running ``shutdown_timeout`` later is abandoned. Removing a
        preflight that has not succeeded lets its group's workers start
        without it.
        """
        if not self._phase.running:
            return reply(error=f"the runtime is {self._phase}")
        if isinstance(patterns, str):
            patterns = [patterns]
        if not patterns or not all(isinstance(p, str) and p for p in patterns):
            return reply(error="child names or patterns are required")
        matched: dict[ChildSlot, None] = {}
        for pattern in patterns:
            hits = glob_slots(self._slots, pattern)
            if not hits:
                return reply(error=f"no child matches {pattern!r}")
            matched.update(dict.fromkeys(hits))
        gone = set(matched)
        for slot in gone:
            slot.gone = True  # before anything else: none of them is started meanwhile
        self._started = [s for s in self._started if s not in gone]
        touched = {slot.group for slot in gone}
        for group in touched:
            group.forget(gone)
            if group.empty:
                del self._groups[group.id]
        signalled = [_forget(self, slot) for slot in reversed(list(matched))]
        leaving = frozenset(slot for slot in signalled if slot is not None)
        if leaving:
            message = RemovalDeadline(leaving)
            self._removal_deadlines[message] = self._backend.call_later_real(
                self._options.shutdown_timeout,
                functools.partial(tell_quietly, self.actor_ref, message),
            )
        for group in touched:
            if not group.empty:
                self._group_progress(group)
        return reply([slot.unit.name for slot in matched])

    def replace(self: _Supervisor, units: Sequence[Unit]) -> dict[str, Any]:
        """Run each unit in the slot of the child of the same name, from a fresh actor on.

        A child that runs is stopped as for a restart (its tick cancelled and
        finished first) and a fresh actor runs the new unit, with its
        interval; its counters stay, and it counts as no restart. A child in
        backoff gets the new unit when the backoff ends; one not started yet
        when it starts. Names must exist; a preflight stays a preflight.
        """
        if not self._phase.running:
            return reply(error=f"the runtime is {self._phase}")
        problem = _unit_problem(units)
        if problem is not None:
            return reply(error=problem)
        slots = []
        for unit in units:
            slot = self._slots.get(unit.name)
            if slot is None:
                return reply(error=f"no child named {unit.name!r}")
            if unit.kind is not slot.unit.kind:
                return reply(error=f"{unit.name} is a {slot.unit.kind}, not a {unit.kind}")
            slots.append(slot)
        if len(set(slots)) < len(slots):
            return reply(error="a child is named twice")
        for slot, unit in zip(slots, units, strict=True):
            slot.unit = unit
            slot.record.interval = unit.interval
            if slot.live and not slot.expect_exit:
                self._cancel_restart_timer(slot)
                slot.quiet_restart = slot.restart_due = True
                self._ask_to_stop(slot)
        self._refresh_sweep_period()
        return reply([unit.name for unit in units])

    def update_options(self: _Supervisor, changes: dict[str, Any]) -> dict[str, Any]:
        """Replace fields of the :class:`SupervisorOptions`, effective from the next use.

        A new policy applies to the next failure, a new restart intensity to
        the next restart, a new ``tick_deadline`` to the next sweep; no child
        is restarted for it.
        """
        if not self._phase.running:
            return reply(error=f"the runtime is {self._phase}")
        try:
            options = dataclasses.replace(self._options, **changes)
        except TypeError as error:
            return reply(error=f"unknown supervisor option: {error}")
        self._options = options
        self._refresh_sweep_period()
        return reply(sorted(changes))

    # -- removal, after the call ------------------------------------------------------

    def _on_removal_deadline(self: _Supervisor, message: RemovalDeadline) -> None:
        """``shutdown_timeout`` after a removal: abandon its children still running."""
        self._removal_deadlines.pop(message, None)
        late = [slot for slot in message.slots if slot in self._leaving]
        if not late:
            return
        logger.warning(
            "%s did not finish within runtime.shutdown_timeout (%g s) of their removal; "
            "abandoned",
            ", ".join(sorted(s.unit.name for s in late)), self._options.shutdown_timeout,
        )  # fmt: skip
        for slot in late:
            self._backend.abandon(slot.runner)
            self._emit(EventKind.ABANDONED, slot.unit.name)
            self._removed_child_ended(slot, ChildState.ABANDONED)

    def _removed_child_ended(self: _Supervisor, slot: ChildSlot, state: ChildState) -> None:
        """The last actor of a removed child ended (or was abandoned): it is gone for good."""
        if slot not in self._leaving:
            return
        self._leaving.discard(slot)
        name = slot.unit.name
        self._leaving_names[name] -= 1
        if self._leaving_names[name] <= 0:
            del self._leaving_names[name]
        record = slot.record
        record.state, record.next_run_at, record.running_since = state, None, None
        if state is ChildState.STOPPED:
            self._emit(EventKind.STOPPED, name)
        if self._phase is Phase.STOPPING:
            self._outstanding.discard(slot)
            if not self._outstanding:
                self._finish()
            return
        namesake = self._slots.get(name)
        if namesake is not None and namesake.generation == 0:
            self._maybe_respawn(namesake)  # added again meanwhile: its turn now

    # -- admission: added children start a few at a time ---------------------------------

    def _admit(self: _Supervisor, slots: Sequence[ChildSlot]) -> None:
        """Start ``slots`` (of an added group) as :meth:`_admit_more` lets them."""
        self._admission.extend(slots)
        self._admit_more()

    def _admit_more(self: _Supervisor) -> None:
        """Start waiting children while fewer than ``add_concurrency`` are starting.

        Thousands of children added at once would all run their first tick
        together: on threads the ones already running would then wait their
        turn for the interpreter, on greenlets for the hub. A few at a time,
        each next one as soon as one is through its first tick, keeps both
        the process and the services it calls at an even load.
        """
        limit = self._options.add_concurrency
        while self._admission and self._phase.running:
            if 0 < limit <= len(self._admitting):
                return
            slot = self._admission.popleft()
            if slot.gone or slot.generation > 0 or slot.group.phase is Phase.FAILED:
                continue
            slot.admitting = True
            self._admitting.add(slot)
            self._spawn(slot)
            if not slot.live and slot.generation > 0:  # it could not start: no first tick
                self._admitted(slot)
            self._backend.cooperate()

    def _admitted(self: _Supervisor, slot: ChildSlot) -> None:
        """``slot`` is through its start (or gone): let the next one in."""
        if slot not in self._admitting:
            return
        self._admitting.discard(slot)
        slot.admitting = False
        self._admitted_count += 1
        self._admit_more()
        if not (self._admitting or self._admission) and self._admitted_count:
            started, self._admitted_count = self._admitted_count, 0
            self._emit(EventKind.SETTLED, detail=started)

    def _on_first_tick_done(self: _Supervisor, message: FirstTickDone) -> None:
        if message.generation == message.slot.generation:
            self._admitted(message.slot)

    def _cancel_removal_deadlines(self: _Supervisor) -> None:
        for deadline in self._removal_deadlines.values():
            deadline.cancel()
        self._removal_deadlines.clear()


def _forget(supervisor: _Supervisor, slot: ChildSlot) -> ChildSlot | None:
    """Forget ``slot`` and signal its actor; returns it if an actor must still end."""
    name = slot.unit.name
    del supervisor._slots[name]
    slot.gone = True
    supervisor._cancel_restart_timer(slot)
    slot.restart_due = False
    supervisor._admitted(slot)
    supervisor._emit(EventKind.REMOVED, name)
    supervisor._emit(EventKind.STOPPING, name)
    if not slot.live:
        record = slot.record
        record.state, record.next_run_at = ChildState.STOPPED, None
        supervisor._emit(EventKind.STOPPED, name)
        return None
    supervisor._ask_to_stop(slot)
    supervisor._leaving.add(slot)
    supervisor._leaving_names[name] += 1
    return slot


def _unit_problem(units: Sequence[object]) -> str | None:
    """``not a Unit: ...`` for the first thing in ``units`` that is not one (a proxy call
    takes anything)."""
    for unit in units:
        if not isinstance(unit, Unit):
            return f"not a Unit: {unit!r}"
    return None


def _naming_problem(units: Sequence[Unit], slots: dict[str, ChildSlot]) -> str | None:
    """Why these units cannot be added (names twice, or taken), or None."""
    counts = Counter(unit.name for unit in units)
    duplicates = sorted(name for name, count in counts.items() if count > 1)
    if duplicates:
        return f"duplicate unit names: {', '.join(duplicates)}"
    taken = sorted(name for name in counts if name in slots)
    if taken:
        return f"duplicate unit names (already supervised): {', '.join(taken)}"
    return None
