"""The status view: the children per state, kept as they change, and pages of them.

A status document of every child costs O(children) to build; a dashboard
showing a hundred of a million children, or the number failing, must not.
The view is told of every change of a listed record's state (see
:attr:`ChildRecord.state`), so it knows at any moment how many children are
in each state, and which ones are in each state but ``idle``: the state
nearly every child of a large run is in, whose members a page finds by
walking the children in order instead (a few steps per child shown).
"""

from __future__ import annotations

import contextlib
import fnmatch
import itertools
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from autosolve.runtime.status import ChildRecord, ChildState

if TYPE_CHECKING:
    from autosolve.runtime.locks import Lock

__all__ = ["Page", "PageRequest", "StatusView", "find_page"]

_WALKED = ChildState.IDLE
"""The one state whose members the view does not keep (see the module's docstring)."""

_GLOB_CHARS = frozenset("*?[")


class StatusView:
    """Counts of the listed children per state, and the members of every state but ``idle``.

    Members of a state are kept in the order they entered it, so a page of
    them lists the longest there first (for ``running``: the tick running
    longest). A record is counted from :meth:`add` until
    :meth:`discard`; its state changes reach the view through :meth:`moved`.

    Args:
        lock: held while a state changes (children on OS threads change their
            own records' states while the supervisor changes others); None
            where actors cannot interleave (greenlets).
    """

    __slots__ = ("_counts", "_members", "lock")

    def __init__(self, lock: Lock | None) -> None:
        self.lock = lock
        self._counts: dict[ChildState, int] = dict.fromkeys(ChildState, 0)
        self._members: dict[ChildState, dict[ChildRecord, None]] = {
            state: {} for state in ChildState if state is not _WALKED
        }

    def add(self, record: ChildRecord) -> None:
        """Count ``record`` from now on (a child of the status)."""
        with self._locked():
            record.listener = self
            self._counts[record.state] += 1
            members = self._members.get(record.state)
            if members is not None:
                members[record] = None

    def discard(self, record: ChildRecord) -> None:
        """Count ``record`` no more (a child removed)."""
        with self._locked():
            if record.listener is self:
                record.listener = None
                self._counts[record.state] -= 1
                members = self._members.get(record.state)
                if members is not None:
                    del members[record]

    def moved(self, record: ChildRecord, old: ChildState, new: ChildState) -> None:
        # On every tick (idle → running → idle): one call, no other.
        counts, members = self._counts, self._members
        counts[old] -= 1
        counts[new] += 1
        left = members.get(old)
        if left is not None:
            del left[record]
        entered = members.get(new)
        if entered is not None:
            entered[record] = None

    def counts(self) -> dict[str, int]:
        """How many listed children are in each state (every state, zeros too)."""
        with self._locked():
            return {state.value: count for state, count in self._counts.items()}

    def count(self, state: ChildState | None = None) -> int:
        """How many listed children are in ``state`` (None: in all)."""
        return self._counts[state] if state is not None else sum(self._counts.values())

    def members(self, state: ChildState) -> list[ChildRecord]:
        """The listed children in ``state``, longest there first (not for ``idle``)."""
        with self._locked():
            return list(self._members[state])

    def _locked(self) -> AbstractContextManager[object]:
        """The lock, for what is not on the tick path (there is none on greenlets)."""
        return contextlib.nullcontext() if self.lock is None else self.lock


@dataclass(frozen=True)
class PageRequest:
    """Which children a status page shows: a filter, then a window.

    Children are listed in the status's order (the order they were
    added); filtered by ``state`` in the order the view keeps them (longest
    in the state first), but for ``idle`` (the status's order).
    """

    state: ChildState | None = None
    """Only children in this state."""
    pattern: str | None = None
    """Only children whose names match this shell-style pattern (or this name)."""
    offset: int = 0
    """Children of the filtered list to skip."""
    limit: int | None = None
    """Children to show at most (None: all the rest)."""

    @classmethod
    def parse(cls, arguments: Mapping[str, object]) -> PageRequest:
        """A request from a control call's arguments, checked.

        Raises:
            ValueError: an argument is unknown or breaks its rule (the
                message names the argument, its value and the rule).
        """
        unknown = sorted(set(arguments) - {"state", "pattern", "offset", "limit"})
        if unknown:
            raise ValueError(f"unknown status argument(s): {', '.join(unknown)}")
        return cls(
            state=_state(arguments.get("state")),
            pattern=_pattern(arguments.get("pattern")),
            offset=_count("offset", arguments.get("offset", 0), optional=False) or 0,
            limit=_count("limit", arguments.get("limit"), optional=True),
        )

    def matcher(self) -> Callable[[str], object] | None:
        """What a name must satisfy (None: every name does)."""
        if self.pattern is None:
            return None
        return re.compile(fnmatch.translate(self.pattern)).match


@dataclass(frozen=True)
class Page:
    """The children of a page and what is known about the rest."""

    records: list[ChildRecord]
    total: int | None
    """Children matching the filter in all (None when only a pattern could tell,
    which would have meant matching every name)."""
    more: bool
    """Children matching the filter follow this page."""


def find_page(
    request: PageRequest,
    in_order: Iterable[ChildRecord],
    view: StatusView,
    named: Callable[[str], ChildRecord | None],
) -> Page:
    """The page ``request`` asks for, among the children listed ``in_order``.

    It costs the children it steps over, not all of them: a state other
    than ``idle`` is read from the view's members, a plain name is looked up
    (``named``), and a page stops at its last child (plus one, to tell
    whether more follow). Only a pattern is matched against every child it
    steps over; its total is then left unknown.
    """
    candidates, total = _candidates(request, in_order, view, named)
    records = list(_window(candidates, request.offset, request.limit))
    more = request.limit is not None and len(records) > request.limit
    return Page(records[: request.limit] if more else records, total, more)


def _candidates(
    request: PageRequest,
    in_order: Iterable[ChildRecord],
    view: StatusView,
    named: Callable[[str], ChildRecord | None],
) -> tuple[Iterable[ChildRecord], int | None]:
    """The children the filter lets through, in page order, and how many (if known)."""
    state, pattern = request.state, request.pattern
    if pattern is not None and not _GLOB_CHARS.intersection(pattern):
        record = named(pattern)
        hits = [] if record is None or state not in (None, record.state) else [record]
        return hits, len(hits)
    candidates: Iterable[ChildRecord]
    if state is None:
        candidates = in_order
    elif state is _WALKED:
        candidates = (record for record in in_order if record.state is state)
    else:
        candidates = view.members(state)
    matches = request.matcher()
    if matches is not None:
        return (record for record in candidates if matches(record.name)), None
    return candidates, view.count(state)


def _window(
    candidates: Iterable[ChildRecord], offset: int, limit: int | None
) -> Iterator[ChildRecord]:
    stop = None if limit is None else offset + limit + 1
    return itertools.islice(candidates, offset, stop)


def _state(value: object) -> ChildState | None:
    if value is None:
        return None
    try:
        return ChildState(value if isinstance(value, str) else "")
    except ValueError:
        states = ", ".join(state.value for state in ChildState)
        raise ValueError(f"`state` must be one of {states}, got {value!r}") from None


def _pattern(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise ValueError(f"`pattern` must be a non-empty name or pattern, got {value!r}")
    return value


def _count(name: str, value: object, *, optional: bool) -> int | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"`{name}` must be an integer of at least 0, got {value!r}")
    return value
