"""GitHub's timestamps: compared as instants, never as text.

GitHub writes ``2026-01-01T00:00:00Z`` today, but its schema allows
fractional seconds (``2026-01-01T00:00:00.5Z``), and as text those sort
wrongly (``"00.5Z" < "00Z"``). Everything that compares or advances a
timestamp goes through here.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

CLOCK_TOLERANCE = 60.0
"""Seconds two clocks may disagree and still count as in step.

Beyond it the local clock is said to be off (compared with GitHub's, logged
once), and a stored time that far ahead of the present is taken for the
trace of a clock that stepped back (see :mod:`autosolve.infra.store.queue`).
"""

__all__ = [
    "CLOCK_TOLERANCE",
    "format_epoch",
    "format_timestamp",
    "is_earlier",
    "parse_timestamp",
    "same_instant",
    "step_past",
]


def parse_timestamp(text: str) -> datetime:
    """An aware UTC datetime for ISO 8601 ``text``; a zone-less time is taken as UTC.

    Raises:
        ValueError: ``text`` is not ISO 8601.
    """
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def format_timestamp(moment: datetime, fraction_digits: int = 0) -> str:
    """``moment`` the way GitHub writes it: UTC, ``Z``, with ``fraction_digits`` (0 to 6)."""
    moment = moment.astimezone(UTC) if moment.tzinfo else moment
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if fraction_digits > 0:
        text += f".{moment.microsecond:06d}"[: min(fraction_digits, 6) + 1]
    return text + "Z"


def format_epoch(epoch: float) -> str:
    """Epoch seconds as GitHub writes a time, to the whole second: ``2026-01-01T00:00:00Z``."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def same_instant(first: str, second: str) -> bool:
    """True when both texts name the same moment (``…:00Z`` = ``…:00.000+00:00``).

    Texts that do not parse are compared as they are.
    """
    try:
        return parse_timestamp(first) == parse_timestamp(second)
    except (TypeError, ValueError):
        return first == second


def is_earlier(incoming: str, stored: str) -> bool:
    """True when ``incoming`` is a strictly earlier instant than ``stored``.

    Unparseable timestamps are never considered earlier: storing them is
    better than silently dropping an update.
    """
    try:
        return parse_timestamp(incoming) < parse_timestamp(stored)
    except (TypeError, ValueError):
        return False


def step_past(text: str) -> str:
    """The next moment after ``text`` at the precision it was written with.

    Whole seconds step one second (nothing GitHub writes can fall in between);
    ``.123`` steps one millisecond, and so on down to microseconds.
    """
    digits = _fraction_digits(text)
    moment = parse_timestamp(text)
    step = timedelta(seconds=1) if digits == 0 else timedelta(microseconds=10 ** (6 - digits))
    return format_timestamp(moment + step, digits)


def _fraction_digits(text: str) -> int:
    time_part = text.partition("T")[2] or text.partition(" ")[2]
    if "." not in time_part:
        return 0
    fraction = time_part.split(".", 1)[1]
    count = 0
    for char in fraction:
        if not char.isdigit():
            break
        count += 1
    return min(count, 6)
