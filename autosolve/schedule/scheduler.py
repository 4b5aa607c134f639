"""The Scheduler: preflights first, then per-repository and global workers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from autosolve.runtime.handle import start_runtime
from autosolve.runtime.units import Unit

if TYPE_CHECKING:
    from autosolve.runtime.backends import Backend
    from autosolve.runtime.clock import Clock
    from autosolve.runtime.handle import RuntimeHandle
    from autosolve.runtime.supervisor import SupervisorOptions
    from autosolve.schedule.contracts import GlobalWorker
    from autosolve.schedule.planner import Planner

__all__ = ["Plan", "Scheduler"]


@dataclass(frozen=True)
class Plan:
    """The units of a run, in start order."""

    preflights: tuple[Unit, ...]
    workers: tuple[Unit, ...]

    @property
    def names(self) -> list[str]:
        return [u.name for u in (*self.preflights, *self.workers)]


class Scheduler:
    """Builds the two phases from a Planner and the global workers, and runs them.

    It knows phases and units only: nothing about repositories or GitHub.
    """

    def __init__(self, planner: Planner, global_workers: Sequence[GlobalWorker]) -> None:
        self._planner = planner
        self._global_workers = global_workers

    def plan(self) -> Plan:
        """The units to run; raises ``ValueError`` when two share a name."""
        global_units = [
            Unit(f"worker:{spec.resource}", spec.work, spec.interval)
            for spec in (g.task_spec() for g in self._global_workers)
        ]
        plan = Plan(tuple(self._planner.preflights()), (*self._planner.workers(), *global_units))
        names = plan.names
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"duplicate task names: {', '.join(duplicates)}")
        return plan

    def start(
        self,
        options: SupervisorOptions,
        *,
        backend: str | Backend = "threading",
        clock: Clock | None = None,
    ) -> RuntimeHandle:
        """Start the run without blocking; the application classifier is the Planner's."""
        plan = self.plan()
        options = replace(options, classifier=self._planner.infra_classifier())
        return start_runtime(
            plan.preflights, plan.workers, backend=backend, clock=clock, options=options
        )
