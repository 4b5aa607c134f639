"""The schedule a daemon runs, and its supervisor's options, from the settings.

Shared by the start (:mod:`autosolve.daemon.app`) and a reload
(:mod:`autosolve.daemon.reload`), which plans again from new settings.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from autosolve.daemon.explainer import error_explainer
from autosolve.runtime import Observer, SupervisorOptions
from autosolve.schedule import registry
from autosolve.schedule.planner import Planner
from autosolve.schedule.scheduler import Scheduler

if TYPE_CHECKING:
    from autosolve.daemon.dependencies import AppDependencies
    from autosolve.settings import Settings

__all__ = ["build_scheduler", "supervisor_options"]


def build_scheduler(settings: Settings, deps: AppDependencies) -> Scheduler:
    """The Scheduler for ``settings``: registered tasks × configured repositories.

    In cluster mode every repository is planned on every daemon, but its
    workers only work where its lease is held (see :mod:`autosolve.daemon.cluster`).
    """
    workers = registry.new_workers(deps)
    global_workers = registry.new_global_workers(deps)
    if deps.cluster is not None:
        workers = deps.cluster.gate(workers)
        global_workers = [deps.cluster.keeper_worker(), *global_workers]
    planner = Planner(
        settings.github.repositories,
        registry.new_preflights(deps),
        workers,
        resolve_repository_id=_repository_resolver(deps),
    )
    return Scheduler(planner, global_workers)


def _repository_resolver(deps: AppDependencies) -> Callable[[str, str], int]:
    # The ids outlive one plan: the units a reload keeps switch to closures of a
    # new plan, which then find their id here instead of asking the store again
    # (while a thousand validators of new repositories may be writing to it).
    ids = deps.repository_ids

    def resolve(owner: str, name: str) -> int:
        key = (owner, name)
        if key not in ids:
            ids[key] = deps.store.repository_id(owner, name)
        return ids[key]

    return resolve


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
