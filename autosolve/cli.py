"""``autosolve-supervisor``: start, check, ctl, repl.

Exit codes: 0 after a graceful stop (or a successful command), 1 when the run
failed or a control request was refused, 2 for usage or settings errors,
130 when a second Ctrl-C forced the exit.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path

__all__ = ["main"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_FORCED = 0, 1, 2, 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="autosolve-supervisor",
        description="Mirror GitHub issues and have an AI model analyse them.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def with_settings(sub: argparse.ArgumentParser) -> argparse.ArgumentParser:
        sub.add_argument(
            "--settings", metavar="PATH", help="settings file (default: ./settings.toml)"
        )
        return sub

    with_settings(commands.add_parser("start", help="run the daemon in the foreground"))
    with_settings(commands.add_parser("check", help="validate settings and print the plan"))

    ctl = with_settings(commands.add_parser("ctl", help="talk to a running daemon"))
    ctl.add_argument("--socket", metavar="PATH", help="control socket (default: from settings)")
    actions = ctl.add_subparsers(dest="action", required=True, metavar="ACTION")
    status = actions.add_parser("status", help="phase and children")
    status.add_argument("--json", action="store_true", help="print SPEC §5.3 JSON")
    for action in ("pause", "resume", "run-now", "restart"):
        actions.add_parser(action, help=f"{action} children").add_argument(
            "name", help="child name or shell-style pattern"
        )
    actions.add_parser("stop", help="stop the daemon gracefully")

    repl = with_settings(commands.add_parser("repl", help="interactive console"))
    repl.add_argument("--attach", action="store_true", help="drive a running daemon")
    repl.add_argument("--socket", metavar="PATH", help="control socket with --attach")
    return parser


def _requested_backend(settings_path: str | None) -> str:
    """The configured backend, read without importing anything that opens sockets."""
    env = os.environ.get("AUTOSOLVE_RUNTIME__BACKEND")
    if env:
        return env.strip().strip("'\"")
    path = Path(settings_path or "settings.toml")
    try:
        with path.open("rb") as file:
            return str(tomllib.load(file).get("runtime", {}).get("backend", "threading"))
    except (OSError, tomllib.TOMLDecodeError):
        return "threading"  # the real loader reports the problem


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command in ("start", "repl") and _requested_backend(args.settings) == "gevent":
        # Before requests, urllib3 or ssl are imported anywhere.
        from gevent import monkey

        monkey.patch_all()
    from autosolve.commands import run_command

    return run_command(args)


def entry() -> None:  # pragma: no cover - console-script shim
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
