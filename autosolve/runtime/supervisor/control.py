"""The operator's levers on single children: pause, resume, run now, restart, stop, start.

Each answers ``{"ok": True, "names": [...]}`` or ``{"ok": False, "error":
...}`` rather than raising: a wrong name from an operator is an answer, not a
failure worth a traceback in the log.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from autosolve.runtime.child import tell_quietly
from autosolve.runtime.events import EventKind
from autosolve.runtime.messages import ChildrenStopDeadline, RunNow
from autosolve.runtime.status import ChildState, Phase
from autosolve.runtime.supervisor.core import logger

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from autosolve.runtime.slot import ChildSlot
    from autosolve.runtime.supervisor.admission import Admission
    from autosolve.runtime.supervisor.core import SupervisorCore
    from autosolve.runtime.supervisor.launcher import Launcher
    from autosolve.runtime.supervisor.table import ChildTable

__all__ = ["ChildControl", "reply"]


def reply(names: list[str] | None = None, error: str | None = None) -> dict[str, Any]:
    """A control answer: the names it applied to, or why it was refused."""
    if error is not None:
        return {"ok": False, "error": error}
    return {"ok": True, "names": names or []}


def _names(slots: list[ChildSlot]) -> dict[str, Any]:
    return reply([slot.unit.name for slot in slots])


@dataclass(eq=False)
class ChildControl:
    """Control calls about children by name or shell-style pattern."""

    _core: SupervisorCore
    _table: ChildTable
    _launcher: Launcher
    _admission: Admission
    _may_start: Callable[[ChildSlot], bool]
    """Whether a child that never ran may start now (its phase came)."""

    def pause(self, pattern: str) -> dict[str, Any]:
        """Let matching workers finish their current tick, then stop ticking."""
        slots, error = self._match(pattern, workers_only=True)
        if error:
            return reply(error=error)
        for slot in slots:
            slot.paused = True
            slot.pause_epoch += 1
            slot.run_now_pending = False  # the next run-now must be sent, not coalesced
            if slot.record.state == ChildState.IDLE:
                slot.record.state = ChildState.PAUSED
                slot.record.next_run_at = None
        return _names(slots)

    def resume(self, pattern: str) -> dict[str, Any]:
        """Resume matching workers; their next tick runs at once."""
        slots, error = self._match(pattern, workers_only=True)
        if error:
            return reply(error=error)
        for slot in slots:
            if slot.paused:
                slot.paused = False
                self._run_now(slot)
        return _names(slots)

    def run_now(self, pattern: str) -> dict[str, Any]:
        """Tick matching workers at once, paused ones too (once); requests coalesce.

        A pause cancels the run-nows asked for before it.
        """
        slots, error = self._match(pattern, workers_only=True)
        if error:
            return reply(error=error)
        for slot in slots:
            self._run_now(slot)
        return _names(slots)

    def restart(self, pattern: str) -> dict[str, Any]:
        """Replace matching children by fresh actors, with their retry counters reset.

        A running tick is cancelled and finishes first: the fresh actor
        starts once the old one ended, so ticks never overlap. A child
        stopped on request starts again.
        """
        slots, error = self._match(pattern, workers_only=False)
        if error:
            return reply(error=error)
        for slot in slots:
            slot.record.reset_attempts()
            self._launcher.cancel_restart(slot)
            slot.restart_due, slot.stopped = True, False
            if slot.live:
                self._launcher.ask_to_stop(slot)
            else:
                self._launcher.respawn_if_due(slot)
        return _names(slots)

    def stop_children(self, patterns: str | Sequence[str]) -> dict[str, Any]:
        """Stop matching children and keep them stopped until :meth:`start_children`.

        The stop is the run's, for these children only: the running tick is
        cancelled, and an actor still running ``shutdown_timeout`` later is
        abandoned. No restart follows, not even one in backoff; the others
        go on. Children stopped already are left out of the answer.
        """
        slots, error = self._eligible(patterns, stopped=False)
        if error:
            return reply(error=error)
        ending = [(slot, slot.generation) for slot in reversed(slots) if self._halt(slot)]
        if ending:
            message = ChildrenStopDeadline(tuple(ending))
            self._core.later_real(self._core.options.shutdown_timeout, message)
        return _names(slots)

    def start_children(self, patterns: str | Sequence[str]) -> dict[str, Any]:
        """Start matching stopped children again, each from a fresh actor, at once.

        A worker ticks at once (unless paused), a preflight runs again; one
        whose old actor is still ending starts when it ended, and one whose
        group's phase has not come yet starts with its group. Retry counters
        start over; no restart is counted.
        """
        slots, error = self._eligible(patterns, stopped=True)
        if error:
            return reply(error=error)
        for slot in slots:
            slot.stopped = False
            slot.record.reset_attempts()
            if not slot.live:
                slot.record.state = ChildState.PENDING
            if slot.generation == 0 and not self._may_start(slot):
                continue  # its group's workers have not started: it starts with them
            slot.quiet_restart = slot.restart_due = True
            self._launcher.respawn_if_due(slot)
        return _names(slots)

    def stopped_child_ended(self, slot: ChildSlot) -> None:
        """The actor of a child stopped on request ended: it shows as ``stopped``."""
        self._settle(slot, ChildState.STOPPED)

    def on_stop_deadline(self, message: ChildrenStopDeadline) -> None:
        """``shutdown_timeout`` after a stop: abandon the actors it asked to end that still run."""
        self._core.fired(message)
        if not self._core.phase.running:
            return  # the run's own stop bounds them now
        late = [s for s, generation in message.slots if s.generation == generation and s.live]
        late = [slot for slot in late if not slot.gone]
        if not late:
            return
        logger.warning(
            "%s did not finish within runtime.shutdown_timeout (%g s) of their stop; abandoned",
            ", ".join(s.unit.name for s in late), self._core.options.shutdown_timeout,
        )  # fmt: skip
        for slot in late:
            self._abandon(slot)

    # -- helpers ---------------------------------------------------------------

    def _halt(self, slot: ChildSlot) -> bool:
        """Stop one child; True if its actor must still end."""
        slot.stopped = True
        self._launcher.cancel_restart(slot)
        self._admission.admitted(slot)
        self._core.emit(EventKind.STOPPING, slot.unit.name)
        if slot.live:
            self._launcher.ask_to_stop(slot)
            return True
        self._settle(slot, ChildState.STOPPED)
        return False

    def _abandon(self, slot: ChildSlot) -> None:
        self._launcher.abandon(slot)
        self._core.emit(EventKind.ABANDONED, slot.unit.name)
        if slot.stopped:
            self._settle(slot, ChildState.ABANDONED)
        else:
            self._launcher.respawn_if_due(slot)  # started again meanwhile: its turn now

    def _settle(self, slot: ChildSlot, state: ChildState) -> None:
        record = slot.record
        record.state, record.next_run_at, record.running_since = state, None, None
        if state is ChildState.STOPPED:
            self._core.emit(EventKind.STOPPED, slot.unit.name)

    def _run_now(self, slot: ChildSlot) -> None:
        if slot.live and not slot.expect_exit:
            if not slot.run_now_pending and slot.ref is not None:
                slot.run_now_pending = True
                tell_quietly(slot.ref, RunNow(slot.pause_epoch))
        elif slot.restart_timer is not None:  # in backoff: restart at once
            self._launcher.cancel_restart(slot)
            slot.restart_due = True
            self._launcher.respawn_if_due(slot)

    def _eligible(
        self, patterns: str | Sequence[str], *, stopped: bool
    ) -> tuple[list[ChildSlot], str | None]:
        """The matching children of groups that did not fail, stopped (or not) on request."""
        refusal = self._core.refusal()
        if refusal is not None:
            return [], refusal
        matched, error = self._table.match_each(patterns)
        if error is not None:
            return [], error
        usable = [s for s in matched if s.stopped is stopped and s.group.phase is not Phase.FAILED]
        if not usable:
            asked = ", ".join(map(repr, [patterns] if isinstance(patterns, str) else patterns))
            what = "no stopped child" if stopped else "only stopped children"
            return [], f"{asked} matches {what} ({_listing(matched)})"
        return usable, None

    def _match(self, pattern: str, *, workers_only: bool) -> tuple[list[ChildSlot], str | None]:
        refusal = self._core.refusal()
        if refusal is not None:
            return [], refusal
        if not isinstance(pattern, str) or not pattern:
            return [], "a child name or pattern is required"
        matched = self._table.glob(pattern)
        if not matched:
            return [], f"no child matches {pattern!r}"
        usable = [
            s
            for s in matched
            if s.generation > 0
            and s.record.state != ChildState.SUCCEEDED
            and s.group.phase is not Phase.FAILED
            and not (workers_only and s.unit.interval is None)
        ]
        if not usable:
            what = "worker" if workers_only else "running child"
            return [], f"{pattern!r} matches no {what} ({_listing(matched)})"
        return usable, None


def _listing(slots: list[ChildSlot]) -> str:
    return ", ".join(slot.unit.name for slot in slots)
