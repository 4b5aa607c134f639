"""The composition root: settings in, a running (or planned) schedule out.

This is the one module that knows every layer; each layer below it only
knows the ones beneath. :class:`App` is the running daemon as one object:
its settings, dependencies, runtime handle and control commands, for the
command line and every server that exposes it.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autosolve.cluster import ClusterMember, node_name_of
from autosolve.config import Settings, load_settings, resolve_path, secrets_of
from autosolve.control.commands import Command, CommandError, CommandTable, runtime_commands
from autosolve.infra.budget import BudgetLimits, Ledger, MemoryLedger, RequestBudget
from autosolve.infra.github import GitHubClient
from autosolve.infra.ollama import OllamaClient
from autosolve.infra.postgres.budget import PostgresLedger
from autosolve.infra.postgres.store import PostgresStore
from autosolve.infra.store import InstanceLock, SQLiteStore, Store, StoreError
from autosolve.infra.timestamps import format_epoch
from autosolve.runtime.context import CURRENT_CONTEXT
from autosolve.runtime.events import EventKind
from autosolve.runtime.status import Phase
from autosolve.runtime.supervisor import Observer, SupervisorOptions
from autosolve.schedule import registry
from autosolve.schedule.planner import Planner
from autosolve.schedule.scheduler import Plan, Scheduler

if TYPE_CHECKING:
    from autosolve.domain.polling import PollPacer
    from autosolve.http.metrics import Metrics
    from autosolve.reload import ReloadReport
    from autosolve.runtime.clock import Clock
    from autosolve.runtime.handle import RuntimeHandle
    from autosolve.runtime.supervisor import RunResult, RuntimeEvent

__all__ = ["App", "AppDependencies", "application_commands", "build_scheduler", "start"]

logger = logging.getLogger("autosolve")


class AppDependencies:
    """The infrastructure the tasks share: GitHub, Ollama, the store.

    Satisfies :class:`autosolve.schedule.dependencies.Dependencies`.

    :meth:`open` takes the database's single-instance lock, then opens and
    migrates the store; :meth:`close` undoes it. An ``AppDependencies`` that was
    never opened still builds a plan (``check``) and touches neither the
    network nor the database.
    """

    def __init__(self, settings: Settings, metrics: Metrics | None = None) -> None:
        self.settings = settings
        self.metrics = metrics
        """Counts what the clients see (``/metrics``); None = nobody counts."""
        self.analysis_observer: Callable[[str], None] | None = (
            metrics.on_analysis if metrics else None
        )
        """Told ``posted``/``skipped``/``failed``/``dry_run`` per analysed job (metrics);
        set it before the scheduler is built."""
        self.repository_ids: dict[tuple[str, str], int] = {}
        """Local ids of validated repositories, by ``(owner, name)``: they never change."""
        self._store: Store | None = None
        self._lock: InstanceLock | None = None
        self.cluster: ClusterMember | None = None
        """This daemon's cluster membership; set by :meth:`open` with ``database.url``."""

    @cached_property
    def database_path(self) -> Path:
        return resolve_path(self.settings, self.settings.database.path)

    @cached_property
    def budget_limits(self) -> BudgetLimits:
        budget = self.settings.github.budget
        return BudgetLimits(
            points=budget.points_per_minute,
            writes=budget.writes_per_minute,
            writes_long=budget.writes_per_hour,
            window=budget.window,
        )

    @cached_property
    def ledger(self) -> Ledger:
        """Where the budget's windows are kept.

        With ``database.url``, in the shared database: every daemon of the
        cluster (one token) draws on one budget. Otherwise, and while only
        planning (``check``: no request is made), this process's memory.
        """
        if isinstance(self._store, PostgresStore):
            return PostgresLedger(self._store.database, self.budget_limits)
        return MemoryLedger(self.budget_limits)

    @cached_property
    def budget(self) -> RequestBudget:
        """GitHub's secondary limits, shared by every request of this daemon."""
        concurrency = self.settings.github.budget.concurrency
        return RequestBudget(self.ledger, concurrency, on_wait=show_budget_wait)

    @cached_property
    def github(self) -> GitHubClient:
        github = self.settings.github
        return GitHubClient(
            github.api_url,
            github.token,
            github.timeout,
            github.min_interval,
            on_response=self.metrics.on_github_response if self.metrics else None,
            budget=self.budget,
        )

    @cached_property
    def pacer(self) -> PollPacer:
        """Adaptive polling, shared by every poller; kept (and retuned) across reloads."""
        return registry.new_pacer(self)

    @cached_property
    def ollama(self) -> OllamaClient:
        ollama = self.settings.ollama
        return OllamaClient(
            ollama.url,
            ollama.model,
            ollama.timeout,
            on_request=self.metrics.on_model_request if self.metrics else None,
        )

    @property
    def store(self) -> Store:
        return self._store if self._store is not None else _UnopenedStore()

    def reconfigure(self, settings: Settings) -> None:
        """Run on ``settings`` from now on (a reload; keys that need a restart already kept).

        The GitHub client and the poll pacer are retuned in place (shared by
        every actor, they keep what they learnt); an Ollama client with other
        settings is dropped, and the tasks built next get a new one.
        """
        old, self.settings = self.settings, settings
        github = settings.github
        if "github" in self.__dict__:
            self.github.reconfigure(
                token=github.token, timeout=github.timeout, min_interval=github.min_interval
            )
        if settings.ollama != old.ollama:
            self.__dict__.pop("ollama", None)
        if "pacer" in self.__dict__:
            fastest, slowest, budget, pollers = registry.pacer_arguments(settings)
            self.pacer.retune(fastest, slowest, budget, pollers=pollers)

    def on_runtime_event(self, event: RuntimeEvent) -> None:
        """Once the run stops, no GitHub request waits for budget any more."""
        stopping = event.kind == EventKind.PHASE and event.detail == Phase.STOPPING
        if stopping and "budget" in self.__dict__:  # the budget is built on first use
            self.budget.close()

    def open(self) -> None:
        """Lock the database for this process, then open and migrate it.

        With ``database.url`` the store is PostgreSQL, shared by design: no
        single-instance lock, and migrations serialise on an advisory lock.

        Raises:
            DatabaseInUseError: another daemon uses the SQLite database.
            StoreError: the database cannot be opened or migrated.
        """
        if self.settings.database.url:
            shared = _open_postgres(self.settings)
            try:
                self.cluster = ClusterMember(self.settings, shared)
                self.cluster.join()
            except BaseException:
                shared.close()
                raise
            self._store = shared
            return
        lock = InstanceLock(self.database_path)
        lock.acquire()
        try:
            store = SQLiteStore(self.database_path)
            store.migrate()
        except BaseException:
            lock.release()
            raise
        self._lock, self._store = lock, store

    def close(self) -> None:
        """Close the store and release the lock (after every child stopped)."""
        store, self._store = self._store, None
        lock, self._lock = self._lock, None
        cluster, self.cluster = self.cluster, None
        if cluster is not None:
            cluster.leave()
        if store is not None:
            store.close()
        if lock is not None:
            lock.release()


def _open_postgres(settings: Settings) -> PostgresStore:
    store = PostgresStore(
        settings.database.url,
        application_name=f"autosolve {node_name_of(settings)}",
        # A frozen daemon's transaction must end (and free its locks) well
        # within a lease, or it would hold the takeover of its leases up.
        idle_transaction_timeout=settings.cluster.lease_ttl / 3,
    )
    try:
        store.migrate()
    except BaseException:
        store.close()
        raise
    return store


BUDGET_WAIT = "waiting_for_github_budget_since"
"""The ``progress`` key a child shows while one of its requests waits for budget."""


def show_budget_wait(waiting: bool) -> None:
    """Show (or clear) in the waiting child's ``progress`` that it waits for budget."""
    ctx = CURRENT_CONTEXT.get()
    if ctx is None:  # not in a task: nobody to show it to
        return
    progress = {k: v for k, v in (ctx.progress or {}).items() if k != BUDGET_WAIT}
    if waiting:
        progress[BUDGET_WAIT] = format_epoch(time.time())
    ctx.set_progress(progress or None)


class _UnopenedStore:
    """Stands in for the store while planning; any use is a bug, said clearly."""

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError(f"the store is not open (Store.{name} used while only planning)")


def build_scheduler(settings: Settings, deps: AppDependencies) -> Scheduler:
    """The Scheduler for ``settings``: registered tasks × configured repositories.

    In cluster mode every repository is planned on every daemon, but its
    workers only work where its lease is held (see :mod:`autosolve.cluster`).
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
    )


class _Observers:
    """Fans runtime events out to observers added at any time (metrics, systemd, tests)."""

    def __init__(self, observers: Iterable[Observer]) -> None:
        self._observers = tuple(observers)
        self._lock = threading.Lock()

    def add(self, observer: Observer) -> None:
        with self._lock:
            self._observers = (*self._observers, observer)  # replaced whole: calls read no lock

    def __call__(self, event: RuntimeEvent) -> None:
        for observer in self._observers:
            try:
                observer(event)
            except Exception:  # one broken observer must not blind the others
                logger.exception("runtime observer %r failed", observer)


class App:
    """The daemon in one object: settings, dependencies, runtime handle, control commands.

    Built by :meth:`start`. Servers that expose the daemon (the control socket,
    an HTTP endpoint) take an ``App`` and use :meth:`answer` for requests,
    :meth:`status` for the status document and :attr:`store` for data.
    """

    def __init__(
        self,
        settings: Settings,
        deps: AppDependencies,
        handle: RuntimeHandle,
        observers: _Observers,
        plan: Plan,
    ) -> None:
        from autosolve.reload import Reloader

        self.settings = settings
        """The settings the daemon runs with (a reload replaces them)."""
        self.deps = deps
        """GitHub, Ollama and the store, shared by the tasks."""
        self.handle = handle
        """The running supervisor."""
        self.plan = plan
        """The units that run, by tenant (a reload replaces it)."""
        self.reloader = Reloader(self)
        """Applies new settings (``reload``, SIGHUP); see :mod:`autosolve.reload`."""
        self.commands = CommandTable(runtime_commands(handle), secrets=secrets_of(settings))
        """The control commands: the runtime's, then :func:`application_commands`."""
        self.register_commands()
        self._observers = observers

    def register_commands(self, *, replace: bool = False) -> None:
        """Register :func:`application_commands` (again, after a reload: new settings)."""
        self.commands.mask_also(secrets_of(self.settings))
        for command in application_commands(self):
            self.commands.register(command, replace=replace)

    @classmethod
    def start(
        cls,
        settings: Settings | str | os.PathLike[str] | None = None,
        *,
        clock: Clock | None = None,
        observers: Iterable[Observer] = (),
        backend: Any = None,
        metrics: Metrics | None = None,
    ) -> App:
        """Open the dependencies and start the runtime without blocking.

        Args:
            settings: a :class:`Settings`, or a path to a ``settings.toml``
                (default: ``./settings.toml`` plus the environment).
            clock: an injectable clock (tests).
            observers: called with every :class:`RuntimeEvent`, from the first.
            backend: overrides ``runtime.backend`` (a name or a backend object).
            metrics: counts runtime events and what the clients see (the
                HTTP endpoint's ``/metrics``).

        Raises:
            SettingsError: invalid settings.
            DatabaseInUseError: another daemon uses ``database.path``.
        """
        if not isinstance(settings, Settings):
            settings = load_settings(settings)
        if metrics is not None:
            observers = (*observers, metrics.observe)
        deps = AppDependencies(settings, metrics)
        fan_out = _Observers((*observers, deps.on_runtime_event))
        deps.open()
        try:
            scheduler = build_scheduler(settings, deps)
            plan = scheduler.plan()
            handle = scheduler.start(
                supervisor_options(settings, shutdown_hooks=(deps.close,), observer=fan_out),
                backend=backend or settings.runtime.backend,
                clock=clock,
                plan=plan,
            )
        except BaseException:
            deps.close()
            raise
        if deps.cluster is not None:
            deps.cluster.attach(handle)
        try:
            return cls(settings, deps, handle, fan_out, plan)
        except BaseException:  # e.g. a command registered twice: no runtime left behind
            handle.stop(timeout=settings.runtime.shutdown_timeout + 5.0)
            raise

    @property
    def store(self) -> Store:
        """The open store (until the run ended)."""
        return self.deps.store

    def add_observer(self, observer: Observer) -> None:
        """Also call ``observer`` with every runtime event from now on."""
        self._observers.add(observer)

    def status(self, timeout: float | None = 10.0) -> dict[str, Any]:
        """The status document (SPEC §5.3)."""
        return self.handle.status(timeout=timeout)

    def answer(self, document: Mapping[str, Any]) -> dict[str, Any]:
        """Answer one control request document; never raises (see :class:`CommandTable`)."""
        return self.commands.answer(document)

    def reload(self, settings: Settings | None = None) -> ReloadReport:
        """Read the settings again (or take ``settings``) and apply the difference live.

        See :mod:`autosolve.reload`.

        Raises:
            SettingsError: invalid settings; nothing changed.
            ReloadError: the tasks could not be built from them; nothing changed.
        """
        return self.reloader.reload(settings)

    def stop(self, timeout: float | None = None) -> RunResult | None:
        """Stop gracefully and wait up to ``timeout`` for the run to end."""
        return self.handle.stop(timeout)

    def wait(self, timeout: float | None = None) -> RunResult | None:
        """Wait for the run to end; None if ``timeout`` passed first."""
        return self.handle.wait(timeout)


def application_commands(app: App) -> list[Command]:
    """The application's control commands, beyond the runtime's own.

    To add one, append a :class:`Command` here: a name, a handler taking the
    validated arguments and returning the reply, and its arguments as
    marshmallow fields (see :mod:`autosolve.control.commands`). The control
    socket, ``POST /api/control`` and ``ctl`` clients see it at once.
    """
    from autosolve.analysis_commands import operator_commands

    commands = [*operator_commands(registry.new_operations(app.deps)), app.reloader.command()]
    if app.deps.cluster is not None:
        member = app.deps.cluster

        def cluster(_arguments: dict[str, Any]) -> dict[str, Any]:
            try:
                return member.status()
            except StoreError as error:  # the database is down: say so, do not crash
                raise CommandError(str(error)) from None

        commands.append(Command("cluster", cluster, help="this node and the lease table"))
    return commands


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
    observers = (observer,) if observer is not None else ()
    return App.start(settings, clock=clock, observers=observers, backend=backend).handle
