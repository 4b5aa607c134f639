"""The status view: the children per state, kept as they change, and pages of them.

A status document of every child costs O(children) to build; a dashboard
showing a hundred of a million children, or the number failing, must not.
The view is told of every change of a listed record's state and of every
tick that begins or ends (see :class:`ChildRecord`), so it knows at any
moment how many children are in each state, and which ones are in each
state but ``idle``: the state nearly every child of a large run is in,
whose members a page finds by walking the children in order instead (a few
steps per child shown).
"""

from __future__ import annotations

import contextlib
import fnmatch
import itertools
import operator
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from autosolve.runtime.status import ChildRecord, ChildState

if TYPE_CHECKING:
    from autosolve.runtime.locks import Lock

__all__ = ["Listed", "Page", "PageRequest", "StatusView", "find_page", "glob_matcher", "is_glob"]

_WALKED = ChildState.IDLE
"""The one state whose members the view does not keep (see the module's docstring)."""
_RUNNING = ChildState.RUNNING

_GLOB_CHARS = frozenset("*?[")


class StatusView:
    """Counts of the listed children per state, and the members of every state but ``idle``.

    A record counts under its own state (:attr:`ChildRecord.own_state`)
    unless a tick of it runs: then under ``running`` (``_running_from``
    says how many running ones each own state lends). The members of every
    state but ``idle`` are kept, and counted by their number; ``idle``'s are
    the listed ones left over. Members of a state are kept in the order they
    entered it, so a page of them lists the longest
    there first (for ``running``: the tick running longest). A record is
    counted from :meth:`add` until :meth:`discard`; its changes reach the
    view through :meth:`moved` and :meth:`ran`.

    Args:
        lock: held while a state changes (children on OS threads change their
            own records' states while the supervisor changes others); None
            where actors cannot interleave (greenlets).
    """

    __slots__ = ("_listed", "_members", "_running", "_running_from", "lock")

    def __init__(self, lock: Lock | None) -> None:
        self.lock = lock
        self._listed = 0
        """Records counted (added and not discarded)."""
        self._members: dict[ChildState, dict[ChildRecord, None]] = {
            state: {} for state in ChildState if state not in (_WALKED, _RUNNING)
        }
        self._running: dict[ChildRecord, None] = {}
        """Listed records whose tick runs, longest first."""
        self._running_from: dict[ChildState, int] = dict.fromkeys(ChildState, 0)
        """Of those, how many have each own state."""

    def add(self, records: Iterable[ChildRecord]) -> None:
        """Count ``records`` from now on (children of the status)."""
        with self._locked():
            for record in records:
                record.listener = self
                self._listed += 1
                self._enter(record, record.own_state)
                if record.running_since is not None:
                    self.ran(record, record.own_state, True)

    def discard(self, record: ChildRecord) -> None:
        """Count ``record`` no more (a child removed)."""
        with self._locked():
            if record.listener is self:
                if record.running_since is not None:
                    self.ran(record, record.own_state, False)
                self._leave(record, record.own_state)
                self._listed -= 1
                record.listener = None

    def moved(self, record: ChildRecord, old: ChildState, new: ChildState) -> None:
        self._leave(record, old)
        self._enter(record, new)
        if record.running_since is not None:
            self._running_from[old] -= 1
            self._running_from[new] += 1

    def ran(self, record: ChildRecord, own_state: ChildState, running: bool) -> None:
        # On every tick, twice: no other call.
        if running:
            self._running[record] = None
            self._running_from[own_state] += 1
        else:
            del self._running[record]
            self._running_from[own_state] -= 1

    def counts(self) -> dict[str, int]:
        """How many listed children are in each state (every state, zeros too): O(states)."""
        with self._locked():
            return {state.value: self._count(state) for state in ChildState}

    def count(self, state: ChildState | None = None) -> int:
        """How many listed children are in ``state`` (None: in all)."""
        if state is None:
            return self._listed
        with self._locked():
            return self._count(state)

    def _count(self, state: ChildState) -> int:
        if state is _RUNNING:
            return len(self._running)
        return self._own_count(state) - self._running_from[state]

    def _own_count(self, state: ChildState) -> int:
        """Listed records whose own state is ``state`` (``running`` is none's)."""
        members = self._members.get(state)
        if members is not None:
            return len(members)
        if state is _WALKED:
            return self._listed - sum(map(len, self._members.values()))
        return 0

    def members(self, state: ChildState) -> list[ChildRecord]:
        """The listed children in ``state``, longest there first (not for ``idle``)."""
        return self.members_in((state,))

    def members_in(self, states: Iterable[ChildState]) -> list[ChildRecord]:
        """The listed children in any of ``states`` (not ``idle``), all read at one moment:
        a child changing state meanwhile is listed once, under one of them."""
        with self._locked():
            return [record for state in states for record in self._members_of(state)]

    def _members_of(self, state: ChildState) -> list[ChildRecord]:
        if state is _RUNNING:
            return list(self._running)
        members = self._members[state]
        if not self._running_from[state]:
            return list(members)
        return [record for record in members if record.running_since is None]

    def _enter(self, record: ChildRecord, state: ChildState) -> None:
        members = self._members.get(state)
        if members is not None:
            members[record] = None

    def _leave(self, record: ChildRecord, state: ChildState) -> None:
        members = self._members.get(state)
        if members is not None:
            del members[record]

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
        return None if self.pattern is None else glob_matcher(self.pattern)


@dataclass(frozen=True)
class Page:
    """The children of a page and what is known about the rest."""

    records: list[ChildRecord]
    total: int | None
    """Children matching the filter in all (None when only a pattern could tell,
    which would have meant matching every name)."""
    more: bool
    """Children matching the filter follow this page."""


class Listed(Protocol):
    """What the view's pages are taken from: a child with its record (the supervisor's slot)."""

    record: ChildRecord


_RECORD = operator.attrgetter("record")


def find_page(
    request: PageRequest,
    children: Mapping[str, Listed],
    in_order: Sequence[Listed],
    view: StatusView,
) -> Page:
    """The page ``request`` asks for, among ``children`` (by name; ``in_order`` as listed).

    It costs the children it shows, or steps over, not all of them: the
    unfiltered list is sliced, a state other than ``idle`` is read from the
    view's members, a plain name is looked up, and a page stops at its last
    child (plus one, to tell whether more follow). Only a pattern is matched
    against every name it steps over; its total is then unknown.
    """
    state, pattern, offset, limit = request.state, request.pattern, request.offset, request.limit
    stop = None if limit is None else offset + limit + 1
    total: int | None
    if pattern is not None and not is_glob(pattern):
        child = children.get(pattern)
        hits = [] if child is None or state not in (None, child.record.state) else [child.record]
        records, total = hits[offset:stop], len(hits)
    elif pattern is None and state is None:
        records = [child.record for child in in_order[offset:stop]]
        total = len(in_order)
    else:
        candidates = _candidates(request, children, in_order, view)
        records = list(itertools.islice(candidates, offset, stop))
        total = None if pattern is not None else view.count(state)
    more = limit is not None and len(records) > limit
    return Page(records[:limit] if more else records, total, more)


def _candidates(
    request: PageRequest,
    children: Mapping[str, Listed],
    in_order: Sequence[Listed],
    view: StatusView,
) -> Iterator[ChildRecord]:
    """The children a state and/or a pattern let through, in page order."""
    state, matcher = request.state, request.matcher()
    if state is None:
        assert matcher is not None
        return map(_RECORD, map(children.__getitem__, filter(matcher, children)))
    walked: Iterator[ChildRecord]
    if state is _WALKED:
        walked = (record for record in map(_RECORD, in_order) if record.state is state)
    else:
        walked = iter(view.members(state))
    if matcher is None:
        return walked
    return (record for record in walked if matcher(record.name))


def is_glob(pattern: str) -> bool:
    """``pattern`` has a wildcard; else it is a plain name, which one dict lookup finds."""
    return not _GLOB_CHARS.isdisjoint(pattern)


def glob_matcher(pattern: str) -> Callable[[str], object]:
    """What a name must satisfy to match the shell-style ``pattern``: one compiled regex,
    not a ``fnmatchcase`` call per name (there may be tens of thousands)."""
    return re.compile(fnmatch.translate(pattern)).match


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
