"""The supervisor's table of children: by name, by group, in start order, and leaving."""

from __future__ import annotations

import itertools
import operator
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from autosolve.runtime.slot import ChildSlot, Group
from autosolve.runtime.status import ChildState, render_records
from autosolve.runtime.supervisor.core import logger
from autosolve.runtime.view import PageRequest, StatusView, find_page, glob_matcher, is_glob

if TYPE_CHECKING:
    from autosolve.runtime.status import ChildRecord, Phase
    from autosolve.runtime.supervisor.core import SupervisorCore
    from autosolve.runtime.units import Unit

__all__ = ["ChildTable", "duplicate_names"]


class ChildTable:
    """Every child the supervisor knows, and the children it still waits for after a removal.

    A slot is listed by name from the moment its group is created until it
    is removed; its name is then free at once, though its last actor may
    still be ending (it is *leaving*): a unit added again under that name
    waits for it (:meth:`is_leaving`), so two ticks of one name never overlap.
    """

    def __init__(self, core: SupervisorCore) -> None:
        self._core = core
        self.slots: dict[str, ChildSlot] = {}
        """Every child by name, in the order added: the order of the status document."""
        self.in_order: list[ChildSlot] = []
        """The same children in a list: a status page at an offset is a slice of it."""
        self.groups: dict[int, Group] = {}
        self.started: list[ChildSlot] = []
        """Children whose first actor started, in start order (a stop goes in reverse)."""
        self.leaving: set[ChildSlot] = set()
        """Removed children whose last actor has not ended yet."""
        self.view = StatusView(core.shared.tick_lock)
        """The listed children per state (what status pages and counts are read from)."""
        self._leaving_names: Counter[str] = Counter()
        self._next_group = 0
        self._positions = itertools.count()
        """Numbers the slots in the order added: the status's order (see :meth:`in_states`)."""

    def new_group(self, preflights: Sequence[Unit], workers: Sequence[Unit]) -> Group:
        """A group of fresh slots, numbered 0, 1, ... (names checked by the caller)."""
        group = Group(self._next_group)
        self._next_group += 1
        positions = self._positions
        group.preflights = [ChildSlot(u, group, next(positions)) for u in preflights]
        group.workers = [ChildSlot(u, group, next(positions)) for u in workers]
        group.waiting = set(group.preflights)
        for slot in (*group.preflights, *group.workers):
            self.slots[slot.unit.name] = slot
            self.in_order.append(slot)
        self.view.add(slot.record for slot in (*group.preflights, *group.workers))
        self.groups[group.id] = group
        return group

    def glob(self, pattern: str) -> list[ChildSlot]:
        """The slots whose names match the shell-style ``pattern``, in declaration order.

        A plain name is one dict lookup and a pattern one compiled regex: with
        tens of thousands of children a control call must not cost a
        ``fnmatchcase`` call per child.
        """
        if not is_glob(pattern):
            slot = self.slots.get(pattern)
            return [] if slot is None else [slot]
        match = glob_matcher(pattern)
        return [slot for name, slot in self.slots.items() if match(name)]

    def match_each(self, patterns: object) -> tuple[list[ChildSlot], str | None]:
        """The slots matching any of ``patterns`` (each must match one), or why not.

        ``patterns`` comes from a proxy call, which takes anything: a string
        is one pattern, anything but a non-empty list of them is refused.
        """
        if isinstance(patterns, str):
            patterns = [patterns]
        if not (isinstance(patterns, list | tuple) and patterns) or not all(
            isinstance(p, str) and p for p in patterns
        ):
            return [], "child names or patterns are required"
        matched: dict[ChildSlot, None] = {}
        for pattern in patterns:
            hits = self.glob(pattern)
            if not hits:
                return [], f"no child matches {pattern!r}"
            matched.update(dict.fromkeys(hits))
        return list(matched), None

    def mark_started(self, slot: ChildSlot) -> None:
        """``slot``'s first actor is starting."""
        self.started.append(slot)

    def forget(self, gone: set[ChildSlot]) -> set[Group]:
        """Drop removed slots from names, start order and groups; the groups they were in."""
        for slot in gone:
            del self.slots[slot.unit.name]
            self.view.discard(slot.record)
        self.started = [s for s in self.started if s not in gone]
        self.in_order = [s for s in self.in_order if s not in gone]
        touched = {slot.group for slot in gone}
        for group in touched:
            group.forget(gone)
            if group.empty:
                del self.groups[group.id]
        return touched

    def leave(self, slot: ChildSlot) -> None:
        """``slot`` is removed and its last actor still has to end."""
        self.leaving.add(slot)
        self._leaving_names[slot.unit.name] += 1

    def left(self, slot: ChildSlot) -> bool:
        """``slot``'s last actor ended (or was abandoned); False if it was not leaving."""
        if slot not in self.leaving:
            return False
        self.leaving.discard(slot)
        name = slot.unit.name
        self._leaving_names[name] -= 1
        if self._leaving_names[name] <= 0:
            del self._leaving_names[name]
        return True

    def is_leaving(self, name: str) -> bool:
        """An actor of a removed child called ``name`` is still ending."""
        return name in self._leaving_names

    def units(self) -> Iterable[Unit]:
        return (slot.unit for slot in self.slots.values())

    def running(self) -> list[ChildSlot]:
        """The listed children whose tick is running, longest first."""
        running = ChildState.RUNNING
        slots = (self.slots.get(record.name) for record in self.view.members(running))
        return [slot for slot in slots if slot is not None and slot.record.state is running]

    def status(self, phase: Phase) -> dict[str, Any]:
        """The status document: the run's phase and one record per child."""
        records = [slot.record for slot in self.slots.values()]
        return {"phase": phase.value, "children": self._render(records)}

    def page(self, phase: Phase, request: PageRequest) -> dict[str, Any]:
        """A status page: the children ``request`` asks for, the counts per state, and
        where the page lies in the list."""
        page = find_page(request, self.slots, self.in_order, self.view)
        return {
            "phase": phase.value,
            "children": self._render(page.records),
            "counts": self.view.counts(),
            "total": page.total,
            "offset": request.offset,
            "limit": request.limit,
            "more": page.more,
        }

    def status_in(self, phase: Phase, states: frozenset[ChildState]) -> dict[str, Any]:
        """The status document of the children in ``states`` only (see :meth:`in_states`)."""
        return {"phase": phase.value, "children": self._render(self.in_states(states))}

    def in_states(self, states: frozenset[ChildState]) -> list[ChildRecord]:
        """The listed children in any of ``states``, in the status's order.

        It costs the children in those states: the view keeps them, read at
        one moment, and a few are sorted by position; but ``idle``'s, which
        only a walk over every child finds.
        """
        if ChildState.IDLE in states:
            return [slot.record for slot in self.in_order if slot.record.state in states]
        slots = (self.slots.get(record.name) for record in self.view.members_in(states))
        chosen = [slot for slot in slots if slot is not None]
        chosen.sort(key=_POSITION)
        return [slot.record for slot in chosen]

    def counts(self, phase: Phase) -> dict[str, Any]:
        """The run's phase, the number of children, and how many are in each state: O(states)."""
        return {"phase": phase.value, "counts": self.view.counts(), "total": len(self.slots)}

    def _render(self, records: list[ChildRecord]) -> list[dict[str, Any]]:
        try:
            return render_records(records, self._core.clock, self._core.backend.cooperate)
        except Exception:  # a bug in rendering must not take the supervisor down
            logger.exception("status records could not be rendered")
            return [{"name": r.name, "state": str(r.state)} for r in records]


_POSITION = operator.attrgetter("position")


def duplicate_names(units: Iterable[Unit]) -> list[str]:
    """The names given to more than one of ``units``, sorted."""
    counts = Counter(unit.name for unit in units)
    return sorted(name for name, count in counts.items() if count > 1)
