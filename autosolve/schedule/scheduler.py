"""The Scheduler: preflights first, then every module's per-tenant workers and the global ones."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from autosolve.runtime import Backend, Unit, start_runtime
from autosolve.schedule.classifier import infra_classifier

if TYPE_CHECKING:
    from autosolve.runtime import (
        Clock,
        ExecutionBackend,
        RuntimeHandle,
        SupervisorOptions,
        WorkContext,
        WorkFunc,
    )
    from autosolve.schedule.contracts import GlobalWorker
    from autosolve.schedule.planner import TenantPlanner

__all__ = ["GLOBAL", "Plan", "Scheduler", "SwitchableWork"]

GLOBAL = ""
"""The key of the global workers' group in :attr:`Plan.groups` (tenants have non-empty keys)."""


class SwitchableWork:
    """A unit's work that can be pointed at a newer closure while its actor runs.

    Every unit the Scheduler plans runs through one: a reload builds the
    tasks again from the new settings and switches the units it keeps to the
    new closures, which they run from their next tick on — no actor restarts
    for a new filter, a new queue setting or a new model.
    """

    __slots__ = ("target",)

    def __init__(self, target: WorkFunc) -> None:
        self.target = target
        """What the next tick calls (one attribute write switches it)."""

    def __call__(self, ctx: WorkContext) -> None:
        self.target(ctx)


@dataclass(frozen=True)
class Plan:
    """The units of a run, in start order, and which tenant each belongs to."""

    preflights: tuple[Unit, ...]
    workers: tuple[Unit, ...]
    groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Tenant key (``owner/name``, an organisation, or :data:`GLOBAL`) → its units' names,
    preflights first.

    A tenant's units are added and removed together, as one runtime group."""

    @property
    def names(self) -> list[str]:
        return [u.name for u in (*self.preflights, *self.workers)]

    def units(self) -> dict[str, Unit]:
        """Every unit by name."""
        return {u.name: u for u in (*self.preflights, *self.workers)}


class Scheduler:
    """Builds the two phases from the modules' planners and the global workers, and runs them.

    It knows phases and units only: nothing about repositories or GitHub.

    Args:
        planners: one per loaded module, in load order (their units start in that order).
        global_workers: every module's global workers.
    """

    def __init__(
        self, planners: Sequence[TenantPlanner[Any]], global_workers: Sequence[GlobalWorker]
    ) -> None:
        self._planners = planners
        self._global_workers = global_workers

    def plan(self) -> Plan:
        """The units to run; raises ``ValueError`` when two share a name."""
        global_units = [
            (GLOBAL, Unit(f"worker:{spec.resource}", spec.work, spec.interval, spec.deadline))
            for spec in (g.task_spec() for g in self._global_workers)
        ]
        planners = self._planners
        preflights = _switchable([u for p in planners for u in p.tenant_preflights()])
        workers = _switchable([*(u for p in planners for u in p.tenant_workers()), *global_units])
        groups: dict[str, list[str]] = {tenant: [] for p in planners for tenant in p.tenants}
        for tenant, unit in (*preflights, *workers):
            groups.setdefault(tenant, []).append(unit.name)
        plan = Plan(
            tuple(u for _, u in preflights),
            tuple(u for _, u in workers),
            {tenant: tuple(names) for tenant, names in groups.items()},
        )
        duplicates = sorted(n for n, count in Counter(plan.names).items() if count > 1)
        if duplicates:
            raise ValueError(f"duplicate task names: {', '.join(duplicates)}")
        return plan

    def start(
        self,
        options: SupervisorOptions,
        *,
        backend: str | ExecutionBackend = Backend.THREADING,
        clock: Clock | None = None,
        plan: Plan | None = None,
    ) -> RuntimeHandle:
        """Start the run (of ``plan``, default :meth:`plan`) without blocking.

        The application classifier reads what infrastructure errors declare.
        """
        plan = plan or self.plan()
        options = replace(options, classifier=infra_classifier)
        return start_runtime(
            plan.preflights, plan.workers, backend=backend, clock=clock, options=options
        )


def _switchable(units: Sequence[tuple[str, Unit]]) -> list[tuple[str, Unit]]:
    return [(tenant, replace(unit, work=SwitchableWork(unit.work))) for tenant, unit in units]
