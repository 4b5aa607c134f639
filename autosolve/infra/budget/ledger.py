"""What the request budget has spent, and when: sliding windows behind a small interface.

GitHub counts its secondary limits over *any* window of a minute (points,
content-creating requests) and of an hour (content-creating requests). The
ledger records every reservation with its time and answers one question,
all or nothing: may this request go now, and if not, how long until it
could? Once the answer came, the record moves to the answer's time (GitHub
counted the request at its arrival, somewhere in between). Several daemons
sharing one token share one ledger (on PostgreSQL), so the interface is two
calls an implementation can make atomic: :meth:`Ledger.reserve` and
:meth:`Ledger.settle`.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

__all__ = ["BudgetLimits", "Ledger", "MemoryLedger", "Reservation"]

LONG_WINDOWS = 60
"""The long write window is this many windows: an hour when the window is a minute."""


@dataclass(frozen=True)
class BudgetLimits:
    """The numbers a ledger enforces.

    The names and values are ``[github.budget]``'s (its defaults are the
    settings'): the "minute" is :attr:`window` seconds, the "hour" 60 of them.
    An entry made at ``at`` counts against the points and the per-minute
    writes while the time is before ``at + span``, and against the per-hour
    writes while it is before ``at + long_span``.
    """

    points_per_minute: int
    """Points per window (a read costs 1, a write 5)."""
    writes_per_minute: int
    """Content-creating requests per window."""
    writes_per_hour: int
    """Content-creating requests per long window (60 windows: an hour)."""
    window: float
    """Seconds; GitHub's is a minute. Tests shorten it to compress time."""
    margin: float = 1.0
    """Seconds an entry counts beyond its window, to spare: clocks that tick
    apart, and the moment between GitHub's answer and ours (a settled entry
    otherwise errs on the safe side already)."""

    def __post_init__(self) -> None:
        for name in ("points_per_minute", "writes_per_minute", "writes_per_hour"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"`{name}` must be an integer of at least 1, got {value!r}")
        if not self.window > 0:
            raise ValueError(f"`window` must be greater than 0, got {self.window!r}")
        if not self.margin >= 0:
            raise ValueError(f"`margin` must be 0 or greater, got {self.margin!r}")

    @property
    def span(self) -> float:
        """Seconds an entry counts against the points and the per-window writes."""
        return self.window + self.margin

    @property
    def long_span(self) -> float:
        """Seconds a write counts against :attr:`writes_per_hour`."""
        return LONG_WINDOWS * self.window + self.margin


class Reservation(NamedTuple):
    """A ledger's answer: granted, or how long until the points and the write would fit."""

    points_wait: float
    """Seconds until the points would fit (0.0: they fit now)."""
    writes_wait: float
    """Seconds until the write would fit in both write windows (0.0: it fits, or no write)."""
    entry: Any = None
    """Granted: the ledger's record of the request, for :meth:`Ledger.settle`."""

    @property
    def granted(self) -> bool:
        """True when the reservation was recorded."""
        return self.points_wait <= 0 and self.writes_wait <= 0

    @property
    def wait(self) -> float:
        """Seconds until the whole reservation would fit."""
        return max(self.points_wait, self.writes_wait, 0.0)


class Ledger(Protocol):
    """The bookkeeping one budget (or one cluster of daemons) shares."""

    limits: BudgetLimits

    def reserve(self, points: int, write: bool, at: float) -> Reservation:
        """Record ``points`` (and one write when ``write``) at time ``at``, all or nothing.

        Granted when, counting this request, the points of the entries made
        within ``(at - span, at]`` stay at most ``limits.points_per_minute``, and for a
        write the writes within ``(at - span, at]`` at most ``limits.writes_per_minute``
        and within ``(at - long_span, at]`` at most ``limits.writes_per_hour``.
        Otherwise nothing is recorded and the answer says, per part, how many
        seconds after ``at`` it would fit if nobody else reserved meanwhile.

        Args:
            points: 1 to ``limits.points_per_minute``.
            write: whether the request creates content.
            at: epoch seconds; shared ledgers compare times of several hosts.

        Raises:
            ValueError: ``points`` can never fit.
        """
        ...

    def settle(self, entry: Any, at: float) -> None:
        """The request recorded as ``entry`` got its answer at ``at``: count it from then on.

        GitHub's windows count a request from its arrival, some time between
        its reservation and its answer. Moving the record to the answer's
        time (it then counts until ``at + span``, and ``at + long_span`` for
        a write) means no request ever leaves this ledger's windows before it
        leaves GitHub's, however long it took to get there; a record already
        expired is simply made again at ``at``.
        """
        ...


class _Window:
    """Entries ``[time, amount]`` of one sliding window, oldest first, with their total.

    An entry is a list so that :meth:`withdraw` can empty it in place (a
    settled request is counted again at its answer's time); an emptied entry
    expires like any other.
    """

    __slots__ = ("_entries", "span", "total")

    def __init__(self, span: float) -> None:
        self.span = span
        self._entries: deque[list[float]] = deque()
        self.total: float = 0

    def expire(self, at: float) -> None:
        entries = self._entries
        while entries and entries[0][0] + self.span <= at:
            entry = entries.popleft()
            self.total -= entry[1]
            entry[1] = 0

    def withdraw(self, entry: list[float]) -> None:
        self.total -= entry[1]
        entry[1] = 0

    def wait(self, amount: int, limit: int, at: float) -> float:
        """Seconds after ``at`` until ``amount`` more fits under ``limit`` (expired first)."""
        excess = self.total + amount - limit
        if excess <= 0:
            return 0.0
        for stamp, spent in self._entries:
            excess -= spent
            if excess <= 0:
                return stamp + self.span - at
        raise AssertionError("unreachable: amount <= limit was checked")

    def add(self, amount: int, at: float) -> list[float]:
        # A wall clock that stepped back must not make an entry expire early:
        # stamping it no earlier than the newest entry keeps the order and errs long.
        stamp = max(at, self._entries[-1][0]) if self._entries else at
        entry: list[float] = [stamp, amount]
        self._entries.append(entry)
        self.total += amount
        return entry


@dataclass(frozen=True)
class _Record:
    """What :meth:`MemoryLedger.reserve` recorded for one request, in each window."""

    points: int
    parts: tuple[tuple[_Window, list[float]], ...]


class MemoryLedger:
    """A :class:`Ledger` for one process. Thread-safe; O(1) amortised per request."""

    def __init__(self, limits: BudgetLimits) -> None:
        self.limits = limits
        self._lock = threading.Lock()
        self._points = _Window(limits.span)
        self._writes = _Window(limits.span)
        self._writes_per_hour = _Window(limits.long_span)

    def reserve(self, points: int, write: bool, at: float) -> Reservation:
        limits = self.limits
        if not 1 <= points <= limits.points_per_minute:
            raise ValueError(
                f"a request of {points} points can never fit a budget of "
                f"{limits.points_per_minute} points"
            )
        with self._lock:
            for window in (self._points, self._writes, self._writes_per_hour):
                window.expire(at)
            points_wait = self._points.wait(points, limits.points_per_minute, at)
            writes_wait = 0.0
            if write:
                writes_wait = max(
                    self._writes.wait(1, limits.writes_per_minute, at),
                    self._writes_per_hour.wait(1, limits.writes_per_hour, at),
                )
            if points_wait > 0 or writes_wait > 0:
                return Reservation(points_wait, writes_wait)
            return Reservation(0.0, 0.0, self._record(points, write, at))

    def settle(self, entry: Any, at: float) -> None:
        record: _Record = entry
        with self._lock:
            for window, part in record.parts:
                window.withdraw(part)
            self._record(record.points, bool(record.parts[1:]), at)

    def _record(self, points: int, write: bool, at: float) -> _Record:
        parts = [(self._points, self._points.add(points, at))]
        if write:
            parts += [(w, w.add(1, at)) for w in (self._writes, self._writes_per_hour)]
        return _Record(points, tuple(parts))

    def __repr__(self) -> str:
        return f"MemoryLedger({self.limits!r})"
