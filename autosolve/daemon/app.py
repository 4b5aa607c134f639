"""The composition root: settings in, a running (or planned) schedule out.

This is the one module that knows every layer (with
:mod:`autosolve.daemon.dependencies`, which wires the infrastructure the tasks
share); each layer below it only knows the ones beneath. :class:`App` is the
running daemon as one object: its settings, dependencies, runtime handle and
control commands, for the command line and every server that exposes it.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from autosolve.control.commands import Command, CommandError, CommandTable, runtime_commands
from autosolve.daemon.build import build_scheduler, supervisor_options
from autosolve.daemon.dependencies import AppDependencies
from autosolve.daemon.discovery import Replanner
from autosolve.daemon.operator_commands import operator_commands
from autosolve.daemon.reload import Reloader
from autosolve.daemon.webhooks import Deliveries
from autosolve.infra.store import Store, StoreError
from autosolve.log_ring import LogRing, logs_command
from autosolve.masking import Secrets
from autosolve.runtime import Observer
from autosolve.schedule import registry
from autosolve.schedule.modules.organization import organization_tenants
from autosolve.schedule.scheduler import Plan
from autosolve.settings import Settings, load_settings, secrets_of

if TYPE_CHECKING:
    from autosolve.daemon.reload import ReloadReport
    from autosolve.http.metrics import Metrics
    from autosolve.runtime import ChildState, Clock, RunResult, RuntimeEvent, RuntimeHandle

__all__ = ["App", "application_commands", "start"]

logger = logging.getLogger("autosolve")


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
        secrets: Secrets | None = None,
        log_ring: LogRing | None = None,
    ) -> None:
        self.settings = settings
        """The settings the daemon runs with (a reload replaces them)."""
        self.deps = deps
        """GitHub, Ollama and the store, shared by the tasks."""
        self.handle = handle
        """The running supervisor."""
        self.plan = plan
        """The units that run, by tenant (a reload replaces it)."""
        self.secrets = secrets if secrets is not None else Secrets()
        """What every output masks (see :mod:`autosolve.masking`); a reload adds to it."""
        self.secrets.add(secrets_of(settings))
        self.log_ring = log_ring
        """The latest log records in memory (``ctl logs``), when the logs keep them."""
        self.reloader = Reloader(self)
        """Applies new settings (``reload``, SIGHUP); see :mod:`autosolve.daemon.reload`."""
        # Before the new settings apply: nothing may show a new secret unmasked.
        self.reloader.add_listener(lambda _running, new: self.secrets.add(secrets_of(new)))
        self.commands = CommandTable(runtime_commands(handle), secrets=self.secrets)
        """The control commands: the runtime's, then :func:`application_commands`."""
        self.register_commands()
        self._observers = observers
        self.replanner = Replanner(self.reloader.replan)
        """Plans again whenever discovery changes the watched repositories."""
        deps.directory.add_listener(self.replanner.request)
        deps.add_close_hook(self.replanner.close)
        if organization_tenants(settings):  # a first listing may have come before the listener
            self.replanner.request()
        self._deliveries = Deliveries(self)
        deps.add_close_hook(self._deliveries.close)
        deps.on_relayed = self._deliveries.relayed

    def register_commands(self, *, replace: bool = False) -> None:
        """Register :func:`application_commands` (again, after a reload: new settings)."""
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
        secrets: Secrets | None = None,
        log_ring: LogRing | None = None,
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
            secrets: what every output masks (the logs' too); the settings'
                secrets are added.
            log_ring: the handler keeping the latest log records (see
                :func:`autosolve.logs.configure_logging`); with it, the ``logs``
                command answers from it.

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
            return cls(settings, deps, handle, fan_out, plan, secrets, log_ring)
        except BaseException:  # e.g. a command registered twice: no runtime left behind
            handle.stop(timeout=settings.runtime.shutdown_timeout + 5.0)
            raise

    @property
    def store(self) -> Store:
        """The open store (until the run ended)."""
        return self.deps.store

    def deliver(self, event: str, delivery_id: str, payload: Any) -> str:
        """Apply one signed webhook delivery (see :mod:`autosolve.daemon.webhooks`).

        Returns:
            The outcome: ``ping``, ``accepted``, ``duplicate`` or ``unknown``.

        Raises:
            PayloadError: the payload lacks what its event carries (a ValueError).
        """
        return self._deliveries.deliver(event, delivery_id, payload)

    def add_observer(self, observer: Observer) -> None:
        """Also call ``observer`` with every runtime event from now on."""
        self._observers.add(observer)

    def status(self, timeout: float | None = 10.0) -> dict[str, Any]:
        """The status document, as ``ctl status --json`` prints it."""
        return self.handle.status(timeout=timeout)

    def status_in(
        self, states: Iterable[ChildState | str], timeout: float | None = 10.0
    ) -> dict[str, Any]:
        """The status document of only the children in ``states`` (what they cost)."""
        return self.handle.status_in(states, timeout=timeout)

    def answer(self, document: Mapping[str, Any]) -> dict[str, Any]:
        """Answer one control request document; never raises (see :class:`CommandTable`)."""
        return self.commands.answer(document)

    def reload(self, settings: Settings | None = None) -> ReloadReport:
        """Read the settings again (or take ``settings``) and apply the difference live.

        See :mod:`autosolve.daemon.reload`.

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
    commands = [*operator_commands(registry.new_operations(app.deps)), app.reloader.command()]
    if app.log_ring is not None:
        commands.append(logs_command(app.log_ring, lambda: _child_names(app)))
    if app.deps.cluster is not None:
        member = app.deps.cluster

        def cluster(_arguments: dict[str, Any]) -> dict[str, Any]:
            try:
                return member.status()
            except StoreError as error:  # the database is down: say so, do not crash
                raise CommandError(str(error)) from None

        commands.append(Command("cluster", cluster, help="this node and the lease table"))
    return commands


def _child_names(app: App) -> list[str]:
    return [child["name"] for child in app.status()["children"]]


def start(
    settings: Settings | str | os.PathLike[str] | None = None,
    *,
    clock: Clock | None = None,
    observer: Observer | None = None,
    backend: Any = None,
) -> RuntimeHandle:
    """Start autosolve without blocking and return its handle.

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
