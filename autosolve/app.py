"""The composition root: settings in, a running (or planned) schedule out.

This is the one module that knows every layer; each layer below it only
knows the ones beneath.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autosolve.config import Settings, load_settings, resolve_path
from autosolve.runtime.supervisor import Observer, SupervisorOptions
from autosolve.schedule import registry
from autosolve.schedule.planner import Planner
from autosolve.schedule.scheduler import Scheduler

if TYPE_CHECKING:
    from autosolve.runtime.clock import Clock
    from autosolve.runtime.handle import RuntimeHandle

__all__ = ["Dependencies", "build_scheduler", "start"]


class Dependencies:
    """The infrastructure the tasks share, created on first use.

    ``check`` builds the plan from these without touching the network or the
    database: nothing is opened until a task's work asks for it.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._closers: list[Callable[[], None]] = []

    @cached_property
    def database_path(self) -> Path:
        return resolve_path(self.settings, self.settings.database.path)

    def close(self) -> None:
        while self._closers:
            self._closers.pop()()


def build_scheduler(settings: Settings, deps: Dependencies) -> Scheduler:
    """The Scheduler for ``settings``: registered tasks × configured repositories."""
    planner = Planner(
        settings.github.repositories,
        registry.new_preflights(deps),
        registry.new_workers(deps),
        resolve_repository_id=_repository_resolver(deps),
    )
    return Scheduler(planner, registry.new_global_workers(deps))


def _repository_resolver(deps: Dependencies) -> Callable[[str, str], int]:
    def resolve(owner: str, name: str) -> int:
        store = getattr(deps, "store", None)
        if store is None:
            raise LookupError(f"no store to resolve {owner}/{name}")
        return store.repository_id(owner, name)

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
        max_restarts=runtime.max_restarts,
        within_seconds=runtime.within_seconds,
        shutdown_hooks=shutdown_hooks,
        observer=observer,
    )


def start(
    settings: Settings | str | os.PathLike[str] | None = None,
    *,
    clock: Clock | None = None,
    observer: Observer | None = None,
    backend: Any = None,
) -> RuntimeHandle:
    """Start autosolve without blocking and return its handle (SPEC §5.4).

    Args:
        settings: a :class:`Settings`, or a path to a ``settings.toml``
            (default: ``./settings.toml`` plus the environment).
        clock: an injectable clock (tests).
        observer: called with every :class:`RuntimeEvent`.
        backend: overrides ``runtime.backend`` (a name or a backend object).

    Raises:
        SettingsError: invalid settings.
    """
    if not isinstance(settings, Settings):
        settings = load_settings(settings)
    deps = Dependencies(settings)
    try:
        scheduler = build_scheduler(settings, deps)
        return scheduler.start(
            supervisor_options(settings, shutdown_hooks=(deps.close,), observer=observer),
            backend=backend or settings.runtime.backend,
            clock=clock,
        )
    except BaseException:
        deps.close()
        raise
