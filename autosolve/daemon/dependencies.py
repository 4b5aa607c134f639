"""The infrastructure the tasks share: settings in, GitHub, Ollama and the store out.

:class:`AppDependencies` is what the registry builds tasks from (it satisfies
:class:`autosolve.schedule.dependencies.Dependencies`): each client is built
on first use and kept, so a plan built only to be shown (``check``) touches
neither the network nor the database, and a reload retunes what the running
tasks share instead of building it again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from autosolve.daemon.cluster import ClusterMember, node_name_of
from autosolve.domain.discovery import RepositoryDirectory
from autosolve.infra.budget import BudgetLimits, Ledger, MemoryLedger, RequestBudget
from autosolve.infra.github import GitHubClient
from autosolve.infra.github.app import APP_BUDGET, GitHubApp
from autosolve.infra.github.credentials import TOKEN_BUDGET
from autosolve.infra.model import Model
from autosolve.infra.model.providers import new_model
from autosolve.infra.postgres.budget import PostgresLedger
from autosolve.infra.postgres.store import PostgresStore
from autosolve.infra.store import InstanceLock, SQLiteStore, Store
from autosolve.infra.timestamps import format_epoch
from autosolve.runtime import CURRENT_CONTEXT, EventKind, Phase
from autosolve.schedule import registry
from autosolve.schedule.modules.organization import AppInstallations
from autosolve.settings import Settings, resolve_path

if TYPE_CHECKING:
    from autosolve.domain.analysis import Result
    from autosolve.domain.polling import PollPacer
    from autosolve.http.metrics import Metrics
    from autosolve.runtime import RuntimeEvent

__all__ = ["BUDGET_WAIT", "AppDependencies", "show_budget_wait"]


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
        self.analysis_observer: Callable[[Result], None] | None = (
            metrics.on_analysis if metrics else None
        )
        """Told each analysed job's :class:`Result` (metrics);
        set it before the scheduler is built."""
        self.repository_ids: dict[tuple[str, str], int] = {}
        """Local ids of validated repositories, by ``(owner, name)``: they never change."""
        self.directory = RepositoryDirectory()
        """The repositories discovered in organisations and App installations (kept
        across reloads: the discoverers fill it, the repository module plans from it)."""
        self._store: Store | None = None
        self._lock: InstanceLock | None = None
        self.cluster: ClusterMember | None = None
        """This daemon's cluster membership; set by :meth:`open` with ``database.url``."""
        self._close_hooks: list[Callable[[], None]] = []
        self.on_relayed: Callable[[int], None] | None = None
        """Told how many jobs a relay tick queued (the daemon runs the explainer now)."""
        self._budgets: dict[str, RequestBudget] = {}
        self._budgets_lock = threading.Lock()

    def add_close_hook(self, hook: Callable[[], None]) -> None:
        """Call ``hook()`` first thing in :meth:`close` (the run has stopped)."""
        self._close_hooks.append(hook)

    @cached_property
    def database_path(self) -> Path:
        return resolve_path(self.settings, self.settings.database.path)

    @cached_property
    def budget_limits(self) -> BudgetLimits:
        budget = self.settings.github.budget
        return BudgetLimits(
            points_per_minute=budget.points_per_minute,
            writes_per_minute=budget.writes_per_minute,
            writes_per_hour=budget.writes_per_hour,
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
    def app(self) -> GitHubApp | None:
        """The GitHub App the daemon acts as (``github.app.id`` set, ``github.token`` empty)."""
        github = self.settings.github
        if not github.app.id or github.token:
            return None
        key = resolve_path(self.settings, github.app.private_key_file).read_text(encoding="utf-8")
        return GitHubApp(github.app.id, key, github.app.installation_id)

    @cached_property
    def app_installations(self) -> AppInstallations | None:
        """What the App's installations cover, for their repository discoverer."""
        return None if self.app is None else AppInstallations(self.app)

    def budget_of(self, key: str) -> RequestBudget:
        """The request budget of one credential: the token's (or the App's own) is
        :attr:`budget`; each App installation has one of its own (GitHub counts its
        limits per installation), shared through the database in a cluster."""
        if key in (TOKEN_BUDGET, APP_BUDGET):
            return self.budget
        with self._budgets_lock:
            if key not in self._budgets:
                concurrency = self.settings.github.budget.concurrency
                ledger = self._ledger_of(key)
                self._budgets[key] = RequestBudget(ledger, concurrency, on_wait=show_budget_wait)
            return self._budgets[key]

    def _ledger_of(self, credential: str) -> Ledger:
        if isinstance(self._store, PostgresStore):
            return PostgresLedger(self._store.database, self.budget_limits, credential)
        return MemoryLedger(self.budget_limits)

    @cached_property
    def github(self) -> GitHubClient:
        github = self.settings.github
        client = GitHubClient(
            github.api_url,
            github.token,
            github.timeout,
            github.min_interval,
            on_response=self.metrics.on_github_response if self.metrics else None,
            budget=self.budget,
            on_timing=self.metrics.on_github_timing if self.metrics else None,
            credentials=self.app,
            budgets=self.budget_of,
        )
        if self.app is not None:
            self.app.bind(client)
        return client

    @cached_property
    def pacer(self) -> PollPacer:
        """Adaptive polling, shared by every poller; kept (and retuned) across reloads."""
        return registry.new_pacer(self)

    @cached_property
    def model(self) -> Model:
        """The model ``model.provider`` names (Ollama, or any OpenAI-compatible server)."""
        settings = self.settings
        return new_model(
            settings.model.provider,
            ollama=settings.ollama,
            openai=settings.openai,
            on_request=self.metrics.on_model_request if self.metrics else None,
        )

    @property
    def store(self) -> Store:
        return self._store if self._store is not None else cast("Store", _UnopenedStore())

    def reconfigure(self, settings: Settings) -> None:
        """Run on ``settings`` from now on (a reload; keys that need a restart already kept).

        The GitHub client and the poll pacer are retuned in place (shared by
        every actor, they keep what they learnt); a model client with other
        settings (provider, endpoint, model, timeout, key) is dropped, and the
        tasks built next get a new one.
        """
        old, self.settings = self.settings, settings
        github = settings.github
        if "github" in self.__dict__:
            self.github.reconfigure(
                token=github.token, timeout=github.timeout, min_interval=github.min_interval
            )
        if _model_settings(settings) != _model_settings(old):
            self.__dict__.pop("model", None)
        if "pacer" in self.__dict__:
            fastest, slowest, budget, pollers = registry.pacer_arguments(self)
            self.pacer.retune(fastest, slowest, budget, pollers=pollers)

    def on_runtime_event(self, event: RuntimeEvent) -> None:
        """Once the run stops, no GitHub request waits for budget any more."""
        stopping = event.kind == EventKind.PHASE and event.detail == Phase.STOPPING
        if stopping and "budget" in self.__dict__:  # the budget is built on first use
            self.budget.close()
        if stopping:
            with self._budgets_lock:
                for budget in self._budgets.values():
                    budget.close()

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
            # The lock proves that whoever held these jobs is gone (killed, crashed).
            store.release_orphaned_jobs()
        except BaseException:
            lock.release()
            raise
        self._lock, self._store = lock, store

    def close(self) -> None:
        """Close the store and release the lock (after every child stopped)."""
        for hook in self._close_hooks:
            hook()
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


def _model_settings(settings: Settings) -> tuple[object, ...]:
    """What the model client is built from: a change of any of it builds a new one."""
    return settings.model, settings.ollama, settings.openai
