"""Turning the running plan into a desired one without stopping what stays.

A plan groups its units by tenant (:attr:`Plan.groups`). Comparing the running
plan with a newly built one gives the :class:`Changes`: tenants that went are
removed, new ones are added as runtime groups of their own (their preflights
gate their workers, and a failure fails that group only), units whose shape
changed (interval, deadline) are replaced by fresh actors, and every other unit
keeps its actor and is switched to the new closure for its next tick. This is
the one way the running set changes — for a reload, or for anything else that
decides which tenants a daemon runs.
"""

from __future__ import annotations

import glob
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from autosolve.runtime import UnitKind
from autosolve.schedule.scheduler import Plan, SwitchableWork

if TYPE_CHECKING:
    from autosolve.runtime import RuntimeHandle, Unit, UnitGroup, WorkFunc

__all__ = ["Changes", "apply", "diff"]


@dataclass(frozen=True)
class Changes:
    """What turns a running plan into a desired one (see :func:`diff`)."""

    removed: tuple[str, ...]
    """Names of units to stop and forget (a tenant gone, or one added again)."""
    replaced: tuple[Unit, ...]
    """New units for kept names whose interval or deadline changed: fresh actors."""
    added: tuple[UnitGroup, ...]
    """``(preflights, workers)`` of each tenant to start, as a group of its own."""
    switched: tuple[tuple[SwitchableWork, WorkFunc], ...]
    """Kept units' work and the closure it runs from the next tick on."""
    result: Plan
    """The plan that runs once the changes are applied."""

    @property
    def added_names(self) -> list[str]:
        return [u.name for preflights, workers in self.added for u in (*preflights, *workers)]

    @property
    def unchanged(self) -> int:
        """Units that keep their actor (with, at most, a new closure)."""
        return len(self.switched)


def diff(running: Plan, desired: Plan, *, restart: Iterable[str] = ()) -> Changes:
    """The changes from ``running`` to ``desired``.

    Args:
        running: what runs now.
        desired: what should run, built afresh (e.g. from new settings).
        restart: tenants to remove and add again even if unchanged (a group
            whose preflight failed gets another chance this way).
    """
    again = set(restart)
    running_units, desired_units = running.units(), desired.units()

    def kept(tenant: str) -> bool:
        names = running.groups.get(tenant)
        return (
            names is not None
            and tenant not in again
            and set(names) == set(desired.groups.get(tenant, ()))
        )

    removed = [
        name for tenant, names in running.groups.items() if not kept(tenant) for name in names
    ]
    added: list[UnitGroup] = []
    replaced: list[Unit] = []
    switched: list[tuple[SwitchableWork, WorkFunc]] = []
    result: dict[str, Unit] = {}
    for tenant, names in desired.groups.items():
        units = [desired_units[name] for name in names]
        if not kept(tenant):
            added.append(
                (
                    tuple(u for u in units if u.kind is UnitKind.PREFLIGHT),
                    tuple(u for u in units if u.kind is UnitKind.WORKER),
                )
            )
            result.update((u.name, u) for u in units)
            continue
        for new in units:
            old = running_units[new.name]
            if _shape(old) == _shape(new) and isinstance(old.work, SwitchableWork):
                target = new.work.target if isinstance(new.work, SwitchableWork) else new.work
                switched.append((old.work, target))
                result[new.name] = old
            else:
                replaced.append(new)
                result[new.name] = new
    plan = Plan(
        tuple(result[u.name] for u in desired.preflights),
        tuple(result[u.name] for u in desired.workers),
        dict(desired.groups),
    )
    return Changes(tuple(removed), tuple(replaced), tuple(added), tuple(switched), plan)


def apply(
    handle: RuntimeHandle,
    changes: Changes,
    *,
    before_removal: Callable[[], None] | None = None,
) -> Plan:
    """Make ``handle``'s run match ``changes.result``; returns that plan.

    Units that go and come back (a tenant started again) go first; then the
    replacements, the new groups and the kept units' switch; then
    ``before_removal`` (e.g. a cluster member told the new tenant list, once
    the new units exist and before the old ones go) and the removals.

    Raises:
        ControlError: the run ended meanwhile.
    """
    again = set(changes.removed).intersection(changes.added_names)
    if again:
        handle.remove([glob.escape(name) for name in changes.removed if name in again])
    if changes.replaced:
        handle.replace(list(changes.replaced))
    if changes.added:
        handle.add_groups(list(changes.added))
    for work, target in changes.switched:
        work.target = target
    if before_removal is not None:
        before_removal()
    gone = [glob.escape(name) for name in changes.removed if name not in again]
    if gone:
        handle.remove(gone)
    return changes.result


def _shape(unit: Unit) -> tuple[object, ...]:
    """What a running actor cannot change: a new shape needs a fresh actor."""
    return (unit.kind, unit.interval, unit.deadline)
