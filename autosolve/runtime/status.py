"""Per-child bookkeeping and the status document of SPEC §5.3."""

from __future__ import annotations

import functools
import math
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from autosolve.runtime.policy import Category

if TYPE_CHECKING:
    from autosolve.runtime.clock import Clock

__all__ = ["ChildRecord", "ChildState", "Phase", "iso"]


class Phase:
    PREFLIGHT = "preflight"
    WORKERS = "workers"
    STOPPING = "stopping"
    STOPPED = "stopped"
    FAILED = "failed"


class ChildState:
    PENDING = "pending"
    RUNNING = "running"
    IDLE = "idle"
    BACKOFF = "backoff"
    PAUSED = "paused"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    STOPPED = "stopped"


_LAST_ERROR_LIMIT = 500


class ChildRecord:
    """The live facts about one unit, shared by its actor and the supervisor.

    The child actor writes the tick fields directly instead of messaging the
    supervisor: a status request then costs one ask, and a tick costs no
    supervisor round trip. Every field is a single attribute write, so a
    reader sees each value whole.
    """

    __slots__ = (
        "attempts", "failures", "interval", "kind", "last_error", "last_success_at",
        "name", "next_run_at", "progress", "restarts", "runs", "state",
    )  # fmt: skip

    def __init__(self, name: str, kind: str, interval: float | None) -> None:
        self.name = name
        self.kind = kind
        self.interval = interval
        """Seconds between ticks; a worker may change it (``WorkContext.set_interval``)."""
        self.state = ChildState.PENDING
        self.runs = 0
        self.failures = 0
        self.restarts = 0
        self.attempts = dict.fromkeys((c.value for c in Category), 0)
        self.last_error: str | None = None
        self.last_success_at: float | None = None
        """Wall time (epoch seconds) of the last successful run."""
        self.next_run_at: float | None = None
        """Monotonic time of the next tick or restart."""
        self.progress: dict[str, Any] | None = None
        """What the work last reported with ``WorkContext.set_progress``."""

    def reset_attempts(self) -> None:
        for key, value in self.attempts.items():
            if value:
                self.attempts[key] = 0

    def set_error(self, error: BaseException) -> None:
        text = f"{type(error).__name__}: {error}"
        self.last_error = text[:_LAST_ERROR_LIMIT]

    def to_dict(self, clock: Clock, wall_offset: float | None = None) -> dict[str, Any]:
        """The record as SPEC §5.3 shows it.

        Args:
            clock: converts the monotonic ``next_run_at`` to wall time.
            wall_offset: ``clock.time() - clock.monotonic()``, when the caller
                renders many records at once and reads the clock only once.
        """
        next_run = self.next_run_at
        if wall_offset is None:
            wall_offset = clock.time() - clock.monotonic()
        return {
            "name": self.name,
            "kind": self.kind,
            "state": self.state,
            "interval": self.interval,
            "runs": self.runs,
            "failures": self.failures,
            "restarts": self.restarts,
            "attempts": dict(self.attempts),
            "last_error": self.last_error,
            "last_success_at": iso(self.last_success_at),
            "next_run_at": None if next_run is None else iso(next_run + wall_offset),
            "progress": self.progress,
        }


def iso(epoch: float | None) -> str | None:
    """Epoch seconds as ``2026-01-01T00:00:00Z`` (None stays None)."""
    if epoch is None:
        return None
    return _iso_second(math.floor(epoch))


@functools.lru_cache(maxsize=1024)
def _iso_second(second: int) -> str:
    # Thousands of children tick within the same few seconds: a status
    # document formats each of those seconds once, not once per child.
    return datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
