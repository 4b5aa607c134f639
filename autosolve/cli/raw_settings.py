"""One key read straight from the settings files, whatever else they hold.

Two things must be known before (or without) settings that load: which
backend to monkey-patch for, before anything opens a socket; and where the
daemon's control socket is, so ``ctl`` reaches the daemon right after an
operator broke ``settings.toml`` — the moment it is needed most. So a key is
read from the files as they are: ``settings.toml``, then ``.secrets.toml``
beside it (the later wins), each parsed as TOML, or, when it is not valid
TOML any more, scanned line by line for the key in its table. Nothing is
validated here: the real loader reports every problem.

This module imports nothing that opens a socket (``main`` uses it before the
gevent patch).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

__all__ = ["raw_value"]

_TABLE = re.compile(r"^\s*\[\s*([A-Za-z0-9_.\- ]+?)\s*\]\s*(?:#.*)?$")
_KEY = re.compile(r"""^\s*([A-Za-z0-9_.\-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|'([^']*)')\s*(?:#.*)?$""")
"""``key = "text"`` or ``key = 'text'``: the one value shape the scan reads (a string)."""

_MISSING = object()


def raw_value(settings_file: Path, dotted: str) -> Any:
    """The value of ``dotted`` (``control.socket``) in the files, or None where no file has it."""
    found: Any = None
    for layer in (settings_file, settings_file.with_name(".secrets.toml")):
        value = _read(layer, dotted)
        if value is not _MISSING:
            found = value
    return found


def _read(file: Path, dotted: str) -> Any:
    try:
        text = file.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return _MISSING
    try:
        data: Any = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return _scan(text, dotted)
    for part in dotted.split("."):
        if not isinstance(data, dict) or part not in data:
            return _MISSING
        data = data[part]
    return data


def _scan(text: str, dotted: str) -> Any:
    """``dotted`` as a string value from TOML that does not parse as a whole."""
    table = ""
    found: Any = _MISSING
    for line in text.splitlines():
        header = _TABLE.match(line)
        if header:
            table = header.group(1).replace(" ", "")
            continue
        key = _KEY.match(line)
        if key and ".".join(filter(None, (table, key.group(1)))) == dotted:
            found = key.group(2) if key.group(2) is not None else key.group(3)
    return found
