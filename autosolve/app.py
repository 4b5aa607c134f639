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
from autosolve.infra.github import GitHubClient
from autosolve.infra.ollama import OllamaClient
from autosolve.infra.store import InstanceLock, Store
from autosolve.runtime.supervisor import Observer, SupervisorOptions
from autosolve.schedule import registry
from autosolve.schedule.planner import Planner
from autosolve.schedule.scheduler import Scheduler

if TYPE_CHECKING:
    from autosolve.runtime.clock import Clock
    from autosolve.runtime.handle import RuntimeHandle

__all__ = ["AppDependencies", "build_scheduler", "start"]


class AppDependencies:
    """The infrastructure the tasks share: GitHub, Ollama, the store.

    Satisfies :class:`autosolve.schedule.dependencies.Dependencies`.

    :meth:`open` takes the database's single-instance lock, then opens and
    migrates the store; :meth:`close` undoes it. An ``AppDependencies`` that was
    never opened still builds a plan (``check``) and touches neither the
    network nor the database.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._store: Store | None = None
        self._lock: InstanceLock | None = None

    @cached_property
    def database_path(self) -> Path:
        return resolve_path(self.settings, self.settings.database.path)

    @cached_property
    def github(self) -> GitHubClient:
        github = self.settings.github
        return GitHubClient(github.api_url, github.token, github.timeout, github.min_interval)

    @cached_property
    def ollama(self) -> OllamaClient:
        ollama = self.settings.ollama
        return OllamaClient(ollama.url, ollama.model, ollama.timeout)

    @property
    def store(self) -> Store:
        return self._store if self._store is not None else _UnopenedStore()  # type: ignore[return-value]

    def open(self) -> None:
        """Lock the database for this process, then open and migrate it.

        Raises:
            DatabaseInUseError: another daemon uses the database.
            StoreError: the database cannot be opened or migrated.
        """
        lock = InstanceLock(self.database_path)
        lock.acquire()
        try:
            store = Store(self.database_path)
            store.migrate()
        except BaseException:
            lock.release()
            raise
        self._lock, self._store = lock, store

    def close(self) -> None:
        """Close the store and release the lock (after every child stopped)."""
        store, self._store = self._store, None
        lock, self._lock = self._lock, None
        if store is not None:
            store.close()
        if lock is not None:
            lock.release()


class _UnopenedStore:
    """Stands in for the store while planning; any use is a bug, said clearly."""

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError(f"the store is not open (Store.{name} used while only planning)")


def build_scheduler(settings: Settings, deps: AppDependencies) -> Scheduler:
    """The Scheduler for ``settings``: registered tasks × configured repositories."""
    planner = Planner(
        settings.github.repositories,
        registry.new_preflights(deps),
        registry.new_workers(deps),
        resolve_repository_id=_repository_resolver(deps),
    )
    return Scheduler(planner, registry.new_global_workers(deps))


def _repository_resolver(deps: AppDependencies) -> Callable[[str, str], int]:
    def resolve(owner: str, name: str) -> int:
        return deps.store.repository_id(owner, name)

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
        DatabaseInUseError: another daemon uses ``database.path``.
    """
    if not isinstance(settings, Settings):
        settings = load_settings(settings)
    deps = AppDependencies(settings)
    deps.open()
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
