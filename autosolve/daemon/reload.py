"""Live reconfiguration: ``ctl reload`` and SIGHUP.

The settings are read again (the same file, ``.secrets.toml``, the
environment) and validated as at start; invalid ones are refused with the
same dotted-path errors as ``check`` and nothing changes. Otherwise the
difference is applied to the running daemon:

- keys it cannot change while running (declared ``restart=True``, see
  :func:`autosolve.settings.changes.restart_keys`) keep their running values
  and are reported in ``needs_restart``; the new settings with those values
  are checked again as a whole, as ``start`` checks them, and refused if the
  combination is invalid (a token dropped while the socket stays bound off
  loopback);
- the tasks are built again from the new settings, as at start, and the new
  plan is reconciled with the running one (:mod:`autosolve.schedule.reconcile`):
  repositories added start as groups of their own (validator, then poller and
  relay), removed ones stop (their data stay), workers whose interval changed
  are replaced by fresh actors, and every other unit keeps its actor and runs
  the new task objects from its next tick on — new filters, queue settings,
  prompt or model apply without restarting anyone;
- the GitHub client (``min_interval``, ``timeout``, ``token``) and the poll
  pacer are retuned in place, restart policies and intensity go to the
  supervisor, and in a cluster the lease keeper follows the new repositories;
- listeners (the command line: log level and format, the HTTP token) hear of
  the new settings before they apply.

A repository whose validator failed for good (say GitHub answered 404) is
retried by the next reload.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from autosolve.control.commands import Command, CommandError
from autosolve.daemon.build import build_scheduler, supervisor_options
from autosolve.schedule.modules.organization import discovered_repositories
from autosolve.schedule.reconcile import apply, diff
from autosolve.settings import Settings, SettingsError, load_settings, revalidate
from autosolve.settings.changes import changed_keys, keep_running, needs_restart

if TYPE_CHECKING:
    from autosolve.daemon.app import App
    from autosolve.schedule.reconcile import Changes
    from autosolve.schedule.scheduler import Plan

__all__ = ["ReloadError", "ReloadReport", "Reloader"]

logger = logging.getLogger("autosolve")

LIVE_OPTIONS = ("policies", "shutdown_timeout", "tick_deadline", "max_restarts", "within_seconds")
"""Supervisor options a reload hands to the running supervisor."""

_NAMES_LOGGED = 20
"""Unit names one log line lists per kind of change (the rest are counted)."""

SettingsListener = Callable[[Settings, Settings], None]
"""Called with ``(running, new)`` settings just before a reload applies them."""
ReportListener = Callable[["ReloadReport | None"], None]
"""Called after every reload with its report, or None when it was refused."""


class ReloadError(Exception):
    """A reload that was refused; nothing changed. The text says why."""


@dataclass(frozen=True)
class ReloadReport:
    """What a reload changed, as the ``reload`` answer reports it."""

    added: tuple[str, ...]
    """Units of repositories added (each repository's units start as one group)."""
    removed: tuple[str, ...]
    replaced: tuple[str, ...]
    """Units replaced by fresh actors: a new interval, or a failed repository tried again."""
    unchanged: int
    """Units that kept their actor (running the new settings from their next tick)."""
    needs_restart: tuple[str, ...]
    """Dotted keys changed in the file that only a restart applies."""
    changed: tuple[str, ...] = ()
    """Dotted keys applied live."""
    groups: int = 0
    """Runtime groups started (repositories added or tried again): the run ``settled``
    once their children all started."""

    def answer(self) -> dict[str, Any]:
        """The reply document (``"ok": true`` is added by the command table)."""
        return {
            "added": list(self.added),
            "removed": list(self.removed),
            "replaced": list(self.replaced),
            "unchanged": self.unchanged,
            "needs_restart": list(self.needs_restart),
        }


class Reloader:
    """Reloads one :class:`~autosolve.daemon.app.App`; calls are serialised.

    Args:
        app: the running daemon.
        read: reads the settings again (default: the file the running ones
            came from, with ``.secrets.toml`` and the environment). The command
            line wraps it to keep its own overrides (``start --dry-run``).
    """

    def __init__(self, app: App, read: Callable[[], Settings] | None = None) -> None:
        self._app = app
        self.read = read or self._read_again
        """How the settings are read again."""
        self._listeners: list[SettingsListener] = []
        self._report_listeners: list[ReportListener] = []
        self._start_listeners: list[Callable[[], None]] = []
        self._lock = threading.Lock()

    def add_start_listener(self, listener: Callable[[], None]) -> None:
        """Call ``listener()`` as every reload begins (before the settings are read)."""
        self._start_listeners.append(listener)

    def add_listener(self, listener: SettingsListener) -> None:
        """Call ``listener(running, new)`` before every reload that applies."""
        self._listeners.append(listener)

    def add_report_listener(self, listener: ReportListener) -> None:
        """Call ``listener(report)`` after every reload (``None``: it was refused)."""
        self._report_listeners.append(listener)

    def reload(self, settings: Settings | None = None) -> ReloadReport:
        """Read the settings again (or take ``settings``) and apply the difference.

        Raises:
            SettingsError: the settings are invalid; nothing changed.
            ReloadError: the new tasks could not be built; nothing changed.
            ControlError: the run ended meanwhile.
        """
        report: ReloadReport | None = None
        with self._lock:
            _call_all(self._start_listeners)
            try:
                report = self._reload(settings)
            except Exception as error:
                logger.error("reload refused, nothing changed: %s", error)
                raise
            finally:
                _call_all(self._report_listeners, report)
        _log(report)
        return report

    def command(self) -> Command:
        """The ``reload`` control command: its answer is :meth:`ReloadReport.answer`."""

        def handle(_arguments: dict[str, Any]) -> dict[str, Any]:
            try:
                return self.reload().answer()
            except (ReloadError, SettingsError) as error:
                raise CommandError(str(error)) from None

        return Command(
            "reload", handle, help="re-read the settings and apply the difference (as SIGHUP)"
        )

    def replan(self) -> ReloadReport:
        """Plan again from the running settings and apply the difference.

        For a change of the tenants themselves (a discoverer found repositories
        added to, or gone from, an organisation): their groups are added and
        removed as a reload adds and removes them; nothing else changes.

        Raises:
            ControlError: the run ended meanwhile.
        """
        with self._lock:
            app = self._app
            app.deps.reconfigure(app.settings)  # the pacer plans for the new count
            desired = build_scheduler(app.settings, app.deps).plan()
            changes = diff(app.plan, desired)
            app.plan = apply(app.handle, changes, before_removal=self._lease_watched())
        report = _report(changes, [], [])
        if changes.added or changes.removed:
            _log(report, "repositories discovered")
        return report

    # -- the steps -------------------------------------------------------------------

    def _lease_watched(self) -> Callable[[], None] | None:
        """In a cluster: tell the lease keeper the repositories now watched."""
        deps = self._app.deps
        cluster = deps.cluster
        if cluster is None:
            return None
        return lambda: cluster.set_repositories(discovered_repositories(deps))

    def _read_again(self) -> Settings:
        source = self._app.settings.source
        if source is None:
            raise ReloadError("the settings were not read from a file: nothing to read again")
        return load_settings(source)

    def _reload(self, settings: Settings | None) -> ReloadReport:
        app = self._app
        running = app.settings
        new = settings if settings is not None else self.read()
        changed = changed_keys(running, new)
        restart = needs_restart(changed)
        effective = keep_running(new, running)
        _check_as_a_whole(effective, restart)
        changes = self._plan(effective)
        _call_all(self._listeners, running, effective)
        before = _options(running)
        options = {key: value for key, value in _options(effective).items() if before[key] != value}
        if options:
            app.handle.update_options(**options)
        app.plan = apply(app.handle, changes, before_removal=self._lease_watched())
        app.settings = effective
        app.register_commands(replace=True)
        return _report(changes, restart, [key for key in changed if key not in restart])

    def _plan(self, settings: Settings) -> Changes:
        """The changes to the running plan; the dependencies switched to ``settings``.

        Building the tasks reads the dependencies' settings, so they switch
        first — and switch back if the tasks cannot be built.
        """
        app = self._app
        previous = app.deps.settings
        app.deps.reconfigure(settings)
        try:
            desired = build_scheduler(settings, app.deps).plan()
        except Exception as error:
            app.deps.reconfigure(previous)
            raise ReloadError(f"the tasks cannot be built from these settings: {error}") from error
        return diff(app.plan, desired, restart=self._failed_tenants(app.plan))

    def _failed_tenants(self, plan: Plan) -> set[str]:
        """Tenants whose group failed (a validator said 404): a reload tries them again."""
        failed = {
            child["name"]
            for child in self._app.handle.status()["children"]
            if child.get("group_phase") == "failed"
        }
        return {tenant for tenant, names in plan.groups.items() if failed.intersection(names)}


def _call_all(listeners: Iterable[Callable[..., None]], *arguments: Any) -> None:
    for listener in listeners:
        try:
            listener(*arguments)
        except Exception:  # a listener's bug must not undo a reload half-way
            logger.exception("reload listener %r failed", listener)


# -- settings differences ------------------------------------------------------------


def _check_as_a_whole(effective: Settings, kept: list[str]) -> None:
    """Refuse what ``start`` would refuse: the new settings with the kept running values.

    Raises:
        ReloadError: the combination is invalid; the message names every
            problem and the keys kept at their running values.
    """
    try:
        revalidate(effective)
    except SettingsError as error:
        note = f"\n  (running on until a restart: {', '.join(kept)})" if kept else ""
        raise ReloadError(f"{error}{note}") from None


def _options(settings: Settings) -> dict[str, Any]:
    options = supervisor_options(settings)
    return {key: getattr(options, key) for key in LIVE_OPTIONS}


# -- reporting ---------------------------------------------------------------------------


def _report(changes: Changes, restart: list[str], live: list[str]) -> ReloadReport:
    added = changes.added_names
    again = set(changes.removed).intersection(added)  # failed repositories tried anew
    return ReloadReport(
        added=tuple(n for n in added if n not in again),
        removed=tuple(n for n in changes.removed if n not in again),
        replaced=(*(u.name for u in changes.replaced), *(n for n in added if n in again)),
        unchanged=changes.unchanged,
        needs_restart=tuple(restart),
        changed=tuple(live),
        groups=len(changes.added),
    )


def _log(report: ReloadReport, what: str = "reload") -> None:
    parts = [
        _listed(kind, names)
        for kind, names in (
            ("added", report.added),
            ("removed", report.removed),
            ("replaced", report.replaced),
        )
    ]
    settings = f"; settings changed: {', '.join(report.changed)}" if report.changed else ""
    logger.info("%s: %s, unchanged %d%s", what, ", ".join(parts), report.unchanged, settings)
    if report.needs_restart:
        logger.warning(
            "reload: a restart is needed to change %s; running on with the values read at start",
            ", ".join(report.needs_restart),
        )


def _listed(kind: str, names: tuple[str, ...]) -> str:
    if not names:
        return f"{kind} 0"
    shown = ", ".join(names[:_NAMES_LOGGED])
    more = f" and {len(names) - _NAMES_LOGGED} more" if len(names) > _NAMES_LOGGED else ""
    return f"{kind} {len(names)} ({shown}{more})"
