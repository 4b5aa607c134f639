"""``autosolve-supervisor start``: the daemon in the foreground."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from autosolve.cli.common import load_or_report
from autosolve.cli.exit_codes import EXIT_FAILED, EXIT_FORCED, EXIT_OK, EXIT_USAGE
from autosolve.config import resolve_path, secrets_of
from autosolve.control.server import ControlServer
from autosolve.control.socket_file import ControlSocketError, check_socket_path
from autosolve.logs import configure_logging

if TYPE_CHECKING:
    from autosolve.app import App

__all__ = ["run"]

logger = logging.getLogger("autosolve")


def run(args: argparse.Namespace) -> int:
    """Run in the foreground until a signal, ``ctl stop`` or a permanent failure.

    The control socket is claimed before the runtime starts (a second daemon
    on the same socket must not run a single task) and removed on every way
    out, a forced exit included.
    """
    settings = load_or_report(args.settings)
    if settings is None:
        return EXIT_USAGE
    from autosolve.app import App

    configure_logging(settings.log.level, settings.log.format, secrets=secrets_of(settings))
    socket_path = str(resolve_path(settings, settings.control.socket))
    try:
        check_socket_path(socket_path)
    except OSError as error:  # a live daemon's socket, or a path that is not a socket
        logger.error("cannot start: %s", _socket_error(socket_path, error))
        return EXIT_FAILED
    try:
        app = App.start(settings)
    except Exception as error:  # e.g. the database is used by another daemon
        logger.error("cannot start: %s", error)
        return EXIT_FAILED
    server = ControlServer(app.handle, socket_path, commands=app.commands)
    _handle_signals(app, before_forced_exit=server.remove_socket)
    try:
        try:
            server.start()
        except OSError as error:
            logger.error("cannot start: %s", _socket_error(socket_path, error))
            app.stop(timeout=settings.runtime.shutdown_timeout + 5.0)
            return EXIT_FAILED
        result = None
        while result is None:
            result = app.wait(timeout=1.0)
    finally:
        server.close()
    if result.ok:
        logger.info("stopped")
        return EXIT_OK
    logger.error("run failed: %s", result.reason)
    return EXIT_FAILED


def _socket_error(path: str, error: OSError) -> str:
    return (
        str(error) if isinstance(error, ControlSocketError) else f"control socket {path}: {error}"
    )


def _handle_signals(app: App, before_forced_exit: Callable[[], None] | None = None) -> None:
    """SIGINT/SIGTERM stop gracefully; a second SIGINT exits at once with 130.

    ``before_forced_exit`` runs just before that exit (it must not block or
    take locks: it interrupts whatever the main thread was doing).
    """
    requested = []

    def on_signal(signum: int, _frame: Any) -> None:
        if requested and signum == signal.SIGINT:
            if before_forced_exit is not None:
                with contextlib.suppress(Exception):
                    before_forced_exit()
            os.write(2, b"autosolve-supervisor: forced exit\n")
            os._exit(EXIT_FORCED)
        if not requested:
            requested.append(signum)
            logger.info("%s received, stopping", signal.Signals(signum).name)
            app.handle.proxy.stop()  # an ask whose answer nobody waits for

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
