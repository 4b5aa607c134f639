"""The object handed to every work function: cancellation and tick facts."""

from __future__ import annotations

from contextvars import ContextVar
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from autosolve.runtime.clock import Clock

__all__ = ["CURRENT_UNIT", "Cancelled", "Event", "WorkContext"]

CURRENT_UNIT: ContextVar[str | None] = ContextVar("autosolve_current_unit", default=None)
"""The unit whose actor is running this code (threads and greenlets each see their own)."""


class Cancelled(Exception):
    """Raised by :meth:`WorkContext.raise_if_cancelled` once a stop was asked for."""


class Event(Protocol):
    """The part of ``threading.Event`` / ``gevent.event.Event`` the runtime uses."""

    def set(self) -> None: ...
    def is_set(self) -> bool: ...
    def wait(self, timeout: float | None = None) -> bool: ...


class WorkContext:
    """What a unit's work function may know about the run it is part of.

    Work functions are plain callables taking this context. Long work should
    poll :attr:`cancelled` or use :meth:`wait` instead of ``time.sleep`` so a
    stop reaches it promptly; work that ignores the context still gets
    ``runtime.shutdown_timeout`` seconds before it is abandoned.
    """

    __slots__ = ("_cancel", "clock", "name", "scheduled_at")

    def __init__(self, name: str, cancel: Event, clock: Clock) -> None:
        self.name = name
        """The unit's name, e.g. ``worker:issue-poller:octo/hello``."""
        self.clock = clock
        """The runtime's clock; tests drive it by hand."""
        self.scheduled_at: float = 0.0
        """Monotonic time at which the current tick was due (lateness = now - this)."""
        self._cancel = cancel

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

    def cancel(self) -> None:
        """Ask the work to stop (used by the supervisor)."""
        self._cancel.set()
