"""Per-child bookkeeping and the status document (``ctl status --json``)."""

from __future__ import annotations

import functools
import gc
import math
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from autosolve.runtime.kinds import UnitKind
from autosolve.runtime.policy import Category

if TYPE_CHECKING:
    from autosolve.runtime.clock import Clock
    from autosolve.runtime.locks import Lock

__all__ = [
    "ChildRecord", "ChildState", "GroupState", "Phase", "StateListener", "describe_error",
    "render_records",
]  # fmt: skip


class Phase(StrEnum):
    """Where the run is; a ``str``, so comparing with ``"workers"`` keeps working."""

    PREFLIGHT = "preflight"
    WORKERS = "workers"
    STOPPING = "stopping"
    STOPPED = "stopped"
    FAILED = "failed"

    @property
    def running(self) -> bool:
        """True while children may start, tick and be restarted."""
        return self in _RUNNING_PHASES


_RUNNING_PHASES = frozenset((Phase.PREFLIGHT, Phase.WORKERS))


class ChildState(StrEnum):
    """A child's state as its status record shows it."""

    PENDING = "pending"
    """Not started yet, or a fresh actor that has not ticked yet."""
    RUNNING = "running"
    """Its work is running right now."""
    IDLE = "idle"
    """A worker waiting for its next tick."""
    BACKOFF = "backoff"
    """Failed; a fresh actor starts at ``next_run_at``."""
    PAUSED = "paused"
    SUCCEEDED = "succeeded"
    """A preflight whose work is done."""
    FAILED = "failed"
    """Its failure is being handled, or ended the run."""
    STOPPED = "stopped"
    ABANDONED = "abandoned"
    """Still running when the stop's ``shutdown_timeout`` ran out."""


_RUNNING = ChildState.RUNNING
_PENDING = ChildState.PENDING
"""Members read on every tick or record, once: ``ChildState.RUNNING`` costs a quarter of
a microsecond each time (an enum member is looked up through its metaclass)."""


class GroupState:
    """What a status record shows of its child's group: its number and its phase.

    The supervisor's :class:`~autosolve.runtime.slot.Group` adds who belongs
    to it; a record needs only this much, so this module knows nothing of slots.
    """

    __slots__ = ("id", "phase", "reason")

    def __init__(self, group_id: int) -> None:
        self.id = group_id
        """0 for the units the run started with, then 1, 2, ... in the order added."""
        self.phase = Phase.PREFLIGHT
        """``preflight`` until its workers start, then ``workers``; or ``failed``."""
        self.reason: str | None = None
        """Why the group failed."""


class StateListener(Protocol):
    """Told of every change of the state of the records it listens to (the status view)."""

    @property
    def lock(self) -> Lock | None:
        """Held while a record's state changes and the listener is told (None: nothing to
        exclude, see ``ExecutionBackend.parallel``)."""
        ...

    def moved(self, record: ChildRecord, old: ChildState, new: ChildState) -> None:
        """``record``'s own state went from ``old`` to ``new`` (called with :attr:`lock` held)."""
        ...

    def ran(self, record: ChildRecord, own_state: ChildState, running: bool) -> None:
        """``record``'s tick began (``running``) or ended; ``own_state`` is its
        :attr:`ChildRecord.own_state` (called with :attr:`lock` held)."""
        ...


_LAST_ERROR_LIMIT = 500

_ATTEMPT_KEYS = tuple(c.value for c in Category)

_NO_ATTEMPTS: dict[str, int] = dict.fromkeys(_ATTEMPT_KEYS, 0)
"""The attempts of every record that has none, shared: a dict of its own would cost each
of a million children 184 bytes (see :meth:`ChildRecord.count_attempt`)."""


def describe_error(error: BaseException) -> str:
    """``Type: message``, cut to a status-sized length; never raises.

    An exception's ``__str__`` is arbitrary code: when it fails, the
    failure is still recorded, with what can be said about it.
    """
    name = type(error).__name__
    try:
        text = f"{name}: {error}"
    except Exception as problem:
        text = f"{name}: <unprintable: {type(problem).__name__} in __str__>"
    return text[:_LAST_ERROR_LIMIT]


class ChildRecord:
    """The live facts about one unit, shared by its actors and the supervisor.

    The child actor writes the tick fields directly instead of messaging the
    supervisor: a status request then costs one ask, and a tick costs no
    supervisor round trip. Every field is a single attribute write, so a
    reader sees each value whole; :attr:`state` and :attr:`running_since`
    also tell the status view the record is listed in (its :attr:`listener`),
    which counts the children per state as they change.

    A child is ``running`` while :attr:`running_since` is set, whatever its
    own state (``pending`` before its first tick ended, ``idle`` between
    ticks, ``paused`` for a run-now while paused): a tick writes the time it
    began and clears it, and nothing else, so the view hears of a tick twice
    instead of four times.
    """

    __slots__ = (
        "_running_since", "_state", "actors", "attempts", "failures", "group", "interval", "kind",
        "last_error", "last_success_at", "listener",
        "name", "next_run_at", "progress", "restarts", "runs",
    )  # fmt: skip

    def __init__(
        self,
        name: str,
        kind: UnitKind | str,
        interval: float | None,
        group: GroupState | None = None,
    ) -> None:
        self.name = name
        self.group = group
        """The group the unit was started with (None for a standalone context's record)."""
        self.kind = kind if isinstance(kind, UnitKind) else UnitKind(kind)
        self.interval = interval
        """Seconds between ticks; a worker may change it (``WorkContext.set_interval``)."""
        self._state = _PENDING
        self.listener: StateListener | None = None
        """The status view that lists the child (None before it is listed and once removed)."""
        self.runs = 0
        self.failures = 0
        self.restarts = 0
        self.actors = 0
        """Actors started for the unit so far: a restart or a replacement starts one more."""
        self.attempts = _NO_ATTEMPTS
        self.last_error: str | None = None
        self.last_success_at: float | None = None
        """Wall time (epoch seconds) of the last successful run."""
        self.next_run_at: float | None = None
        """Monotonic time of the next tick or restart."""
        self.progress: dict[str, Any] | None = None
        """What the work last reported with ``WorkContext.set_progress``."""
        self._running_since: float | None = None

    @property
    def state(self) -> ChildState:
        """``running`` during a tick, else the child's own state (what was last written)."""
        return _RUNNING if self._running_since is not None else self._state

    @state.setter
    def state(self, new: ChildState) -> None:
        if new is self._state:
            return  # a tick writes ``idle`` every time: no change, nothing to tell
        if new is _RUNNING:
            raise ValueError("`state` is running while `running_since` is set, never written")
        listener = self.listener
        if listener is None:
            self._state = new
            return
        lock = listener.lock  # the child and the supervisor may both write it
        if lock is not None:
            lock.acquire()
        try:
            old, self._state = self._state, new
            if new is not old:
                listener.moved(self, old, new)
        finally:
            if lock is not None:
                lock.release()

    @property
    def running_since(self) -> float | None:
        """Monotonic time the running tick started; None between ticks."""
        return self._running_since

    @running_since.setter
    def running_since(self, since: float | None) -> None:
        listener = self.listener
        if listener is None or (since is None) is (self._running_since is None):
            self._running_since = since
            return
        lock = listener.lock
        if lock is not None:
            lock.acquire()
        try:
            was = self._running_since
            self._running_since = since
            if (since is None) is not (was is None):
                listener.ran(self, self._state, since is not None)
        finally:
            if lock is not None:
                lock.release()

    @property
    def own_state(self) -> ChildState:
        """The state last written, ``running`` or not (what the view counts it under)."""
        return self._state

    def count_attempt(self, category: Category) -> int:
        """Count one more retry of ``category``; returns the attempt number before it."""
        attempt = self.attempts[category]
        # Copy on write: a status document shares the dict instead of copying
        # it, so it must never change once handed out.
        self.attempts = {**self.attempts, category: attempt + 1}
        return attempt

    def reset_attempts(self) -> None:
        self.attempts = _NO_ATTEMPTS


def render_records(
    records: Iterable[ChildRecord],
    clock: Clock,
    cooperate: Callable[[], None] | None = None,
) -> list[dict[str, Any]]:
    """The status records: the documented fields plus ``running_for``, ``progress``, the group
    and ``actors``.

    One pass, clock read once, timestamps formatted once per second, and
    ``attempts``/``progress`` shared rather than copied (both are replaced,
    never changed, by their writers): at tens of thousands of children a
    status call must stay in the tens of milliseconds. The collector is
    paused meanwhile: the documents hold no reference cycles, so it could
    find nothing in them, yet the tens of thousands of dicts would trigger
    collections that promote them to the oldest generation, and with them a
    full collection of every actor (see BENCHMARKS.md).

    Args:
        records: the records, in the order the document lists them.
        clock: the runtime's clock (monotonic times become wall times).
        cooperate: called every 500 records (greenlets: yield to the hub).
    """
    now = clock.monotonic()
    offset = clock.time() - now
    stamp = _iso_second
    plain = _PLAIN
    running = _PLAIN[_RUNNING]
    rendered: list[dict[str, Any]] = []
    append = rendered.append
    collecting = gc.isenabled()
    if collecting:
        gc.disable()
    try:
        for count, record in enumerate(records, 1):
            # The fields behind ``state`` and ``running_since``: no property call per record.
            success, next_run, since, group = (
                record.last_success_at, record.next_run_at, record._running_since, record.group
            )  # fmt: skip
            if next_run is not None and next_run < now:  # its timer fired, the tick not begun
                next_run = now  # a run already due is due now, not in the past
            append({
                "name": record.name,
                "kind": plain[record.kind],
                "state": running if since is not None else plain[record._state],
                "interval": record.interval,
                "runs": record.runs,
                "failures": record.failures,
                "restarts": record.restarts,
                "attempts": record.attempts,
                "last_error": record.last_error,
                "last_success_at": None if success is None else stamp(math.floor(success)),
                "next_run_at": None if next_run is None else stamp(math.floor(next_run + offset)),
                "running_for": None if since is None else max(now - since, 0.0),
                "progress": record.progress,
                "group": None if group is None else group.id,
                "group_phase": None if group is None else plain[group.phase],
                "actors": record.actors,
            })  # fmt: skip
            if cooperate is not None and not count % _COOPERATE_EVERY:
                cooperate()
    finally:
        if collecting:
            gc.enable()
    return rendered


_COOPERATE_EVERY = 500
"""Records rendered between two yields (about a millisecond)."""

_PLAIN: dict[str, str] = {member: member.value for member in (*ChildState, *UnitKind, *Phase)}
"""Enum members as plain strings: a status document prints like the JSON it becomes."""


@functools.lru_cache(maxsize=1024)
def _iso_second(second: int) -> str:
    # Thousands of children tick within the same few seconds: a status
    # document formats each of those seconds once, not once per child.
    return datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
