"""What differs between two settings, and which of it a running daemon cannot apply.

The keys that need a restart are those declared with ``restart=True`` (or
inside a section declared so): what was opened, bound or chosen once at start.
A reload keeps their running values (:func:`keep_running`) and must then
check the combination as a whole (:func:`autosolve.settings.revalidate`): a
new file may be valid alone and not together with what keeps running.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterable
from typing import Any

from autosolve.settings.declare import keys_of
from autosolve.settings.sections import Settings

__all__ = ["changed_keys", "flatten", "keep_running", "needs_restart", "restart_keys"]


@functools.cache
def restart_keys() -> tuple[str, ...]:
    """Every dotted key a running daemon keeps until it restarts, in declaration order."""
    return tuple(key.path for key in keys_of(Settings) if key.restart)


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Settings as ``{"dotted.key": value}`` (nested dataclasses opened, ``source`` left out)."""
    if not dataclasses.is_dataclass(value) or isinstance(value, type):
        return {prefix: value}
    flat: dict[str, Any] = {}
    for item in dataclasses.fields(value):
        if item.name == "source" and not prefix:
            continue
        key = f"{prefix}.{item.name}" if prefix else item.name
        flat.update(flatten(getattr(value, item.name), key))
    return flat


def changed_keys(old: Settings, new: Settings) -> list[str]:
    """The dotted keys whose values differ, sorted."""
    before, after = flatten(old), flatten(new)
    return sorted(key for key in before.keys() | after.keys() if before.get(key) != after.get(key))


def needs_restart(changed: Iterable[str]) -> list[str]:
    """Those of ``changed`` that a running daemon keeps (see :func:`restart_keys`)."""
    keep = set(restart_keys())
    return [key for key in changed if key in keep]


def keep_running(new: Settings, running: Settings) -> Settings:
    """``new`` with the running value of every key that needs a restart."""
    for key in restart_keys():
        path = key.split(".")
        new = _replace_at(new, path, _get_at(running, path))
    return new


def _get_at(value: Any, path: list[str]) -> Any:
    for part in path:
        value = getattr(value, part)
    return value


def _replace_at(value: Any, path: list[str], new: Any) -> Any:
    head, rest = path[0], path[1:]
    inner = new if not rest else _replace_at(getattr(value, head), rest, new)
    return dataclasses.replace(value, **{head: inner})
