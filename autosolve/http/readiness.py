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

Readiness reads only the children it can find in trouble, never the whole
status document (a load balancer asks every few seconds, and the runtime
holds up to a million children): the children in :data:`JUDGED_STATES`,
every state but ``idle`` and ``succeeded``. A worker turns idle, and a
validator succeeds, only once a run succeeded, and that success reset its
retry counters first (restarts and starts after a stop reset them too): so
an idle or succeeded child has no failures in a row, is neither failing nor
failed, and is no validator at work. The verdict on those children is the
verdict on all of them.

The same judgement grades the daemon's health for the dashboard's banner
(:attr:`Readiness.health`): ``failing`` (red) when not ready, ``degraded``
(amber) while any child is in trouble — failing, within the grace or not —,
``starting`` (blue) while validators run, else ``ok``. Each child in trouble
is listed with the time its failures in a row began and its last error
(:class:`Trouble`): the banner and the repository rows say "failing since …
(reason)". ``/readyz`` answers only the verdict and its reasons: it is open
to anyone, errors stay behind the token.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from autosolve.infra.timestamps import format_epoch
from autosolve.runtime import ChildState, Clock, EventKind, RuntimeEvent, SystemClock

__all__ = [
    "HEALTH_LEVELS", "JUDGED_STATES", "READY_GRACE", "Readiness", "ReadinessRule", "Trouble",
]  # fmt: skip

READY_GRACE = 120.0
"""Seconds a child may keep failing before the daemon is not ready (``http.ready_grace``)."""

_NAMED = 5
"""Validators a reason names; the rest are counted."""

_REMEMBERED_FAILURES = 64
"""Failure times kept per child: enough to date a streak within any sensible grace."""


JUDGED_STATES = frozenset(ChildState) - {ChildState.IDLE, ChildState.SUCCEEDED}
"""The states of the children :meth:`ReadinessRule.judge` needs (see the module): a status
document of these children only is judged as the whole one is."""

HEALTH_LEVELS = ("ok", "starting", "degraded", "failing")
"""The banner's grades, mildest first: green, blue, amber, red."""


@dataclass(frozen=True)
class Trouble:
    """A child whose every attempt since its last success failed, or that failed for good."""

    name: str
    state: str
    since: float | None
    """Epoch seconds of the first of its failures in a row (None: not known)."""
    failures: int
    """Failures in a row."""
    error: str | None
    """Its last error, as the status document has it."""
    failing_for: float
    """Seconds since :attr:`since` (0 when not known)."""

    def document(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "state": self.state,
            "since": None if self.since is None else format_epoch(self.since),
            "failures": self.failures,
            "error": self.error,
        }


@dataclass(frozen=True)
class Readiness:
    """The verdict, and why."""

    status: str
    """``ready``, ``starting`` (validators running) or ``not ready``."""
    phase: str
    failing: tuple[str, ...]
    """Children failed for good or failing for longer than the grace."""
    reasons: tuple[str, ...]
    troubles: tuple[Trouble, ...] = ()
    """Every child in trouble, failing for longer than the grace or not."""

    @property
    def ready(self) -> bool:
        return self.status == "ready"

    @property
    def health(self) -> str:
        """One of :data:`HEALTH_LEVELS`: what colour the dashboard's banner takes."""
        if not self.ready and self.status != "starting":
            return "failing"
        if self.troubles:
            return "degraded"
        return "starting" if self.status == "starting" else "ok"

    def document(self) -> dict[str, Any]:
        """The ``/readyz`` body."""
        return {
            "status": self.status,
            "phase": self.phase,
            "failing": list(self.failing),
            "reasons": list(self.reasons),
        }

    def banner(self) -> dict[str, Any]:
        """The dashboard's health banner: :meth:`document`, the health and the troubles."""
        troubles = [trouble.document() for trouble in self.troubles]
        return {**self.document(), "health": self.health, "troubles": troubles}


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
        """The readiness a status document (as ``ctl status --json`` has it) shows.

        The document may list only the children in :data:`JUDGED_STATES`
        (``RuntimeHandle.status_in``): the verdict, reasons and troubles are
        the same as on the whole document.
        """
        phase = str(status.get("phase", ""))
        children: Sequence[Mapping[str, Any]] = status.get("children", [])
        troubles = [trouble for child in children if (trouble := self._trouble(child))]
        self._forget_streaks_but(troubles)
        failing = [(t.name, why) for t in troubles if (why := self._reason(t))]
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
        names = tuple(name for name, _ in failing)
        return Readiness(verdict, phase, names, tuple(reasons), tuple(troubles))

    def _reason(self, trouble: Trouble) -> str | None:
        if trouble.state == "failed":
            return "has failed for good"
        if trouble.failing_for <= self.grace:
            return None
        return (
            f"has been failing for {trouble.failing_for:.0f} s, {trouble.failures} times in "
            f"a row (more than http.ready_grace = {self.grace:g} s)"
        )

    def _trouble(self, child: Mapping[str, Any]) -> Trouble | None:
        """``child``'s trouble, if it is in any: failures in a row, or failed for good."""
        in_a_row = _failures_in_a_row(child)
        failing_for = self._failing_for(str(child["name"]), in_a_row)
        if failing_for is None and child["state"] != "failed":
            return None
        since = None if failing_for is None else self._clock.time() - failing_for
        error = child.get("last_error")
        return Trouble(
            str(child["name"]), str(child["state"]), since, in_a_row,
            None if error is None else str(error), failing_for or 0.0,
        )  # fmt: skip

    def _forget_streaks_but(self, troubles: Sequence[Trouble]) -> None:
        """A streak ends with a success: the children not in trouble now have none.

        Also those the document leaves out (idle ones have no failures in a
        row): a streak they left behind must not date their next one.
        """
        failing = {trouble.name for trouble in troubles if trouble.failures}
        with self._lock:
            for name in [name for name in self._streaks if name not in failing]:
                del self._streaks[name]

    def _failing_for(self, name: str, in_a_row: int) -> float | None:
        """Seconds since the first of the ``in_a_row`` failures ``name`` has now."""
        with self._lock:
            if not in_a_row:
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
