"""Loading: ``settings.toml`` through dynaconf, validated as a whole by the derived schema.

Loading order (later wins): ``settings.toml`` (or ``--settings PATH``), an
optional ``.secrets.toml`` beside it, then ``AUTOSOLVE_``-prefixed environment
variables with ``__`` for nesting (``AUTOSOLVE_GITHUB__TOKEN``). The result is
validated as a whole: every unknown or invalid key is reported by its dotted
path in one :class:`SettingsError`, so an operator fixes them all at once.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from marshmallow import ValidationError

from autosolve.settings.declare import Check, keys_of, tables_of
from autosolve.settings.environment import ENV_PREFIX, environment_keys, environment_variable
from autosolve.settings.problems import reworded, source_variable
from autosolve.settings.schema import load, resolve_beside
from autosolve.settings.sections import Settings

__all__ = [
    "ENV_PREFIX",
    "SettingsError",
    "as_mapping",
    "environment_variable",
    "load_settings",
    "resolve_path",
    "revalidate",
    "secrets_of",
    "settings_from_mapping",
    "settings_warnings",
]


class SettingsError(Exception):
    """Settings that cannot be used; ``problems`` maps dotted keys to messages.

    ``variables`` names the environment variable that set a key, where one
    did: its line then starts with the variable (``AUTOSOLVE_GITHUB__TOKNE
    (github.tokne): unknown key; ...``).
    """

    def __init__(self, problems: Mapping[str, str], variables: Mapping[str, str] = {}) -> None:
        self.problems = dict(problems)
        self.variables = {key: variables[key] for key in self.problems if key in variables}
        """Dotted key → the environment variable that set it."""
        lines = [f"{self._where(key)}: {message}" for key, message in sorted(self.problems.items())]
        super().__init__("invalid settings:\n  " + "\n  ".join(lines))

    def _where(self, key: str) -> str:
        variable = self.variables.get(key)
        return f"{variable} ({key})" if variable else key


def settings_from_mapping(
    data: Mapping[str, Any], source: Path | None = None, variables: Mapping[str, str] = {}
) -> Settings:
    """Validate a plain mapping (as read from TOML) into :class:`Settings`.

    Args:
        variables: the dotted keys the environment set → their variable (for the messages).

    Raises:
        SettingsError: every problem, by dotted key.
    """
    given = _lower_keys(data)
    try:
        settings: Settings = load(Settings, given, source)
    except ValidationError as error:
        problems = reworded(_flatten(error.messages), variables, given)
        sources = {key: source_variable(key, variables) for key in problems}
        raise SettingsError(
            problems, {key: name for key, name in sources.items() if name}
        ) from None
    return dataclasses.replace(settings, source=source)


def revalidate(settings: Settings) -> Settings:
    """``settings`` checked again as a whole, as if read from a file (a reload's combination).

    Raises:
        SettingsError: every problem, by dotted key.
    """
    return settings_from_mapping(as_mapping(settings), source=settings.source)


def as_mapping(value: Any) -> Any:
    """Settings as the plain mapping a TOML file would hold (``source`` and absent policies
    left out)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            item.name: as_mapping(getattr(value, item.name))
            for item in dataclasses.fields(value)
            if item.name != "source" and getattr(value, item.name) is not None
        }
    if isinstance(value, tuple):
        return [as_mapping(item) for item in value]
    return value


def load_settings(path: str | os.PathLike[str] | None = None) -> Settings:
    """Load ``path`` (default ``./settings.toml``), ``.secrets.toml`` and the environment.

    The file must exist, the default one too: a daemon started in the wrong
    directory must not run on defaults (nothing to watch, a database where it
    stands).

    Raises:
        SettingsError: a missing or unreadable file, or invalid values.
    """
    from dynaconf import Dynaconf

    file = Path(path if path is not None else "settings.toml").resolve()
    if not file.is_file():
        hint = "" if path is not None else " (give --settings PATH)"
        raise SettingsError({"settings": f"file {file} does not exist{hint}"})
    # One layer per source, laid over each other here: dynaconf's own merging
    # appends a later list to an earlier one, and an override must replace it.
    raw: dict[str, Any] = {}
    for layer in (file, file.with_name(".secrets.toml")):
        if layer.is_file():
            try:
                values = Dynaconf(settings_files=[str(layer)], environments=False, loaders=[])
                _override(raw, _lower_keys(values.as_dict()))
            except Exception as error:  # dynaconf surfaces TOML errors with many types
                raise SettingsError({"settings": f"cannot read {layer}: {error}"}) from None
    try:
        environment = Dynaconf(envvar_prefix=ENV_PREFIX, environments=False).as_dict()
    except Exception as error:  # e.g. `@json [1`; its text quotes the value, maybe a token
        raise SettingsError(
            {"settings": f"cannot read the {ENV_PREFIX}_* environment variables: "
                         f"{type(error).__name__} (values not shown: they may hold secrets)"}
        ) from None  # fmt: skip
    _override(raw, _lower_keys(environment))
    return settings_from_mapping(raw, source=file, variables=environment_keys(os.environ))


def secrets_of(settings: Settings) -> list[str]:
    """Values no log line, answer or message may show: every key declared secret."""
    found: list[str] = []
    for key in keys_of(Settings):
        value = _at(settings, key.path)
        secret = key.declaration.secret
        if secret is True:
            found.append(value)
        elif callable(secret):
            found += secret(value, settings.source)
    return [value for value in found if value]


def settings_warnings(settings: Settings) -> list[str]:
    """Valid settings that are probably not what the operator meant (``check`` and ``start``
    print them), each starting with the dotted key."""
    found = []
    for table in tables_of(Settings):
        for check in table.checks:
            message = _warning(check, settings, table.path)
            if message is not None:
                found.append(f"{_join(table.path, check.key)} {message}")
    return found


def resolve_path(settings: Settings, value: str) -> Path:
    """A path from the settings: relative ones are taken beside the settings file."""
    return resolve_beside(settings.source, value)


# -- helpers -------------------------------------------------------------------------------


class _LoadedValues:
    """A check's view of loaded settings: values by dotted key under one table."""

    def __init__(self, settings: Settings, table: str) -> None:
        self._settings = settings
        self._table = table

    def __getitem__(self, key: str) -> Any:
        return _at(self._settings, _join(self._table, key))

    def path(self, key: str) -> Path:
        return resolve_path(self._settings, str(self[key]))


def _warning(check: Check, settings: Settings, table: str) -> str | None:
    return check.test(_LoadedValues(settings, table)) if check.warning else None


def _at(value: Any, path: str) -> Any:
    for part in path.split(".") if path else ():
        value = getattr(value, part)
    return value


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _flatten(messages: Any, prefix: str = "") -> dict[str, str]:
    """marshmallow's nested error dict as ``{"a.b[0].c": "message"}``."""
    if isinstance(messages, Mapping):
        flat: dict[str, str] = {}
        for key, value in messages.items():
            if isinstance(key, int):
                path = f"{prefix}[{key}]"
            elif key == "_schema":
                path = prefix or "settings"
            else:
                path = f"{prefix}.{key}" if prefix else str(key)
            flat.update(_flatten(value, path))
        return flat
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        text = "; ".join(m.rstrip(".") for m in messages)
        text = "unknown key" if text == "Unknown field" else text
        return {prefix: text[:1].lower() + text[1:]}
    return {prefix: str(messages)}


def _lower_keys(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k).lower(): _lower_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_lower_keys(v) for v in value]
    return value


def _override(into: dict[str, Any], layer: Mapping[str, Any]) -> None:
    """Lay ``layer`` over ``into``: tables merge key by key, any other value replaces."""
    for key, value in layer.items():
        if isinstance(value, Mapping) and isinstance(into.get(key), dict):
            _override(into[key], value)
        else:
            into[key] = dict(value) if isinstance(value, Mapping) else value
