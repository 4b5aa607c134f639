"""What the commands share: reporting an error, loading the settings."""

from __future__ import annotations

import sys

from autosolve.cli.exit_codes import EXIT_FAILED
from autosolve.cli.parser import PROG
from autosolve.settings import Settings, SettingsError, load_settings

__all__ = ["fail", "load_or_report", "warn"]


def fail(message: str, code: int = EXIT_FAILED) -> int:
    """Print ``message`` on stderr as the command's one error line; return ``code``."""
    print(f"{PROG}: {message}", file=sys.stderr)
    return code


def warn(message: str) -> None:
    print(f"{PROG}: warning: {message}", file=sys.stderr)


def load_or_report(path: str | None) -> Settings | None:
    """The settings, or None after printing every problem with them."""
    try:
        return load_settings(path)
    except SettingsError as error:
        fail(str(error))
        return None
