"""The marshmallow schema of a section, derived from its declaration.

Every declared field becomes a marshmallow field of its type (``bool``,
``int`` (strict), ``float`` (finite), ``str``, ``tuple[str, ...]`` as a
list) with its rules as validators; a nested section becomes a nested
schema; unknown keys are errors. After the fields, the section's
:class:`~autosolve.settings.declare.Check` rules run on the given values
(the declared defaults where a key is left out), skipping any that reads an
invalid value, so every problem is reported at once. Loading builds the
frozen dataclass, each value cleaned as declared.
"""

from __future__ import annotations

import functools
import typing
from collections.abc import Mapping
from contextvars import ContextVar
from enum import StrEnum
from pathlib import Path
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, post_load, validates_schema

from autosolve.settings.declare import Check, Declared, default_of, fields_of, is_section

__all__ = ["field_for", "load", "number_or_none", "resolve_beside", "schema_of"]

_SOURCE: ContextVar[Path | None] = ContextVar("settings_source", default=None)
"""The settings file being loaded: checks resolve relative paths beside it."""

_MISSING = object()


def load(kind: type, data: Mapping[str, Any], source: Path | None) -> Any:
    """``data`` validated and built into ``kind``.

    Raises:
        ValidationError: every problem, as marshmallow's nested messages.
    """
    token = _SOURCE.set(source)
    try:
        return schema_of(kind)().load(data)
    finally:
        _SOURCE.reset(token)


def field_for(kind: Any, declaration: Declared) -> fields.Field[Any]:
    """The marshmallow field of a value of type ``kind``, with the declared rules."""
    rules = [rule.check for rule in declaration.rules]
    if kind is bool:
        return fields.Boolean(validate=rules)
    if kind is int:
        return fields.Integer(strict=True, validate=rules)
    if kind is float:
        return fields.Float(allow_nan=False, validate=rules)
    if kind is str or (isinstance(kind, type) and issubclass(kind, StrEnum)):
        return fields.String(validate=rules)  # an enum's rules name its values
    if typing.get_origin(kind) is tuple:
        item = field_for(typing.get_args(kind)[0], Declared("", declaration.each))
        return fields.List(item, validate=rules)
    raise TypeError(f"a setting cannot be of type {kind!r}")


class _Section(Schema):
    """A section: unknown keys are errors; the result is the frozen dataclass ``target``."""

    class Meta:
        unknown = RAISE

    target: type = object

    @validates_schema(skip_on_field_errors=False, pass_original=True)
    def _checks(self, _data: Any, original: Any, **_: Any) -> None:
        if not isinstance(original, Mapping):
            return
        problems: dict[str, Any] = {}
        for check in getattr(self.target, "checks", ()):
            message = None if check.warning else _run(check, self.target, original)
            if message is not None:
                _put(problems, check.key.split("."), message)
        if problems:
            raise ValidationError(problems)

    @post_load
    def _build(self, data: dict[str, Any], **_: Any) -> Any:
        return self.target(**_cleaned(self.target, data))


@functools.cache
def schema_of(kind: type) -> type[Schema]:
    """The schema class of the section ``kind`` (made once per section)."""
    declared: dict[str, Any] = {"target": kind}
    for item, hint, declaration in fields_of(kind):
        if declaration.custom is not None:
            declared[item.name] = fields.Nested(declaration.custom.schema)
        elif is_section(hint):
            declared[item.name] = fields.Nested(schema_of(hint))
        else:
            declared[item.name] = field_for(hint, declaration)
    return type(f"{kind.__name__}Schema", (_Section,), declared)


def _cleaned(kind: type, data: dict[str, Any]) -> dict[str, Any]:
    """The loaded values cleaned as declared, and the fallbacks of keys left out."""
    values = dict(data)
    for item, _hint, declaration in fields_of(kind):
        if item.name in values and declaration.clean is not None:
            values[item.name] = declaration.clean(values[item.name])
        elif item.name not in values and declaration.fallback is not None:
            values[item.name] = declaration.fallback(data)
    return values


# -- checks over several keys --------------------------------------------------------------


class _RawValues:
    """A section's given values for a check: valid ones cleaned, else fallback or default."""

    def __init__(self, kind: type, given: Mapping[str, Any]) -> None:
        self._kind = kind
        self._given = given

    def __getitem__(self, key: str) -> Any:
        value = _valid_value(self._kind, self._given, key.split("."))
        if value is _MISSING:
            raise _Invalid(key)
        return value

    def path(self, key: str) -> Path:
        return resolve_beside(_SOURCE.get(), str(self[key]))


class _Invalid(Exception):
    """A value a check reads is invalid on its own (and reported as such)."""


def _run(check: Check, kind: type, given: Mapping[str, Any]) -> str | None:
    values = _RawValues(kind, given)
    try:
        for key in check.reads:
            values[key]
        return check.test(values)
    except _Invalid:
        return None


def _valid_value(kind: type, given: Any, path: list[str]) -> Any:
    """The value at ``path`` under the section ``kind``; ``_MISSING`` when it is invalid."""
    head, rest = path[0], path[1:]
    item, hint, declaration = _field(kind, head)
    raw = given.get(head, _MISSING) if isinstance(given, Mapping) else _MISSING
    if rest:
        return _valid_value(hint, raw if raw is not _MISSING else {}, rest)
    if raw is _MISSING:
        if declaration.fallback is not None and isinstance(given, Mapping):
            return declaration.fallback(_valid_given(kind, given))
        return default_of(item)
    try:
        value = field_for(hint, declaration).deserialize(raw)
    except ValidationError:
        return _MISSING
    return declaration.clean(value) if declaration.clean else value


def _valid_given(kind: type, given: Mapping[str, Any]) -> dict[str, Any]:
    """The section's given scalar values that are valid (for a fallback)."""
    valid = {}
    for item, hint, _declaration in fields_of(kind):
        if item.name in given and not is_section(hint):
            value = _valid_value(kind, given, [item.name])
            if value is not _MISSING:
                valid[item.name] = value
    return valid


def _field(kind: type, name: str) -> tuple[Any, Any, Declared]:
    for item, hint, declaration in fields_of(kind):
        if item.name == name:
            return item, hint, declaration
    raise KeyError(f"a check reads {name!r}, which {kind.__name__} does not declare")


def _put(problems: dict[str, Any], path: list[str], message: str) -> None:
    for part in path[:-1]:
        problems = problems.setdefault(part, {})
    problems.setdefault(path[-1], []).append(message)


def number_or_none(value: Any, default: float) -> float | None:
    """``value`` if it is a number (``default`` if absent); None if it is invalid anyway."""
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def resolve_beside(source: Path | None, value: str) -> Path:
    """A path from the settings: relative ones are taken beside the settings file."""
    candidate = Path(value).expanduser()
    if candidate.is_absolute():
        return candidate
    base = source.parent if source else Path.cwd()
    return base / candidate
