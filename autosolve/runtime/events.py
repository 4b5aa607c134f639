"""Lifecycle events for observers: logs, tests, metrics."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from autosolve.runtime.policy import Category

__all__ = ["EventKind", "Failure", "Observer", "RuntimeEvent"]


class EventKind(StrEnum):
    """What happened; a ``str``, so ``event.kind == "failed"`` keeps working."""

    PHASE = "phase"
    """The run entered a phase; ``detail`` is the :class:`~autosolve.runtime.status.Phase`."""
    SPAWNED = "spawned"
    """A (fresh) actor started for the child; ``detail`` is its generation (1, 2, ...)."""
    RESTARTED = "restarted"
    """The child was restarted (after a failure or by request); ``detail`` = restarts so far."""
    SUCCEEDED = "succeeded"
    """A preflight's work succeeded."""
    FAILED = "failed"
    """The child's work failed; ``detail`` is a :class:`Failure`."""
    BACKOFF = "backoff"
    """A restart is scheduled; ``detail`` is the delay in seconds."""
    OVERDUE = "overdue"
    """A tick ran past its deadline and was cancelled; ``detail`` is the deadline (s)."""
    HUNG = "hung"
    """A cancelled tick did not return; its actor is abandoned; ``detail`` = seconds it ran."""
    EXITED = "exited"
    """An actor of the child ended; ``detail`` is its generation."""
    STOPPING = "stopping"
    """The run's stop signalled the child (children are signalled in reverse start order)."""
    STOPPED = "stopped"
    """The child is stopped for good (its actor ended, or it had none)."""
    ABANDONED = "abandoned"
    """The child was still running when the stop's ``shutdown_timeout`` ran out."""


@dataclass(frozen=True)
class Failure:
    """The ``detail`` of a ``failed`` event."""

    category: Category
    """How the error was classified (what metrics label failures with)."""
    error: str
    """``Type: message`` of the error, as the status record's ``last_error``."""
    permanent: bool
    """True when this failure ends the run (or, for a preflight, fails it)."""


@dataclass(frozen=True)
class RuntimeEvent:
    """A lifecycle fact for observers (logs, tests, metrics)."""

    kind: EventKind
    name: str | None = None
    """The child it is about; None for ``phase``."""
    detail: Any = None
    """Depends on ``kind``: see :class:`EventKind`."""


Observer = Callable[[RuntimeEvent], None]
"""Called on the supervisor for every event: keep it quick, it must not block."""
