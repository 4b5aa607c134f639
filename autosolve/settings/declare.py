"""How a setting is declared: a dataclass field whose metadata carries its rules.

Each section of ``settings.toml`` is one frozen dataclass; each key is one
field made with :func:`setting` (or :func:`section` for a nested table). The
field's metadata (:class:`Declared`) holds what the rest of the daemon
derives from: the rules values must follow, a one-line doc, whether a running
daemon needs a restart to change it, and whether it is a secret. From these
come the marshmallow schema (:mod:`autosolve.settings.schema`), the shipped
``settings.toml`` and the configuration reference
(:mod:`autosolve.settings.reference`), the reload's "needs a restart" list
(:mod:`autosolve.settings.changes`) and the values to mask
(:func:`autosolve.settings.secrets_of`).

A rule over several keys of a section is a :class:`Check` in the section's
``checks`` class attribute.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import typing
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

__all__ = [
    "Check",
    "CustomSection",
    "Declared",
    "Key",
    "Rule",
    "SecretsOf",
    "Table",
    "Values",
    "declared",
    "default_of",
    "docstring_of",
    "fields_of",
    "is_section",
    "keys_of",
    "section",
    "setting",
    "tables_of",
]

SecretsOf = Callable[[Any, "Path | None"], list[str]]
"""The secrets a value holds (a URL's password, a key file's text), given the settings file."""


@dataclass(frozen=True)
class Rule:
    """One rule a value must follow: a marshmallow validator and how the reference words it."""

    text: str
    """The rule for people: ``greater than 0``, ``one of: text, json``."""
    check: Callable[[Any], Any]
    """Raises :class:`marshmallow.ValidationError` with the message an operator reads."""


class Values(Protocol):
    """What a :class:`Check` reads: values by dotted key, and paths resolved beside the file."""

    def __getitem__(self, key: str) -> Any:
        """The given value of ``key`` (cleaned), else its fallback or default."""

    def path(self, key: str) -> Path:
        """The value of ``key`` as a path: a relative one is taken beside the settings file."""


@dataclass(frozen=True)
class Check:
    """A rule over several keys of one section (or of several, declared on :class:`Settings`).

    The values it reads are the given ones, or else the declared defaults; it
    is not run while one of them is invalid on its own (that error is
    reported instead), so an unrelated mistake never hides it.
    """

    key: str
    """The dotted key (relative to the section) a failure is reported at."""
    reads: tuple[str, ...]
    """Dotted keys (relative to the section) whose values ``test`` receives, in order."""
    test: Callable[[Values], str | None]
    """Returns the message when the values break the rule, None when they follow it."""
    text: str
    """The rule for people, shown in the reference."""
    warning: bool = False
    """True: the values are allowed but probably not meant; ``check`` and ``start`` warn."""


@dataclass(frozen=True)
class Declared:
    """What a field's metadata says about its setting."""

    doc: str
    """One line (``\\n`` starts another comment line in ``settings.toml``)."""
    rules: tuple[Rule, ...] = ()
    each: tuple[Rule, ...] = ()
    """Rules of every item of a list."""
    restart: bool = False
    """A running daemon keeps its value until it restarts (opened, bound or chosen at start)."""
    secret: bool | SecretsOf = False
    """True: the value is a secret; or a function finding the secrets inside it."""
    clean: Callable[[Any], Any] | None = None
    """Applied to a valid value before use (strip whitespace, drop duplicates)."""
    fallback: Callable[[Mapping[str, Any]], Any] | None = None
    """When the key is left out: its value from the section's other values (else the default)."""
    example: Any = None
    """Shown in the shipped ``settings.toml`` instead of the default (the reference shows both)."""
    custom: CustomSection | None = None
    """A table not declared field by field (the restart policies): its own schema and keys."""


@dataclass(frozen=True)
class CustomSection:
    """A section whose type lives below the settings layer, so its fields carry no metadata."""

    schema: Any
    """The marshmallow schema class that loads it."""
    tables: Callable[[str, bool], Iterator[Table]]
    """Its tables, given its dotted path and whether it needs a restart."""


@dataclass(frozen=True)
class Key:
    """One declared key, with where it sits and what it holds."""

    path: str
    """Dotted: ``github.budget.points_per_minute``."""
    kind: Any
    """Its Python type: ``int``, ``str``, ``tuple[str, ...]``…"""
    default: Any
    declaration: Declared
    restart: bool
    """Its own flag, or one of the sections around it needs a restart."""

    @property
    def name(self) -> str:
        """The last part of the path: the key as the file writes it in its table."""
        return self.path.rpartition(".")[2]


@dataclass(frozen=True)
class Table:
    """One ``[table]`` of ``settings.toml``: its own keys (nested tables are tables too).

    The whole (path ``""``) is a table of no keys, holding the checks across sections.
    """

    path: str
    """Dotted: ``github.budget``."""
    doc: str
    """What the table is for: the section's docstring."""
    keys: tuple[Key, ...]
    checks: tuple[Check, ...] = ()


_METADATA = "autosolve.setting"


def setting(
    default: Any,
    *rules: Rule,
    doc: str,
    each: tuple[Rule, ...] = (),
    restart: bool = False,
    secret: bool | SecretsOf = False,
    clean: Callable[[Any], Any] | None = None,
    fallback: Callable[[Mapping[str, Any]], Any] | None = None,
    example: Any = None,
) -> Any:
    """A key of a section: its default, its rules and its doc line (see :class:`Declared`)."""
    declaration = Declared(doc, rules, each, restart, secret, clean, fallback, example)
    return dataclasses.field(default=default, repr=not secret, metadata={_METADATA: declaration})


def section(kind: type, *, restart: bool = False, custom: CustomSection | None = None) -> Any:
    """A nested table: its keys are ``kind``'s fields; ``restart`` covers all of them."""
    declaration = Declared(docstring_of(kind), restart=restart, custom=custom)
    return dataclasses.field(default_factory=kind, metadata={_METADATA: declaration})


def declared(item: dataclasses.Field[Any]) -> Declared | None:
    """The declaration of a dataclass field, None for a field that is not a setting."""
    return item.metadata.get(_METADATA)


def fields_of(kind: type) -> Iterator[tuple[dataclasses.Field[Any], Any, Declared]]:
    """``(field, type, declaration)`` of every declared field of ``kind``, in order."""
    hints = _hints(kind)
    for item in dataclasses.fields(kind):
        declaration = declared(item)
        if declaration is not None:
            yield item, hints[item.name], declaration


def is_section(kind: Any) -> bool:
    """True for the type of a nested table (a dataclass)."""
    return isinstance(kind, type) and dataclasses.is_dataclass(kind)


def tables_of(kind: type, path: str = "", restart: bool = False) -> Iterator[Table]:
    """The tables under the section ``kind`` (itself first), in declaration order."""
    own = [
        Key(_join(path, item.name), hint, default_of(item), declaration,
            restart or declaration.restart)
        for item, hint, declaration in fields_of(kind)
        if not is_section(hint)
    ]  # fmt: skip
    checks = tuple(getattr(kind, "checks", ()))
    if own or checks:
        yield Table(path, docstring_of(kind), tuple(own), checks)
    for item, hint, declaration in fields_of(kind):
        if not is_section(hint):
            continue
        inner, needs_restart = _join(path, item.name), restart or declaration.restart
        if declaration.custom is not None:
            yield from declaration.custom.tables(inner, needs_restart)
        else:
            yield from tables_of(hint, inner, needs_restart)


def keys_of(kind: type) -> Iterator[Key]:
    """Every key under the section ``kind``, nested tables opened, in declaration order."""
    for table in tables_of(kind):
        yield from table.keys


def default_of(item: dataclasses.Field[Any]) -> Any:
    """The default value of a dataclass field."""
    if item.default_factory is not dataclasses.MISSING:
        return item.default_factory()
    return item.default


def docstring_of(kind: type) -> str:
    """A section's docstring, dedented (what the table is for)."""
    return inspect.cleandoc(kind.__doc__ or "")


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


@functools.cache
def _hints(kind: type) -> dict[str, Any]:
    return typing.get_type_hints(kind)
