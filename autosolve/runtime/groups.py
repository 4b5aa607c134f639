"""Groups: units started together, whose preflights gate their own workers (SPEC §2.4b)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from autosolve.runtime.status import Phase

if TYPE_CHECKING:
    from autosolve.runtime.slot import ChildSlot

__all__ = ["Group"]


class Group:
    """The units of one ``start_runtime`` (group 0) or one ``handle.add`` (1, 2, ...).

    A group runs the two phases of SPEC §2.2 on its own: its workers start
    once all of *its* preflights succeeded (and the run itself reached its
    workers phase). Only group 0 can fail the run by a preflight; a later
    group whose preflight fails permanently is marked ``failed`` and the run
    goes on.
    """

    __slots__ = ("id", "phase", "preflights", "reason", "waiting", "workers")

    def __init__(self, group_id: int) -> None:
        self.id = group_id
        """0 for the units the run started with, then 1, 2, ... in the order added."""
        self.phase = Phase.PREFLIGHT
        """``preflight`` until its workers start, then ``workers``; or ``failed``."""
        self.preflights: list[ChildSlot] = []
        self.workers: list[ChildSlot] = []
        self.waiting: set[ChildSlot] = set()
        """Its preflights that have not succeeded yet (nor been removed)."""
        self.reason: str | None = None
        """Why the group failed."""

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
