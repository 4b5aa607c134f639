"""The rules settings follow, each with the message an operator reads and its wording in the docs.

A rule's message names the rule (and the value where it helps), never a
value that may be a secret: the loader prefixes the dotted key.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from marshmallow import ValidationError, validate

from autosolve.settings.address import parse_listen
from autosolve.settings.declare import Rule
from autosolve.settings.limits import WEEK

__all__ = [
    "AT_MOST_A_WEEK",
    "NON_NEGATIVE",
    "NOT_EMPTY",
    "POSITIVE",
    "as_tuple",
    "at_least",
    "at_least_one",
    "between",
    "command_word",
    "database_url",
    "http_url",
    "listen",
    "node_name",
    "once_each",
    "one_of",
    "organization",
    "repository",
    "repository_glob",
    "seconds",
    "since",
    "strip",
    "unique",
]

POSITIVE = Rule(
    "greater than 0",
    validate.Range(min=0, min_inclusive=False, error="must be greater than 0"),
)
NON_NEGATIVE = Rule("0 or greater", validate.Range(min=0, error="must be 0 or greater"))
AT_MOST_A_WEEK = Rule(
    f"at most {WEEK:g} (a week)",
    validate.Range(max=WEEK, error=f"must be at most {WEEK:g} (a week)"),
)
NOT_EMPTY = Rule("not empty", validate.Length(min=1, error="must not be empty"))


def seconds(minimum: Rule = POSITIVE) -> tuple[Rule, Rule]:
    """An interval, timeout or delay: at least ``minimum``, at most a week."""
    return minimum, AT_MOST_A_WEEK


def between(low: float, high: float) -> Rule:
    """From ``low`` to ``high``, both included."""
    return Rule(
        f"{low:g} to {high:g}",
        validate.Range(min=low, max=high, error="must be between {min} and {max}"),
    )


def at_least(low: float, why: str = "") -> Rule:
    """``low`` or more; ``why`` (if any) says why the bound is there."""
    if why:
        return Rule(
            f"at least {low:g} ({why})",
            validate.Range(min=low, error=f"must be at least {{min}} ({why})"),
        )
    return Rule(f"{low:g} or greater", validate.Range(min=low, error=f"must be {low:g} or greater"))


def one_of(*choices: str) -> Rule:
    """Exactly one of ``choices``."""
    return Rule(
        f"one of: {', '.join(choices)}",
        validate.OneOf(choices, error="must be one of: {choices}"),
    )


def at_least_one(of: str) -> Rule:
    """A list that may not be empty; ``of`` names what it lists."""
    return Rule(
        "at least one",
        validate.Length(min=1, error=f"must name at least one {of}"),
    )


def _http_url(value: str) -> None:
    if not re.match(r"^https?://[^\s/]+", value or ""):
        raise ValidationError("must be an http:// or https:// URL")


http_url = Rule("an http:// or https:// URL", _http_url)


def _listen(value: str) -> None:
    if value:
        try:
            parse_listen(value)
        except ValueError as error:
            raise ValidationError(f'{error}; "" turns the endpoint off') from None


listen = Rule('host:port ([v6]:port for IPv6), or "" for off', _listen)

_OWNER = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$")
_REPOSITORY_NAME = re.compile(r"^[A-Za-z0-9._-]{1,100}$")
_OWNER_RULE = "may only hold letters, digits and single hyphens (not first or last), " \
    "at most 39 characters"  # fmt: skip


def _repository(value: str) -> None:
    """GitHub's rules for ``owner/name``, so a typo fails here, not as a 404 at start."""
    owner, slash, name = value.partition("/")
    if not slash or not owner or not name:
        raise ValidationError(f"{value!r} is not of the form owner/name")
    if not _OWNER.match(owner):
        raise ValidationError(f"{value!r}: the owner {_OWNER_RULE}")
    if not _REPOSITORY_NAME.match(name):
        raise ValidationError(
            f"{value!r}: the name may only hold letters, digits, '.', '-' and '_', "
            "at most 100 characters"
        )
    if name in (".", ".."):
        raise ValidationError(f"{value!r}: {name!r} is not a repository name")
    if name.lower().endswith(".git"):
        raise ValidationError(f"{value!r}: write the name without '.git'")


repository = Rule("owner/name, as GitHub allows them", _repository)


def _organization(value: str) -> None:
    if not _OWNER.match(value):
        raise ValidationError(f"{value!r}: an organisation's name {_OWNER_RULE}")


organization = Rule("an organisation's name, as GitHub allows them", _organization)


def _repository_glob(value: str) -> None:
    owner, slash, name = value.partition("/")
    if not slash or not owner or not name or "/" in name:
        raise ValidationError(f"{value!r} is not of the form owner/name (globs: * ? [])")


repository_glob = Rule("owner/name, either part a glob (* ? [])", _repository_glob)


def _unique(values: Sequence[Any]) -> None:
    """GitHub's names are case-insensitive: ``Octo/Hello`` is ``octo/hello``."""
    folded = [str(v).lower() for v in values]
    duplicates = sorted({v for v, f in zip(values, folded, strict=True) if folded.count(f) > 1})
    if duplicates:
        raise ValidationError(f"listed more than once: {', '.join(duplicates)}")


unique = Rule("each once (case-insensitive)", _unique)

SINCE_WORDS = ("first-start", "all")


def _since(value: str) -> None:
    if value in SINCE_WORDS:
        return
    try:
        datetime.fromisoformat(value)
    except ValueError:
        raise ValidationError(
            f'must be "first-start", "all" or an ISO 8601 UTC time like '
            f'"2026-01-01T00:00:00Z"; got {value!r}'
        ) from None


since = Rule('"first-start", "all" or an ISO 8601 time (UTC unless it names an offset)', _since)


def _database_url(value: str) -> None:
    """The message never quotes the URL: it may hold a password."""
    if value and urllib.parse.urlsplit(value).scheme not in ("postgresql", "postgres"):
        raise ValidationError('must be "" (SQLite at database.path) or a postgresql:// URL')


database_url = Rule('"" or a postgresql:// URL', _database_url)


def _node_name(value: str) -> None:
    if not re.fullmatch(r"[A-Za-z0-9._:@-]{0,100}", value):
        raise ValidationError(
            "may only hold letters, digits and . _ : @ -, at most 100 characters "
            '("" = hostname-pid)'
        )


node_name = Rule("letters, digits and . _ : @ -, at most 100 characters", _node_name)


def _command_word(value: str) -> None:
    if value and (len(value) > 100 or any(c.isspace() for c in value)):
        raise ValidationError('must be "" (off) or one word without spaces, like "/autosolve"')


command_word = Rule('"" or one word without spaces', _command_word)


# -- how valid values are cleaned ---------------------------------------------------------


def strip(value: str) -> str:
    """Whitespace around a secret dropped: `echo ghp_... > secret` leaves a newline no header
    can carry."""
    return value.strip()


def as_tuple(values: Any) -> tuple[Any, ...]:
    """A TOML list as the frozen settings hold it."""
    return tuple(values)


def once_each(values: Any) -> tuple[Any, ...]:
    """A list without repeats, in its order."""
    return tuple(dict.fromkeys(values))
