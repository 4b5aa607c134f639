"""Where the daemon's control socket is, found without needing valid settings.

In order: ``--socket PATH``; the environment variable of ``control.socket``
(``AUTOSOLVE_CONTROL__SOCKET``); ``control.socket`` in the settings file,
read even when other keys are invalid (a warning names them: the daemon
keeps running on the settings it loaded, and ``ctl`` must still reach it);
else the default. A relative path is taken beside the settings file, as the
daemon takes it, whether or not that file exists.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from autosolve.cli.common import warn
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
    """The control socket's path and how it was found (for the message when nobody listens)."""

    path: str
    found: str
    """``--socket``, ``AUTOSOLVE_CONTROL__SOCKET``, ``control.socket in FILE``, or the default."""

    def unreachable(self, error: DaemonUnavailable) -> str:
        """The error; when nothing listens there, also where the path came from."""
        if self.found == "--socket" or not error.nobody_listens:
            return str(error)
        return f"{error}; the path is {self.found} (give --socket PATH or --settings PATH)"


def locate_socket(
    socket_option: str | None,
    settings_option: str | None,
    environ: Mapping[str, str] = os.environ,
) -> SocketLocation:
    """Find the control socket (see the module); warnings go to stderr."""
    if socket_option:
        return SocketLocation(str(socket_option), "--socket")
    settings_file = Path(settings_option or DEFAULT_SETTINGS).resolve()
    variable = environment_variable(SOCKET_KEY)
    from_environment = environ.get(variable, "").strip().strip("'\"")
    if from_environment:
        return _beside(settings_file, from_environment, variable)
    if not settings_file.is_file():
        if settings_option is not None:
            warn(f"settings file {settings_file} does not exist; trying the default {SOCKET_KEY}")
        return _default(settings_file, f"the default {SOCKET_KEY} ({settings_file} does not exist)")
    return _from_file(settings_file)


def _from_file(settings_file: Path) -> SocketLocation:
    found = f"{SOCKET_KEY} in {settings_file}"
    try:
        settings = load_settings(settings_file)
    except SettingsError as error:
        value = raw_value(settings_file, SOCKET_KEY)
        usable = isinstance(value, str) and value.strip() != "" and SOCKET_KEY not in error.problems
        taken = f"its {SOCKET_KEY} anyway" if usable else f"the default {SOCKET_KEY}"
        warn(
            f"{settings_file} is invalid ({', '.join(sorted(error.problems))}; "
            f"`check` says why); trying {taken}"
        )
        if not usable:
            return _default(settings_file, f"the default {SOCKET_KEY}")
        return _beside(settings_file, str(value), found)
    return _beside(settings_file, settings.control.socket, found)


def _default(settings_file: Path, found: str) -> SocketLocation:
    return _beside(settings_file, Settings().control.socket, found)


def _beside(settings_file: Path, value: str, found: str) -> SocketLocation:
    return SocketLocation(str(resolve_beside(settings_file, value)), found)
