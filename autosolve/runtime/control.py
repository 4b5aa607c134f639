"""The supervisor's control surface: status, pause, resume, run-now, restart, stop."""

from __future__ import annotations

import fnmatch
import logging
import re
from typing import TYPE_CHECKING, Any, Protocol

from autosolve.runtime.child import tell_quietly
from autosolve.runtime.messages import STOP_RUN, RunNow
from autosolve.runtime.status import ChildState, Phase, render_records

if TYPE_CHECKING:
    import pykka

    from autosolve.runtime.backends import ExecutionBackend
    from autosolve.runtime.clock import Clock
    from autosolve.runtime.slot import ChildSlot

__all__ = ["ControlMixin", "glob_slots", "reply"]

logger = logging.getLogger("autosolve.runtime")

_GLOB_CHARS = frozenset("*?[")


def reply(names: list[str] | None = None, error: str | None = None) -> dict[str, Any]:
    """A control answer: the names it applied to, or why it was refused."""
    if error is not None:
        return {"ok": False, "error": error}
    return {"ok": True, "names": names or []}


class _Supervisor(Protocol):
    """What the control methods use of the supervisor they are mixed into."""

    _phase: Phase
    _slots: dict[str, ChildSlot]
    _clock: Clock
    _backend: ExecutionBackend

    @property
    def actor_ref(self) -> pykka.ActorRef[Any]: ...
    def _cancel_restart_timer(self, slot: ChildSlot) -> None: ...
    def _ask_to_stop(self, slot: ChildSlot) -> None: ...
    def _maybe_respawn(self, slot: ChildSlot) -> None: ...
    def _run_now(self, slot: ChildSlot) -> None: ...
    def _status_document(self, phase: Phase) -> dict[str, Any]: ...
    def _match(self, pattern: str, *, workers_only: bool) -> tuple[list[ChildSlot], str | None]: ...


class ControlMixin:
    """Control methods of :class:`SupervisorBehaviour`, called through its pykka proxy.

    They answer ``{"ok": True, "names": [...]}`` or ``{"ok": False, "error":
    ...}`` rather than raising: a wrong name from an operator is an answer,
    not a failure worth a traceback in the log.
    """

    def status(self: _Supervisor) -> dict[str, Any]:
        """The phase and one record per child (SPEC §5.3)."""
        return self._status_document(self._phase)

    def pause(self: _Supervisor, pattern: str) -> dict[str, Any]:
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
        return reply([s.unit.name for s in slots])

    def resume(self: _Supervisor, pattern: str) -> dict[str, Any]:
        """Resume matching workers; their next tick runs at once."""
        slots, error = self._match(pattern, workers_only=True)
        if error:
            return reply(error=error)
        for slot in slots:
            if slot.paused:
                slot.paused = False
                self._run_now(slot)
        return reply([s.unit.name for s in slots])

    def run_now(self: _Supervisor, pattern: str) -> dict[str, Any]:
        """Tick matching workers at once, paused ones too (once); requests coalesce.

        A pause cancels the run-nows asked for before it.
        """
        slots, error = self._match(pattern, workers_only=True)
        if error:
            return reply(error=error)
        for slot in slots:
            self._run_now(slot)
        return reply([s.unit.name for s in slots])

    def restart(self: _Supervisor, pattern: str) -> dict[str, Any]:
        """Replace matching children by fresh actors, with their retry counters reset.

        A running tick is cancelled and finishes first: the fresh actor
        starts once the old one ended, so ticks never overlap.
        """
        slots, error = self._match(pattern, workers_only=False)
        if error:
            return reply(error=error)
        for slot in slots:
            slot.record.reset_attempts()
            self._cancel_restart_timer(slot)
            slot.restart_due = True
            if slot.live:
                self._ask_to_stop(slot)
            else:
                self._maybe_respawn(slot)
        return reply([s.unit.name for s in slots])

    def stop(self: _Supervisor) -> dict[str, Any]:
        """Begin a graceful stop; returns at once (wait on the handle for the end)."""
        if self._phase.running:
            self.actor_ref.tell(STOP_RUN)
        return reply([])

    # -- helpers ---------------------------------------------------------------

    def _run_now(self: _Supervisor, slot: ChildSlot) -> None:
        if slot.live and not slot.expect_exit:
            if not slot.run_now_pending and slot.ref is not None:
                slot.run_now_pending = True
                tell_quietly(slot.ref, RunNow(slot.pause_epoch))
        elif slot.restart_timer is not None:  # in backoff: restart at once
            self._cancel_restart_timer(slot)
            slot.restart_due = True
            self._maybe_respawn(slot)

    def _status_document(self: _Supervisor, phase: Phase) -> dict[str, Any]:
        records = [slot.record for slot in self._slots.values()]
        try:
            children = render_records(records, self._clock, self._backend.cooperate)
        except Exception:  # a bug in rendering must not take the supervisor down
            logger.exception("status records could not be rendered")
            children = [{"name": r.name, "state": str(r.state)} for r in records]
        return {"phase": phase.value, "children": children}

    def _match(
        self: _Supervisor, pattern: str, *, workers_only: bool
    ) -> tuple[list[ChildSlot], str | None]:
        if not self._phase.running:
            return [], f"the runtime is {self._phase}"
        if not isinstance(pattern, str) or not pattern:
            return [], "a child name or pattern is required"
        matched = glob_slots(self._slots, pattern)
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
            return [], f"{pattern!r} matches no {what} ({', '.join(s.unit.name for s in matched)})"
        return usable, None


def glob_slots(slots: dict[str, ChildSlot], pattern: str) -> list[ChildSlot]:
    """The slots whose names match the shell-style ``pattern``, in declaration order.

    A plain name is one dict lookup and a pattern one compiled regex: with
    tens of thousands of children a control call must not cost a
    ``fnmatchcase`` call per child.
    """
    if not _GLOB_CHARS.intersection(pattern):
        slot = slots.get(pattern)
        return [] if slot is None else [slot]
    match = re.compile(fnmatch.translate(pattern)).match
    return [slot for name, slot in slots.items() if match(name)]
