"""The simulated GitHub's clock: when each change happened, and what time its answers say.

Two uses, one clock. The test-suite wants exact ordering: a counter that
moves one ``step`` per change from a fixed epoch, so every change has its own
timestamp. The demo wants the present: with ``wall`` given, a change is
stamped with the wall-clock time (at least the previous stamp plus ``step``),
so issues opened while the daemon runs are newer than the moment it started
watching, as on github.com.
"""

from __future__ import annotations

import email.utils
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

__all__ = ["EPOCH", "SimulationClock", "format_iso", "parse_iso"]

EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
"""Where a counter clock starts."""


def format_iso(moment: datetime, fraction_digits: int = 0) -> str:
    """``moment`` as GitHub writes times: ``2024-01-01T00:00:05Z`` (fractions when asked)."""
    text = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    if fraction_digits:
        text += f".{moment.microsecond:06d}"[: fraction_digits + 1]
    return text + "Z"


def parse_iso(value: str) -> datetime:
    """An ISO 8601 time (UTC when it names no offset).

    Raises:
        ValueError: not an ISO 8601 time.
    """
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class SimulationClock:
    """Stamps changes, one after the other; not thread-safe (the simulation's lock guards it).

    Args:
        start: the time before the first change.
        step: how far each change moves the clock at least.
        fraction_digits: digits of a second in the stamps (GitHub writes none;
            its schema allows them).
        wall: the present, when the clock follows it (see the module).
    """

    def __init__(
        self,
        start: datetime = EPOCH,
        *,
        step: timedelta = timedelta(seconds=1),
        fraction_digits: int = 0,
        wall: Callable[[], datetime] | None = None,
    ) -> None:
        self._now = start
        self._step = step
        self._fraction_digits = fraction_digits
        self._wall = wall

    @classmethod
    def following_wall(cls) -> SimulationClock:
        """A clock of the present, whole seconds like github.com's (the demo's)."""
        return cls(datetime.now(UTC), step=timedelta(0), wall=lambda: datetime.now(UTC))

    def now(self) -> datetime:
        """The present in the simulation: the last stamp, or the wall clock if later."""
        return max(self._now, self._wall()) if self._wall else self._now

    def tick(self) -> str:
        """A stamp for a change happening now."""
        self._now += self._step
        if self._wall is not None:
            self._now = max(self._now, self._wall())
        return format_iso(self._now, self._fraction_digits)

    def observe(self, stamp: str) -> None:
        """Keep the clock at or after ``stamp`` (a time given explicitly to a change)."""
        self._now = max(self._now, parse_iso(stamp))

    def http_date(self) -> str:
        """:meth:`now` as an HTTP ``Date`` header writes it."""
        return email.utils.format_datetime(self.now().astimezone(UTC), usegmt=True)

    def ago(self, **delta: float) -> str:
        """A stamp ``delta`` (``days=3``, ``hours=2``...) before :meth:`now`, for a history."""
        return format_iso(self.now() - timedelta(**delta), self._fraction_digits)
