"""``autosolve-supervisor start``: the daemon in the foreground.

The control socket is claimed before the runtime starts (a second daemon on
the same socket must not run a single task) and removed on every way out, a
forced exit included. SIGINT/SIGTERM stop gracefully, a second SIGINT exits
at once; SIGHUP reloads the settings (as ``ctl reload``); SIGPIPE stays
ignored, so a client hanging up is that connection's problem. Under systemd
the service manager hears ``READY=1`` when the workers start, ``STOPPING=1``,
``STATUS=`` lines and, while the supervisor answers, ``WATCHDOG=1``.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import gc
import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pykka

from autosolve.cli.banner import start_banner
from autosolve.cli.common import load_or_report
from autosolve.cli.exit_codes import EXIT_FAILED, EXIT_FORCED, EXIT_OK, EXIT_USAGE
from autosolve.cli.systemd import Notifier
from autosolve.control.server import ControlServer
from autosolve.control.socket_file import ControlSocketError, check_socket_path
from autosolve.http.endpoint import HttpEndpoint
from autosolve.log_ring import LogRing
from autosolve.logs import configure_logging
from autosolve.masking import Secrets
from autosolve.runtime import RunResult, RuntimeEvent
from autosolve.settings import resolve_path, secrets_of, settings_warnings

if TYPE_CHECKING:
    from autosolve.daemon.app import App
    from autosolve.daemon.reload import ReloadReport
    from autosolve.settings import Settings

__all__ = ["request_stop", "run", "run_daemon", "run_until_done"]

logger = logging.getLogger("autosolve")

POLL = 0.5
"""Seconds between looks at the run: a dead supervisor is noticed within about this."""

STATUS_PERIOD = 10.0
"""Seconds between ``STATUS=`` refreshes under a service manager without a watchdog."""


def run(args: argparse.Namespace) -> int:
    """Run in the foreground until a signal, ``ctl stop`` or a permanent failure."""
    settings = load_or_report(args.settings)
    if settings is None:
        return EXIT_USAGE
    dry_run = bool(getattr(args, "dry_run", False))
    if dry_run:
        settings = _dry_run(settings)
    return run_daemon(settings, dry_run=dry_run)


def run_daemon(
    settings: Settings,
    *,
    dry_run: bool = False,
    on_bound: Callable[[HttpEndpoint], None] | None = None,
    on_running: Callable[[App], None] | None = None,
) -> int:
    """Run the daemon on ``settings`` in the foreground; return the exit code.

    Args:
        dry_run: ``start --dry-run`` (kept across reloads).
        on_bound: called once the HTTP address is bound, before any task runs.
        on_running: called once the daemon runs and serves, before waiting for its end.
    """
    from autosolve.daemon.app import App

    secrets = Secrets(secrets_of(settings))
    ring = LogRing()
    configure_logging(settings.log.level, settings.log.format, secrets=secrets, ring=ring)
    for warning in settings_warnings(settings):
        logger.warning("%s", warning)
    if settings.analysis.dry_run:
        logger.info("dry run: analyses are stored in the database, nothing is posted to GitHub")
    socket_path = str(resolve_path(settings, settings.control.socket))
    try:
        check_socket_path(socket_path)
    except OSError as error:  # a live daemon's socket, or a path that is not a socket
        logger.error("cannot start: %s", _socket_error(socket_path, error))
        return EXIT_FAILED
    notifier = Notifier()
    phases = _PhaseNotes(notifier)
    endpoint = HttpEndpoint(settings, secrets)
    try:
        endpoint.bind()  # a port in use stops us before any task runs
        address = endpoint.server.address if endpoint.server is not None else None
        logger.info("%s", start_banner(settings, None if address is None else str(address)))
        if on_bound is not None:
            on_bound(endpoint)
        app = App.start(
            settings,
            observers=[phases, endpoint.readiness.observe],
            metrics=endpoint.metrics,
            secrets=secrets,
            log_ring=ring,
        )
    except Exception as error:  # e.g. the database is used by another daemon
        endpoint.close()
        logger.error("cannot start: %s", error)
        return EXIT_FAILED
    _prepare_reload(app, endpoint, dry_run=dry_run)
    server = ControlServer(app.handle, socket_path, commands=app.commands)
    _handle_signals(app, before_forced_exit=server.remove_socket)
    try:
        try:
            server.start()
        except OSError as error:
            logger.error("cannot start: %s", _socket_error(socket_path, error))
            app.stop(timeout=settings.runtime.shutdown_timeout + 5.0)
            return EXIT_FAILED
        phases.serving()
        endpoint.serve(app)
        app.handle.backend.spawn_loop(lambda: _check_model(app), "model-check")
        if on_running is not None:
            on_running(app)
        result = run_until_done(app, notifier)
    finally:
        server.close()
        endpoint.close()
        notifier.close()
    if result.ok:
        logger.info("stopped")
        return EXIT_OK
    return EXIT_FAILED  # why is in the log once: the runtime said it, in the error's words


def _dry_run(settings: Settings) -> Settings:
    return dataclasses.replace(
        settings, analysis=dataclasses.replace(settings.analysis, dry_run=True)
    )


def _prepare_reload(app: App, endpoint: HttpEndpoint, *, dry_run: bool) -> None:
    """What a reload needs from the command line: its overrides kept, logs and HTTP retuned.

    ``start --dry-run`` stays a dry run whatever the file says. The log level
    and format follow the new settings (new secrets are masked already: the
    app added them to the secrets the logs share); the endpoint follows a new
    token or readiness grace.
    """
    if dry_run:
        read = app.reloader.read
        app.reloader.read = lambda: _dry_run(read())

    def apply(running: Settings, new: Settings) -> None:
        if new.log != running.log:
            configure_logging(new.log.level, new.log.format, secrets=app.secrets, ring=app.log_ring)
        try:
            endpoint.reconfigure(new)
        except OSError as error:  # the token file: the endpoint keeps its token
            logger.error("http: %s; the endpoint keeps its token", error)

    app.reloader.add_listener(apply)
    QuietCollector(app)


class QuietCollector:
    """Keeps the garbage collector's full passes out of a reload's way (the daemon only).

    A reload adding thousands of children allocates enough long-lived objects
    to trigger full collections while they start, and a full collection
    traverses every actor of the process: 445 ms at 6,000 children, during
    which no thread runs (BENCHMARKS.md, "Reload"). So before a reload the
    objects alive are frozen (young garbage collected first), collection is
    paused until the children added have all started (the runtime's
    ``settled`` event, at most :attr:`LONGEST` seconds); then what is alive
    is frozen again, the children added with it, and collection resumes.
    Frozen objects are not traversed while the children start, so no full
    collection stalls them, nor after: the steady state after each reload
    is kept off the collector as the run keeps it after its start. The run's
    end unfreezes everything. Where the run leaves the collector alone
    (``SupervisorOptions.freeze_collector`` off) everything is unfrozen at
    once instead, so nothing is kept for good.
    """

    LONGEST = 120.0
    """Seconds collection stays paused if the run never settles."""

    def __init__(self, app: App) -> None:
        self._handle = app.handle
        self._lock = threading.Lock()
        self._deadline: Any = None
        app.reloader.add_start_listener(self.pause)
        app.reloader.add_report_listener(self.reloaded)
        app.add_observer(self.observe)

    def pause(self) -> None:
        with self._lock:
            gc.collect(1)
            gc.freeze()
            gc.disable()
            if self._deadline is None:
                self._deadline = self._handle.backend.call_later_real(self.LONGEST, self.resume)

    def reloaded(self, report: ReloadReport | None) -> None:
        if report is None or not report.groups:  # nothing to wait for
            self.resume()

    def observe(self, event: RuntimeEvent) -> None:
        if event.kind == "settled":
            self.resume()

    def resume(self) -> None:
        with self._lock:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None
            if not gc.isenabled():
                if not self._handle.freeze_collector():
                    gc.unfreeze()
                gc.enable()


def run_until_done(app: App, notifier: Notifier | None = None) -> RunResult:
    """Wait for the run to end, keeping the service manager informed meanwhile.

    Returns the run's result, or a failed one as soon as the supervisor is
    found dead without having left a result (it crashed).
    """
    notifier = notifier or Notifier({})
    watchdog = notifier.watchdog_interval
    period = watchdog or STATUS_PERIOD
    poll = min(POLL, watchdog) if watchdog else POLL
    next_report = time.monotonic()
    last_status = ""
    while True:
        result = app.wait(timeout=poll)
        if result is not None:
            return result
        if not app.handle.ref.is_alive():
            return app.wait(timeout=poll) or _died_without_a_result()
        if notifier.enabled and time.monotonic() >= next_report:
            next_report = time.monotonic() + period
            summary = _healthy_summary(app, timeout=period / 2)  # a ping stays in time
            if summary is None:
                continue  # no ping: a supervisor that does not answer is not healthy
            if watchdog:
                notifier.watchdog()
            if summary != last_status:
                notifier.status(summary)
                last_status = summary


def _died_without_a_result() -> RunResult:
    """The result of a run whose supervisor died leaving none (the one failure it never logs)."""
    result = RunResult(ok=False, reason="the supervisor died without a result")
    logger.error("run failed: %s", result.reason)
    return result


def _healthy_summary(app: App, timeout: float) -> str | None:
    """``workers: 7 children, 1 failing`` if the supervisor answers within ``timeout``."""
    try:
        document = app.status(timeout=timeout)
    except Exception:
        logger.warning("the supervisor did not answer a status request within %g s", timeout)
        return None
    children = document.get("children", [])
    failing = sum(1 for child in children if child.get("state") in ("failed", "backoff"))
    text = f"{document.get('phase')}: {len(children)} children"
    return f"{text}, {failing} failing" if failing else text


class _PhaseNotes:
    """Tells the service manager about phase changes (on the supervisor's thread: no asks).

    ``READY=1`` waits for both the worker phase and :meth:`serving` (the control
    socket listens): once ``systemctl start`` returns, ``ctl`` works.
    """

    def __init__(self, notifier: Notifier) -> None:
        self._notifier = notifier
        self._stopping = False
        self._lock = threading.Lock()
        self._waiting_for = {"workers", "serving"}

    def __call__(self, event: RuntimeEvent) -> None:
        if event.kind != "phase" or not self._notifier.enabled:
            return
        phase = str(event.detail)
        if phase == "workers":
            self._reached("workers")
        elif phase in ("stopping", "stopped", "failed") and not self._stopping:
            self._stopping = True
            self._notifier.stopping(phase)
        else:
            self._notifier.status(phase)

    def serving(self) -> None:
        """The control socket listens."""
        if self._notifier.enabled:
            self._reached("serving")

    def _reached(self, step: str) -> None:
        with self._lock:
            waited = bool(self._waiting_for)
            self._waiting_for.discard(step)
            ready = waited and not self._waiting_for
        if ready:
            self._notifier.ready("workers: running")


def _check_model(app: App) -> None:
    """Warn at start, not at the first job, when the model is missing (one line either way)."""
    from autosolve.cli.online import check_model

    finding = check_model(app.settings)
    if finding.ok:
        logger.info("%s: %s", finding.subject, finding.detail)
    else:
        logger.warning("%s: %s; analyses fail until it is there", finding.subject, finding.detail)


def _reload(app: App) -> None:
    with contextlib.suppress(Exception):  # refused: the reloader logged why
        app.reload()


def _socket_error(path: str, error: OSError) -> str:
    return (
        str(error) if isinstance(error, ControlSocketError) else f"control socket {path}: {error}"
    )


def request_stop(app: App, reason: str) -> None:
    """Begin a graceful stop without waiting for it (safe in a signal handler); log ``reason``."""
    logger.info("%s, stopping", reason)
    with contextlib.suppress(pykka.ActorDeadError):  # the run ended meanwhile
        app.handle.proxy.stop()  # an ask whose answer nobody waits for


def _handle_signals(app: App, before_forced_exit: Callable[[], None] | None = None) -> None:
    """SIGINT/SIGTERM stop gracefully; a second SIGINT exits at once with 130; SIGHUP reloads.

    ``before_forced_exit`` runs just before that exit (it must not block or
    take locks: it interrupts whatever the main thread was doing).
    """
    requested: list[int] = []

    def on_stop_signal(signum: int, _frame: Any) -> None:
        if requested and signum == signal.SIGINT:
            if before_forced_exit is not None:
                with contextlib.suppress(Exception):
                    before_forced_exit()
            os.write(2, b"autosolve-supervisor: forced exit\n")
            os._exit(EXIT_FORCED)
        if not requested:
            requested.append(signum)
            request_stop(app, f"{signal.Signals(signum).name} received")

    def on_hangup(_signum: int, _frame: Any) -> None:
        # Not here: a handler interrupts the main thread wherever it is. The
        # reload runs beside it and logs its outcome (as `ctl reload` answers it).
        logger.info("SIGHUP received: reloading the settings")
        app.handle.backend.spawn_loop(lambda: _reload(app), "reload")

    signal.signal(signal.SIGINT, on_stop_signal)
    signal.signal(signal.SIGTERM, on_stop_signal)
    signal.signal(signal.SIGHUP, on_hangup)
