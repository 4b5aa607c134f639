"""Where the daemon's control socket is, found without needing valid settings.

In order: ``--socket PATH``; the environment variable of ``control.socket``
(``AUTOSOLVE_CONTROL__SOCKET``); ``control.socket`` in the settings file,
read even when other keys are invalid; else the default. A relative path is
taken beside the settings file, as the daemon takes it, whether or not that
file exists.

Settings that are invalid (or missing) do not stop ``ctl``: the daemon runs
on the settings it loaded, and right after an operator broke the file is
when the control channel is needed most. If a daemon answers, a warning
names the invalid keys; if none does, the settings are the likely reason,
and their problems are the error (exit 2).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from autosolve.cli.common import warn
from autosolve.cli.exit_codes import EXIT_FAILED, EXIT_USAGE
from autosolve.cli.raw_settings import raw_value
from autosolve.control.client import DaemonUnavailable
from autosolve.settings import Settings, SettingsError, load_settings
from autosolve.settings.environment import environment_variable
from autosolve.settings.schema import resolve_beside

__all__ = ["SOCKET_KEY", "SocketLocation", "locate_socket"]

SOCKET_KEY = "control.socket"

DEFAULT_SETTINGS = "settings.toml"


@dataclass(frozen=True)
class SocketLocation:
    """The control socket's path, how it was found, and what is wrong with the settings."""

    path: str
    found: str
    """``--socket``, ``AUTOSOLVE_CONTROL__SOCKET``, ``control.socket in FILE``, or the default."""
    settings_problem: str | None = None
    """Why the settings cannot be loaded (every invalid key, or the missing file), if so."""
    warning: str | None = None
    """What to tell when a daemon answers all the same."""

    def warn(self) -> None:
        """Print the warning (a daemon answered: the settings are the next thing to fix)."""
        if self.warning is not None:
            warn(self.warning)

    def unreachable(self, error: DaemonUnavailable) -> tuple[str, int]:
        """The error message and exit code when the daemon cannot be reached.

        Nobody listening while the settings are broken: the settings are the
        error (exit 2). Otherwise the error, and where the path came from.
        """
        if not error.nobody_listens or self.found == "--socket":
            return str(error), EXIT_FAILED
        if self.settings_problem is not None:
            return f"{self.settings_problem}\n(and no daemon listens on {self.path})", EXIT_USAGE
        return f"{error}; the path is {self.found} (give --socket PATH)", EXIT_FAILED


def locate_socket(
    socket_option: str | None,
    settings_option: str | None,
    environ: Mapping[str, str] = os.environ,
) -> SocketLocation:
    """Find the control socket (see the module)."""
    if socket_option:
        return SocketLocation(str(socket_option), "--socket")
    settings_file = Path(settings_option or DEFAULT_SETTINGS).resolve()
    variable = environment_variable(SOCKET_KEY)
    from_environment = environ.get(variable, "").strip().strip("'\"")
    if from_environment:
        return _beside(settings_file, from_environment, variable)
    if not settings_file.is_file():
        missing = f"settings file {settings_file} does not exist"
        return _beside(
            settings_file,
            Settings().control.socket,
            f"the default {SOCKET_KEY}",
            settings_problem=f"{missing} (give --settings PATH or --socket PATH)",
            warning=f"{missing}; the default {SOCKET_KEY} was tried",
        )
    return _from_file(settings_file)


def _from_file(settings_file: Path) -> SocketLocation:
    found = f"{SOCKET_KEY} in {settings_file}"
    try:
        settings = load_settings(settings_file)
    except SettingsError as error:
        value = raw_value(settings_file, SOCKET_KEY)
        usable = isinstance(value, str) and value.strip() != "" and SOCKET_KEY not in error.problems
        taken = f"its {SOCKET_KEY}" if usable else f"the default {SOCKET_KEY}"
        warning = (
            f"{settings_file} is invalid ({', '.join(sorted(error.problems))}; "
            f"`check` says why); {taken} was used all the same"
        )
        path = str(value) if usable else Settings().control.socket
        found = found if usable else f"the default {SOCKET_KEY}"
        return _beside(settings_file, path, found, settings_problem=str(error), warning=warning)
    return _beside(settings_file, settings.control.socket, found)


def _beside(settings_file: Path, value: str, found: str, **problems: str) -> SocketLocation:
    return SocketLocation(str(resolve_beside(settings_file, value)), found, **problems)
