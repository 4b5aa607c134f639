"""Readiness: is the daemon doing its job? ``/readyz`` and the dashboard's banner ask here.

Not ready, with a reason for each:

- the run is not in its worker phase (``starting`` while the validators run
  at start; ``stopping``, ``stopped`` or ``failed`` at its end);
- validators of repositories added since (a reload) have not finished;
- a child has failed for good;
- a child has been failing — each attempt since its last success failed, it
  waits in backoff or retries — for longer than ``http.ready_grace``: a
  worker in backoff because the database is corrupt, the disk full or
  GitHub unreachable is restarted forever and never does its job.

A single failure is not a reason: restarts mend most of them, and readiness
that flips at every hiccup gets a healthy daemon taken out of service.

How long a child has been failing is measured from the runtime's ``failed``
events on a monotonic clock (tests drive a :class:`~autosolve.runtime.ManualClock`):
the status document says how many failures in a row a child has had, the
events when each happened.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from autosolve.runtime import Clock, EventKind, RuntimeEvent, SystemClock

__all__ = ["READY_GRACE", "Readiness", "ReadinessRule"]

READY_GRACE = 120.0
"""Seconds a child may keep failing before the daemon is not ready (``http.ready_grace``)."""

_NAMED = 5
"""Validators a reason names; the rest are counted."""

_REMEMBERED_FAILURES = 64
"""Failure times kept per child: enough to date a streak within any sensible grace."""


@dataclass(frozen=True)
class Readiness:
    """The verdict, and why."""

    status: str
    """``ready``, ``starting`` (validators running) or ``not ready``."""
    phase: str
    failing: tuple[str, ...]
    """Children failed for good or failing for longer than the grace."""
    reasons: tuple[str, ...]

    @property
    def ready(self) -> bool:
        return self.status == "ready"

    def document(self) -> dict[str, Any]:
        """The ``/readyz`` body."""
        return {
            "status": self.status,
            "phase": self.phase,
            "failing": list(self.failing),
            "reasons": list(self.reasons),
        }


class ReadinessRule:
    """Judges status documents; :meth:`observe` must see the runtime's events.

    Args:
        grace: seconds a child may keep failing (``http.ready_grace``).
        clock: the monotonic time failures are dated with.
    """

    def __init__(self, grace: float = READY_GRACE, clock: Clock | None = None) -> None:
        self.grace = grace
        self._clock = clock or SystemClock()
        self._lock = threading.Lock()
        self._failures: dict[str, deque[float]] = {}
        self._streaks: dict[str, float] = {}

    def observe(self, event: RuntimeEvent) -> None:
        """A runtime observer: dates each failure (cheap, as observers must be)."""
        if event.kind == EventKind.FAILED and event.name is not None:
            with self._lock:
                times = self._failures.setdefault(event.name, deque(maxlen=_REMEMBERED_FAILURES))
                times.append(self._clock.monotonic())
        elif event.kind == EventKind.REMOVED and event.name is not None:
            with self._lock:
                self._failures.pop(event.name, None)
                self._streaks.pop(event.name, None)

    def judge(self, status: Mapping[str, Any]) -> Readiness:
        """The readiness a status document (as ``ctl status --json`` has it) shows."""
        phase = str(status.get("phase", ""))
        children: Sequence[Mapping[str, Any]] = status.get("children", [])
        failing = [(str(c["name"]), why) for c in children if (why := self._reason(c))]
        reasons = [f"{name} {why}" for name, why in failing]
        running = phase in ("preflight", "workers")
        validating = _validating(children) if running else []
        if not running:
            reasons.insert(0, f"the run is {phase}")
        reasons += _validators_reason(validating)
        if failing or not running:
            verdict = "not ready"
        elif phase == "preflight" or validating:
            verdict = "starting"
        else:
            verdict = "ready"
        return Readiness(verdict, phase, tuple(name for name, _ in failing), tuple(reasons))

    def _reason(self, child: Mapping[str, Any]) -> str | None:
        if child["state"] == "failed":
            return "has failed for good"
        failing_for = self._failing_for(child)
        if failing_for is None or failing_for <= self.grace:
            return None
        return (
            f"has been failing for {failing_for:.0f} s, {_failures_in_a_row(child)} times in "
            f"a row (more than http.ready_grace = {self.grace:g} s)"
        )

    def _failing_for(self, child: Mapping[str, Any]) -> float | None:
        """Seconds since the first of the failures in a row that ``child`` has now."""
        name = str(child["name"])
        in_a_row = _failures_in_a_row(child)
        with self._lock:
            if not in_a_row:
                self._streaks.pop(name, None)
                return None
            now = self._clock.monotonic()
            times = self._failures.get(name, ())
            if in_a_row <= len(times):
                since = times[-in_a_row]
            else:  # more than remembered: at least as old as the oldest, or first seen now
                since = min(times[0] if times else now, self._streaks.get(name, now))
            self._streaks[name] = since
            return now - since


def _failures_in_a_row(child: Mapping[str, Any]) -> int:
    """Failures since the last success: the retries counted by category."""
    attempts = child.get("attempts") or {}
    in_a_row = sum(int(count) for count in attempts.values())
    return max(in_a_row, 1) if child["state"] == "backoff" else in_a_row


def _validating(children: Sequence[Mapping[str, Any]]) -> list[str]:
    """Validators (preflights) still at work: not succeeded, not failed for good."""
    return [
        str(child["name"])
        for child in children
        if child["kind"] == "preflight" and child["state"] not in ("succeeded", "failed")
    ]


def _validators_reason(validating: Sequence[str]) -> list[str]:
    if not validating:
        return []
    shown = ", ".join(validating[:_NAMED])
    if len(validating) > _NAMED:
        shown += f" and {len(validating) - _NAMED} more"
    return [f"starting: {len(validating)} validators have not finished ({shown})"]
