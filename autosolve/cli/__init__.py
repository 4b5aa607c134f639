"""``autosolve-supervisor``: start, check, ctl, repl, demo.

One module per command (:mod:`.start`, :mod:`.check`, :mod:`.ctl`,
:mod:`.repl`, :mod:`.demo`), each with ``run(args) -> exit code``; the grammar and help are
in :mod:`.parser`, the exit codes in :mod:`.exit_codes`. A command's module
is imported only after parsing, once the gevent backend (if configured) has
monkey-patched the standard library: nothing may import requests, urllib3 or
ssl before that.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from autosolve.cli.exit_codes import EXIT_FAILED, EXIT_FORCED, EXIT_OK, EXIT_USAGE
from autosolve.cli.parser import build_parser
from autosolve.cli.raw_settings import raw_value

__all__ = ["EXIT_FAILED", "EXIT_FORCED", "EXIT_OK", "EXIT_USAGE", "entry", "main"]


def _requested_backend(settings_path: str | None) -> str:
    """The configured backend, read without importing anything that opens sockets."""
    env = os.environ.get("AUTOSOLVE_RUNTIME__BACKEND")
    if env:
        return env.strip().strip("'\"")
    # The real loader reports any problem with the file or the value.
    return str(raw_value(Path(settings_path or "settings.toml"), "runtime.backend") or "threading")


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command and return its exit code (usage errors exit 2 via argparse)."""
    args = build_parser().parse_args(argv)
    # Compared by value: autosolve.runtime.Backend cannot be imported before the patch.
    if args.command in ("start", "repl") and _requested_backend(args.settings) == "gevent":
        # Before requests, urllib3 or ssl are imported anywhere.
        from gevent import monkey

        monkey.patch_all()
    command = importlib.import_module(f"autosolve.cli.{args.command}")
    code: int = command.run(args)
    return code


def entry() -> None:  # pragma: no cover - console-script shim
    """The console script.

    SIGPIPE stays ignored (Python's default): a client hanging up on the
    daemon is that connection's error, never the process's death. A reader of
    our stdout going away (``ctl status | head -1``) ends the command quietly.
    """
    try:
        code = main()
        sys.stdout.flush()
    except BrokenPipeError:
        with contextlib.suppress(OSError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())  # no second error at interpreter exit
        code = EXIT_FAILED
    sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
