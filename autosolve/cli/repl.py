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
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pykka

from autosolve.cli.common import fail
from autosolve.cli.ctl import locate
from autosolve.cli.exit_codes import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from autosolve.cli.parser import DEFAULT_LOG_LINES
from autosolve.control.client import ControlClient, ControlError, DaemonUnavailable
from autosolve.control.protocol import ProtocolError
from autosolve.control.table import format_status
from autosolve.log_ring import LogRing
from autosolve.masking import Secrets
from autosolve.runtime import Backend
from autosolve.settings import SettingsError, load_settings, secrets_of

if TYPE_CHECKING:
    from autosolve.daemon.app import App

__all__ = ["helpers", "run"]


_BANNER = """autosolve {where}
  status()         the status document      table()          the same as a table
  pause(name)      resume(name)             run_now(name)    restart(name)
  stop(name, ...)  stop children, kept stopped until start(name, ...)
  logs(name=None, n=20)  a child's latest log records (none: the daemon's)
  shutdown()       stop the runtime (so does stop() without a name)
  sup              {sup}
  explain("octo/hello#12", post=True)       jobs()           retry_dead(7 or "all")
  reload()         re-read the settings and apply the difference (as `ctl reload`)
names may be shell-style patterns, e.g. pause("worker:issue-poller:*")"""


def helpers(
    target: Any,
    sup: Any,
    call: Callable[..., dict[str, Any]],
    status: Callable[[], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The console's namespace for ``target`` (a RuntimeHandle or a ControlClient).

    ``call(command, **arguments)`` sends an application command (``explain``,
    ``jobs``, ``retry-dead``, ``reload``) and returns the answer, raising
    ControlError on a refusal. ``status`` (default: ``target.status``) gives
    the status document the console shows (masked, like every answer).
    """
    status = status or target.status

    def table() -> None:
        print(format_status(status()))

    def explain(issue: str, post: bool = True) -> dict[str, Any]:
        return _without_ok(call("explain", issue=issue, post=post))

    def jobs() -> dict[str, Any]:
        return _without_ok(call("jobs"))

    def retry_dead(which: int | str) -> list[int]:
        retried: list[int] = call("retry-dead", id=which)["retried"]
        return retried

    def reload() -> dict[str, Any]:
        return _without_ok(call("reload"))

    def start(*names: str) -> list[str]:
        started: list[str] = call("start", names=list(names))["names"]
        return started

    def logs(name: str | None = None, n: int = DEFAULT_LOG_LINES) -> None:
        named = {} if name is None else {"name": name}
        for record in call("logs", lines=n, **named)["records"]:
            print(record["text"])

    return {
        "status": status,
        "table": table,
        "pause": target.pause,
        "resume": target.resume,
        "run_now": target.run_now,
        "restart": target.restart,
        "start": start,
        "logs": logs,
        "explain": explain,
        "jobs": jobs,
        "retry_dead": retry_dead,
        "reload": reload,
        "sup": sup,
    }


def _with_stop(
    namespace: dict[str, Any], call: Callable[..., dict[str, Any]], shutdown: Callable[..., Any]
) -> dict[str, Any]:
    """``shutdown()`` and ``stop()``: with names, ``stop`` stops those children only."""

    def stop(*names: str, **options: Any) -> Any:
        if not names:
            return shutdown(**options)
        stopped: list[str] = call("stop", names=list(names))["names"]
        return stopped

    return {**namespace, "stop": stop, "shutdown": shutdown}


def _without_ok(reply: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in reply.items() if key != "ok"}


def _answering(app: App) -> Callable[..., dict[str, Any]]:
    """``call`` for an in-process daemon: its command table, refusals raised."""

    def call(command: str, **arguments: Any) -> dict[str, Any]:
        reply = app.answer({"command": command, **arguments})
        if not reply["ok"]:
            raise ControlError(reply["error"])
        return reply

    return call


def run(args: argparse.Namespace) -> int:
    """Run the console until EOF (Ctrl-D, or the end of a piped script)."""
    if args.attach:
        return _attached(args)
    return _in_process(args)


def _attached(args: argparse.Namespace) -> int:
    location = locate(args)
    client = ControlClient(location.path)
    try:
        client.connect()
    except DaemonUnavailable as error:
        return fail(*location.unreachable(error))
    location.warn()
    namespace = _with_stop(
        helpers(client, client, client.call),
        client.call,
        lambda wait=True, timeout=None: client.stop(wait, timeout),
    )
    try:
        _interact(namespace, f"attached to {location.path}", "a ControlClient on the socket")
    finally:
        client.close()
    return EXIT_OK


def _in_process(args: argparse.Namespace) -> int:
    from autosolve.daemon.app import App
    from autosolve.logs import configure_logging

    try:
        settings = load_settings(args.settings)
    except SettingsError as error:
        return fail(str(error), EXIT_USAGE)
    secrets = Secrets(secrets_of(settings))
    ring = LogRing()
    configure_logging(settings.log.level, settings.log.format, secrets=secrets, ring=ring)
    try:
        app = App.start(settings, secrets=secrets, log_ring=ring)
    except Exception as error:  # e.g. the database is used by a running daemon
        return fail(f"cannot start: {error}")
    handle = app.handle
    shutdown_timeout = settings.runtime.shutdown_timeout
    call = _answering(app)
    namespace = _with_stop(
        helpers(handle, handle.proxy, call, lambda: app.secrets.mask_document(app.status())),
        call,
        lambda timeout=shutdown_timeout + 5.0: handle.stop(timeout),
    )
    namespace["handle"] = handle
    try:
        _interact(
            namespace,
            "runtime running in-process",
            "the supervisor's pykka proxy",
            cooperative=settings.runtime.backend == Backend.GEVENT,
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
