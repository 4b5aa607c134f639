"""The command implementations behind :mod:`autosolve.cli`."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from typing import Any

from autosolve.config import Settings, SettingsError, load_settings

__all__ = ["run_command"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_FORCED = 0, 1, 2, 130

logger = logging.getLogger("autosolve")


def run_command(args: argparse.Namespace) -> int:
    command = {"start": start, "check": check, "ctl": ctl, "repl": repl}[args.command]
    return command(args)


def _load(args: argparse.Namespace) -> Settings | None:
    try:
        return load_settings(args.settings)
    except SettingsError as error:
        print(f"autosolve-supervisor: {error}", file=sys.stderr)
        return None


def check(args: argparse.Namespace) -> int:
    """Validate the settings and print the plan, one task per line, preflights first."""
    settings = _load(args)
    if settings is None:
        return EXIT_USAGE
    from autosolve.app import Dependencies, build_scheduler

    try:
        plan = build_scheduler(settings, Dependencies(settings)).plan()
    except ValueError as error:
        print(f"autosolve-supervisor: {error}", file=sys.stderr)
        return EXIT_USAGE
    for name in plan.names:
        print(name)
    return EXIT_OK


def start(args: argparse.Namespace) -> int:
    """Run in the foreground until a signal, ``ctl stop`` or a permanent failure."""
    settings = _load(args)
    if settings is None:
        return EXIT_USAGE
    from autosolve.app import start as start_app
    from autosolve.logs import configure_logging

    configure_logging(settings.log.level, settings.log.format, secrets=[settings.github.token])
    try:
        handle = start_app(settings)
    except Exception as error:  # e.g. the database is used by another daemon
        logger.error("cannot start: %s", error)
        return EXIT_FAILED
    _stop_on_signals(handle)
    result = None
    while result is None:
        result = handle.wait(timeout=1.0)
    if result.ok:
        logger.info("stopped")
        return EXIT_OK
    logger.error("run failed: %s", result.reason)
    return EXIT_FAILED


def _stop_on_signals(handle: Any) -> None:
    """SIGINT/SIGTERM stop gracefully; a second SIGINT exits at once with 130."""
    requested = []

    def on_signal(signum: int, _frame: Any) -> None:
        if requested and signum == signal.SIGINT:
            os.write(2, b"autosolve-supervisor: forced exit\n")
            os._exit(EXIT_FORCED)
        if not requested:
            requested.append(signum)
            logger.info("%s received, stopping", signal.Signals(signum).name)
            handle.proxy.stop()  # an ask whose answer nobody waits for

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)


def ctl(args: argparse.Namespace) -> int:
    from autosolve.control.client import run_ctl

    return run_ctl(args)


def repl(args: argparse.Namespace) -> int:
    from autosolve.control.repl import run_repl

    return run_repl(args)
