"""The schedule a daemon runs, and its supervisor's options, from the settings.

Shared by the start (:mod:`autosolve.daemon.app`) and a reload
(:mod:`autosolve.daemon.reload`), which plans again from new settings.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from autosolve.daemon.explainer import error_explainer
from autosolve.runtime import Observer, SupervisorOptions
from autosolve.schedule.modules import Module, OrganizationModule, RepositoryModule
from autosolve.schedule.scheduler import Scheduler

if TYPE_CHECKING:
    from autosolve.daemon.dependencies import AppDependencies
    from autosolve.schedule.contracts import GlobalWorker
    from autosolve.schedule.planner import TenantPlanner
    from autosolve.settings import Settings

__all__ = ["MODULES", "build_scheduler", "supervisor_options"]

MODULES: tuple[Module, ...] = (RepositoryModule(), OrganizationModule())
"""The modules the application loads, in start order: each brings a tenant type,
its preflights, its workers and its storage (see :mod:`autosolve.schedule.modules`)."""


def build_scheduler(
    settings: Settings, deps: AppDependencies, modules: tuple[Module, ...] | None = None
) -> Scheduler:
    """The Scheduler for ``settings``: each module's tasks × that module's tenants.

    In cluster mode every repository is planned on every daemon, but the
    workers of a leased module only work where the tenant's lease is held (see
    :mod:`autosolve.daemon.cluster`).
    """
    planners: list[TenantPlanner[Any]] = []
    global_workers: list[GlobalWorker] = []
    for module in MODULES if modules is None else modules:
        workers = list(module.workers(deps))
        if deps.cluster is not None and module.leased:
            workers = deps.cluster.gate(workers)
        planners.append(module.planner(deps, module.preflights(deps), workers))
        global_workers.extend(module.global_workers(deps))
    if deps.cluster is not None:
        global_workers.insert(0, deps.cluster.keeper_worker())
    return Scheduler(planners, global_workers)


def supervisor_options(
    settings: Settings,
    *,
    shutdown_hooks: tuple[Callable[[], None], ...] = (),
    observer: Observer | None = None,
) -> SupervisorOptions:
    runtime = settings.runtime
    return SupervisorOptions(
        policies=settings.policies,
        shutdown_timeout=runtime.shutdown_timeout,
        tick_deadline=runtime.tick_deadline,
        max_restarts=runtime.max_restarts,
        within_seconds=runtime.within_seconds,
        shutdown_hooks=shutdown_hooks,
        observer=observer,
        explainer=error_explainer(settings),
    )
