"""Settings problems worded so that an operator can fix them without reading the code.

Validation reports each problem at its dotted key (``github.tokne: unknown
key``). Two things make that actionable:

- an unknown key is matched against the keys its table does know, and the
  closest is suggested (``did you mean github.token?``);
- a value that came from the environment is named by its variable, and the
  suggestion is a variable too (``AUTOSOLVE_GITHUB__TOKNE (github.tokne):
  unknown key; did you mean AUTOSOLVE_GITHUB__TOKEN?``); a list given there
  as plain text is shown written as the JSON the variable needs
  (``AUTOSOLVE_GITHUB__REPOSITORIES='["octo/hello"]'``).
"""

from __future__ import annotations

import difflib
import functools
import json
import re
import typing
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from autosolve.settings.declare import Key, keys_of, tables_of
from autosolve.settings.environment import environment_variable
from autosolve.settings.sections import Settings

__all__ = ["reworded", "source_variable"]

UNKNOWN = "unknown key"
NOT_A_LIST = "not a valid list"

_INDEX = re.compile(r"\[\d+\]")


def reworded(
    problems: Mapping[str, str], variables: Mapping[str, str], given: Mapping[str, Any]
) -> dict[str, str]:
    """``problems`` with a suggestion for unknown keys and the environment's words.

    Args:
        problems: dotted key → message, as validation reported them.
        variables: the dotted keys set by the environment → their variable.
        given: the values validated (nested), for a list given as plain text.
    """
    return {key: _reworded(key, message, variables, given) for key, message in problems.items()}


def _reworded(key: str, message: str, variables: Mapping[str, str], given: Any) -> str:
    variable = source_variable(key, variables)
    if message == UNKNOWN:
        return _with_suggestion(key, variable is not None)
    if message == NOT_A_LIST and variable is not None:
        return f"{message}: write it as JSON, e.g. {_json_example(key, variable, given)}"
    return message


def source_variable(key: str, variables: Mapping[str, str]) -> str | None:
    """The variable that set ``key`` (or the table holding it), if the environment did."""
    path = _INDEX.sub("", key)
    while path:
        if path in variables:
            return variables[path]
        path = path.rpartition(".")[0]
    return None


def _with_suggestion(key: str, from_environment: bool) -> str:
    table, _, name = key.rpartition(".")
    close = difflib.get_close_matches(name, _known_names().get(table, ()), n=1, cutoff=0.6)
    if not close:
        return UNKNOWN
    meant = f"{table}.{close[0]}" if table else close[0]
    return f"{UNKNOWN}; did you mean {environment_variable(meant) if from_environment else meant}?"


def _json_example(key: str, variable: str, given: Any) -> str:
    declared = _declared().get(_INDEX.sub("", key))
    value = _at(given, key)
    items: list[str] = ["…"]
    if isinstance(value, str) and declared is not None and not declared.declaration.secret:
        items = [item.strip() for item in value.split(",") if item.strip()] or items
    return f"{variable}='{json.dumps(items, ensure_ascii=False)}'"


def _at(value: Any, key: str) -> Any:
    for part in key.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


@functools.cache
def _known_names() -> dict[str, frozenset[str]]:
    """Each table's dotted path → the names it knows (its keys and the tables in it)."""
    names: defaultdict[str, set[str]] = defaultdict(set)
    for table in tables_of(Settings):
        names[table.path].update(key.name for key in table.keys)
        parts = table.path.split(".") if table.path else []
        for depth in range(len(parts)):
            names[".".join(parts[:depth])].add(parts[depth])
    return {path: frozenset(found) for path, found in names.items()}


@functools.cache
def _declared() -> dict[str, Key]:
    return {key.path: key for key in keys_of(Settings) if typing.get_origin(key.kind) is tuple}
