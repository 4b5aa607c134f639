"""The object handed to every work function: cancellation, tick facts, and two knobs."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Protocol, overload

from autosolve.runtime.status import ChildRecord

if TYPE_CHECKING:
    from autosolve.runtime.clock import Clock

__all__ = ["CURRENT_CONTEXT", "CURRENT_UNIT", "Cancelled", "Event", "WorkContext"]

CURRENT_UNIT: ContextVar[str | None] = ContextVar("autosolve_current_unit", default=None)
"""The unit whose actor is running this code (threads and greenlets each see their own)."""

CURRENT_CONTEXT: ContextVar[WorkContext | None] = ContextVar(
    "autosolve_current_context", default=None
)
"""The :class:`WorkContext` of that unit: lets a layer below the work (an HTTP
client waiting for its budget) tell the child's status what it waits for."""

_PROGRESS_LIMIT = 4096
"""Characters of JSON a progress mapping may take: it is rendered in every status."""


class Cancelled(Exception):
    """Raised by :meth:`WorkContext.raise_if_cancelled` once a stop was asked for."""


class Event(Protocol):
    """The part of ``threading.Event`` / ``gevent.event.Event`` the runtime uses."""

    def set(self) -> None: ...
    def is_set(self) -> bool: ...
    @overload
    def wait(self, timeout: None = None) -> bool: ...
    @overload
    def wait(self, timeout: float) -> bool: ...


class WorkContext:
    """What a unit's work function may know about the run it is part of.

    Work functions are plain callables taking this context. Long work should
    poll :attr:`cancelled` or use :meth:`wait` instead of ``time.sleep`` so a
    stop reaches it promptly; work that ignores the context still gets
    ``runtime.shutdown_timeout`` seconds before it is abandoned.

    Two knobs let work tell the runtime about itself, from inside its tick:
    :meth:`set_interval` (adaptive polling) and :meth:`set_progress` (a small
    document shown in the child's status record).

    Args:
        name: the unit's name.
        cancel: the event a stop (or a missed deadline) sets.
        clock: the runtime's clock.
        record: the child's status record, shared by every actor that runs
            the unit; a standalone context (a test calling work directly)
            gets one of its own.
        allowance: the supervisor's deadline rule: seconds a tick of the
            child whose record it is given may run before it is cancelled;
            None = no deadline. One callable serves every child (a closure
            per child would cost each of tens of thousands of actors ~200
            bytes).
    """

    __slots__ = (
        "_allowance", "_cancel", "_overdue", "_record", "clock", "name", "scheduled_at",
    )  # fmt: skip

    def __init__(
        self,
        name: str,
        cancel: Event,
        clock: Clock,
        record: ChildRecord | None = None,
        *,
        allowance: Callable[[ChildRecord], float] | None = None,
    ) -> None:
        self.name = name
        """The unit's name, e.g. ``worker:issue-poller:octo/hello``."""
        self.clock = clock
        """The runtime's clock; tests drive it by hand."""
        self.scheduled_at: float = 0.0
        """Monotonic time at which the current tick was due (lateness = now - this)."""
        self._cancel = cancel
        self._overdue = False
        self._record = record if record is not None else ChildRecord(name, "worker", None)
        self._allowance = allowance

    @property
    def cancelled(self) -> bool:
        """True once the runtime asked this work to stop."""
        return self._cancel.is_set()

    def wait(self, seconds: float) -> bool:
        """Wait up to ``seconds`` (real time) or until cancelled; True if cancelled."""
        return self._cancel.wait(seconds)

    def raise_if_cancelled(self) -> None:
        """Raise :class:`Cancelled` if a stop was asked for."""
        if self._cancel.is_set():
            raise Cancelled(self.name)

    @property
    def allowance(self) -> float | None:
        """Seconds this unit's tick may run before it is cancelled as overdue.

        None outside a supervised run. Work that loops over many items (pages,
        jobs) should stop taking new ones in time — see :meth:`time_left` — and
        go on at its next tick: a tick cancelled at its deadline counts as a failure.
        """
        return None if self._allowance is None else self._allowance(self._record)

    def time_left(self) -> float:
        """Seconds until the running tick's deadline (``inf`` without one or between ticks)."""
        started = self._record.running_since
        allowance = self.allowance
        if started is None or allowance is None:
            return math.inf
        return started + allowance - self.clock.monotonic()

    @property
    def overdue(self) -> bool:
        """True when the cancellation came from the tick's deadline, not from a stop."""
        return self._overdue

    def cancel(self, *, overdue: bool = False) -> None:
        """Ask the work to stop (used by the supervisor).

        Args:
            overdue: the tick ran past its deadline (its end then counts as a
                failure); otherwise the child or the run is being stopped.
        """
        if overdue:
            self._overdue = True
        self._cancel.set()

    @property
    def interval(self) -> float | None:
        """The unit's current interval in seconds (None for a preflight)."""
        return self._record.interval

    def set_interval(self, seconds: float) -> None:
        """Change this worker's interval, from the next tick on.

        The next tick is due at this tick's due time plus ``seconds`` (a tick
        that overran skips the missed slots of the new grid, as always). The
        value outlives the actor: a fresh actor after a restart keeps it, and
        the status record's ``interval`` shows it. A worker that polls a
        quiet source can so slow down, and speed up again when it wakes.

        Raises:
            ValueError: ``seconds`` is not a finite number greater than 0, or
                the unit is a preflight (it has no interval).
        """
        if self._record.kind != "worker":
            raise ValueError(f"{self.name}: a preflight has no interval to set")
        if isinstance(seconds, bool) or not isinstance(seconds, int | float):
            raise ValueError(f"{self.name}: `seconds` must be a number, not {seconds!r}")
        if not math.isfinite(seconds) or seconds <= 0:
            raise ValueError(f"{self.name}: `seconds` must be finite and greater than 0")
        self._record.interval = float(seconds)

    @property
    def progress(self) -> dict[str, Any] | None:
        """The progress document last set with :meth:`set_progress`."""
        return self._record.progress

    def set_progress(self, progress: Mapping[str, Any] | None) -> None:
        """Show ``progress`` as the ``progress`` field of this child's status record.

        A small JSON document, e.g. ``{"stored": 1200, "pages": 12, "caught_up":
        False}``; None clears it. The document is copied (later changes to the
        mapping are not seen) and survives restarts of the child.

        Raises:
            TypeError: ``progress`` is not a mapping with string keys and
                JSON values.
            ValueError: its JSON exceeds 4096 characters.
        """
        if progress is None:
            self._record.progress = None
            return
        if not isinstance(progress, Mapping):
            raise TypeError(f"{self.name}: progress must be a mapping or None, not {progress!r}")
        try:
            text = json.dumps(dict(progress), allow_nan=False, sort_keys=True)
        except (TypeError, ValueError) as error:
            raise TypeError(f"{self.name}: progress must be JSON: {error}") from None
        if len(text) > _PROGRESS_LIMIT:
            raise ValueError(f"{self.name}: progress must stay under {_PROGRESS_LIMIT} characters")
        self._record.progress = json.loads(text)
