"""The tick watchdog: ticks past their deadline are cancelled, and declared hung if they stay."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from autosolve.runtime.errors import TickHung
from autosolve.runtime.events import EventKind
from autosolve.runtime.messages import SWEEP
from autosolve.runtime.policy import Category
from autosolve.runtime.supervisor.core import logger
from autosolve.runtime.units import tick_allowance

if TYPE_CHECKING:
    from autosolve.runtime.slot import ChildSlot
    from autosolve.runtime.status import ChildRecord
    from autosolve.runtime.supervisor.admission import Admission
    from autosolve.runtime.supervisor.core import SupervisorCore
    from autosolve.runtime.supervisor.launcher import Launcher
    from autosolve.runtime.supervisor.table import ChildTable
    from autosolve.runtime.timers import TimerHandle
    from autosolve.runtime.units import Unit

__all__ = ["TickDeadlines", "Watchdog"]

HungHandler = Callable[["ChildSlot", BaseException, Category], None]
"""Handles the failure of a child declared hung (a degraded one)."""


@dataclass(eq=False)
class TickDeadlines:
    """How long one tick of a child may run: its unit's deadline, else the options' rule."""

    _core: SupervisorCore
    _table: ChildTable

    def of(self, slot: ChildSlot) -> float:
        return tick_allowance(
            slot.unit.deadline, self._core.options.tick_deadline, slot.record.interval
        )

    def of_record(self, record: ChildRecord) -> float:
        """:meth:`of` by the child's record (``WorkContext.allowance``, from its thread)."""
        slot = self._table.slots.get(record.name)
        deadline = None if slot is None else slot.unit.deadline
        return tick_allowance(deadline, self._core.options.tick_deadline, record.interval)


@dataclass(eq=False)
class Watchdog:
    """Looks at the running ticks a few times per shortest deadline.

    A tick past its deadline is cancelled (as overdue: its end counts as a
    failure); one still running ``shutdown_timeout`` after that is declared
    hung: its actor is abandoned and the child fails, degraded. Children
    being removed or stopped on request are left to their stop's own deadline.
    """

    _core: SupervisorCore
    _table: ChildTable
    _deadlines: TickDeadlines
    _admission: Admission
    _launcher: Launcher
    _on_hung: HungHandler
    _period: float = field(default=1.0, init=False)
    """Seconds between two looks (follows the units and options: :meth:`refresh`)."""
    _timer: TimerHandle | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.refresh()

    def refresh(self) -> None:
        """Follow the units and options as they are now (after adding, replacing, new options)."""
        self._period = sweep_period(self._table.units(), self._core.options.tick_deadline)

    def arm(self) -> None:
        self._timer = self._core.later(self._period, SWEEP)

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()

    def sweep(self) -> None:
        """Cancel ticks past their deadline; declare hung those that ignored it."""
        if not self._core.phase.running:
            return
        now = self._core.clock.monotonic()
        for slot in self._table.running():
            self._check(slot, now)
        self.arm()

    def _check(self, slot: ChildSlot, now: float) -> None:
        started = slot.record.running_since
        if started is None or not slot.live or slot.context is None or slot.gone or slot.stopped:
            return
        deadline = self._deadlines.of(slot)
        if slot.overdue_tick != started:
            if now - started >= deadline:
                slot.overdue_tick, slot.overdue_since = started, now
                slot.context.cancel(overdue=True)
                logger.warning(
                    "%s: tick running for %.6g s, past its deadline of %g s: cancelled",
                    slot.unit.name, now - started, deadline, extra={"child": slot.unit.name},
                )  # fmt: skip
                self._core.emit(EventKind.OVERDUE, slot.unit.name, deadline)
        elif now - slot.overdue_since >= self._core.options.shutdown_timeout:
            self._declare_hung(slot, now - started, deadline)

    def _declare_hung(self, slot: ChildSlot, running_for: float, deadline: float) -> None:
        self._admission.admitted(slot)
        self._launcher.abandon(slot)
        self._core.emit(EventKind.HUNG, slot.unit.name, running_for)
        error = TickHung(slot.unit.name, running_for, deadline)
        self._on_hung(slot, error, Category.DEGRADED)


def sweep_period(units: Iterable[Unit], tick_deadline: float) -> float:
    """How often the watchdog looks: a quarter of the shortest deadline, at most a second."""
    shortest = min((u.deadline for u in units if u.deadline is not None), default=math.inf)
    if tick_deadline > 0:
        shortest = min(shortest, tick_deadline)
    return max(0.01, min(1.0, shortest / 4))
