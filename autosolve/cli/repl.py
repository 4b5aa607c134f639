"""``autosolve-supervisor repl``: a Python console with the runtime at hand.

In-process (the default) the runtime starts behind the prompt and ``sup`` is
the supervisor's pykka proxy; it stops when the console exits. With
``--attach`` the same helpers drive a running daemon through its control
socket and ``sup`` is a :class:`ControlClient`. The console reads stdin
line by line, so a script piped into it runs as if typed.
"""

from __future__ import annotations

import argparse
import code
import sys
from typing import Any

import pykka

from autosolve.cli.common import fail
from autosolve.cli.ctl import socket_path
from autosolve.cli.exit_codes import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from autosolve.config import SettingsError, load_settings, secrets_of
from autosolve.control.client import ControlClient, ControlError, DaemonUnavailable
from autosolve.control.protocol import ProtocolError
from autosolve.control.table import format_status

__all__ = ["helpers", "run"]


_BANNER = """autosolve {where}
  status()         the status document      table()          the same as a table
  pause(name)      resume(name)             run_now(name)    restart(name)
  stop()           stop the runtime         sup              {sup}
names may be shell-style patterns, e.g. pause("worker:issue-poller:*")"""


def helpers(target: Any, sup: Any) -> dict[str, Any]:
    """The console's namespace for ``target`` (a RuntimeHandle or a ControlClient)."""

    def table() -> None:
        print(format_status(target.status()))

    return {
        "status": target.status,
        "table": table,
        "pause": target.pause,
        "resume": target.resume,
        "run_now": target.run_now,
        "restart": target.restart,
        "stop": target.stop,
        "sup": sup,
    }


def run(args: argparse.Namespace) -> int:
    """Run the console until EOF (Ctrl-D, or the end of a piped script)."""
    if args.attach:
        return _attached(args)
    return _in_process(args)


def _attached(args: argparse.Namespace) -> int:
    try:
        path = socket_path(args)
    except SettingsError as error:
        return fail(str(error), EXIT_USAGE)
    client = ControlClient(path)
    try:
        client.connect()
    except DaemonUnavailable as error:
        return fail(str(error))
    namespace = helpers(client, client)
    namespace["stop"] = lambda wait=True, timeout=None: client.stop(wait, timeout)
    try:
        _interact(namespace, f"attached to {path}", "a ControlClient on the socket")
    finally:
        client.close()
    return EXIT_OK


def _in_process(args: argparse.Namespace) -> int:
    from autosolve.app import start
    from autosolve.logs import configure_logging

    try:
        settings = load_settings(args.settings)
    except SettingsError as error:
        return fail(str(error), EXIT_USAGE)
    configure_logging(settings.log.level, settings.log.format, secrets=secrets_of(settings))
    try:
        handle = start(settings)
    except Exception as error:  # e.g. the database is used by a running daemon
        return fail(f"cannot start: {error}")
    shutdown_timeout = settings.runtime.shutdown_timeout
    namespace = helpers(handle, handle.proxy)
    namespace["handle"] = handle
    namespace["stop"] = lambda timeout=shutdown_timeout + 5.0: handle.stop(timeout)
    try:
        _interact(
            namespace,
            "runtime running in-process",
            "the supervisor's pykka proxy",
            cooperative=settings.runtime.backend == "gevent",
        )
    finally:
        result = handle.stop(timeout=shutdown_timeout + 5.0)
    return EXIT_OK if result is not None and result.ok else EXIT_FAILED


_HELPER_ERRORS: tuple[type[BaseException], ...] = (
    ControlError,
    DaemonUnavailable,
    ProtocolError,
    pykka.Timeout,
    pykka.ActorDeadError,
)
"""What a helper raises when the runtime says no: one line, not a traceback into our code."""


class _Console(code.InteractiveConsole):
    """A console that keeps a piped script's output clean of prompts.

    ``cooperative`` reads stdin in a native thread: on the gevent backend a
    blocking read would freeze the hub, and with it every actor, while the
    console waits for the next line. A helper's refusal prints one line;
    other errors (the user's own code) keep their traceback.
    """

    def __init__(self, namespace: dict[str, Any], cooperative: bool) -> None:
        super().__init__(namespace, filename="<autosolve>")
        self._cooperative = cooperative

    def raw_input(self, prompt: str = "") -> str:
        prompt = prompt if sys.stdin.isatty() else ""
        if self._cooperative:
            import gevent

            return gevent.get_hub().threadpool.apply(input, (prompt,))
        return input(prompt)

    def showtraceback(self) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, _HELPER_ERRORS):
            self.write(f"{type(error).__name__}: {error}\n")
            return
        super().showtraceback()


def _interact(namespace: dict[str, Any], where: str, sup: str, cooperative: bool = False) -> None:
    console = _Console(namespace, cooperative)
    console.interact(banner=_BANNER.format(where=where, sup=sup), exitmsg="")
