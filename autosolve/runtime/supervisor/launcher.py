"""The one place a supervisor starts a child's actor, and asks one to end."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from autosolve.runtime.backends.hibernation import HibernatingInbox
from autosolve.runtime.child import child_actor_class, tell_quietly
from autosolve.runtime.context import WorkContext
from autosolve.runtime.events import EventKind
from autosolve.runtime.messages import STOP_CHILD
from autosolve.runtime.status import ChildRecord, ChildState
from autosolve.runtime.supervisor.core import logger

if TYPE_CHECKING:
    from autosolve.runtime.slot import ChildSlot
    from autosolve.runtime.supervisor.collector import CollectorFreezer
    from autosolve.runtime.supervisor.core import SupervisorCore
    from autosolve.runtime.supervisor.table import ChildTable

__all__ = ["Launcher"]

FailureHandler = Callable[["ChildSlot", BaseException], None]
"""Handles a failure of a child (here: its actor could not start)."""


@dataclass(eq=False)
class Launcher:
    """Starts fresh actors for slots, signals the running ones to end, gives up on hung ones."""

    _core: SupervisorCore
    _table: ChildTable
    _allowance: Callable[[ChildRecord], float]
    """The deadline rule every child's context shares (one callable for all: a
    closure per child would cost each actor memory)."""
    _on_failure: FailureHandler
    """Called when an actor cannot start (e.g. no more threads): a failure of the
    child like any other."""
    _collector: CollectorFreezer
    """Told of every start (it freezes what children started made)."""

    def __post_init__(self) -> None:
        backend = self._core.backend
        self._child_class = child_actor_class(backend.child_actor_class(self._core.shared.runners))

    def spawn(self, slot: ChildSlot) -> None:
        """Start the next actor of ``slot`` (its first, or a fresh one after the last ended)."""
        name = slot.unit.name
        if slot.generation == 0 and self._table.is_leaving(name):
            # Removed and added again: the new unit starts once the old one's
            # last actor ended, so two ticks of one name never overlap.
            slot.restart_due = True
            return
        core, record = self._core, slot.record
        restarted = slot.generation > 0 and not slot.quiet_restart
        if slot.generation == 0:
            self._table.mark_started(slot)
        elif restarted:
            record.restarts += 1
        slot.quiet_restart = False
        slot.generation += 1
        record.actors += 1
        slot.live, slot.expect_exit, slot.restart_due = True, False, False
        slot.overdue_tick = None
        slot.context = WorkContext(
            name, core.backend.make_event(), core.clock, record, allowance=self._allowance
        )
        record.state = ChildState.PENDING
        record.next_run_at = record.running_since = None
        try:
            slot.ref = self._child_class.start(slot, core.ref, core.shared)
        except Exception as error:  # e.g. no more threads: a failure of this child
            slot.live, slot.ref = False, None
            logger.exception("%s: could not start an actor", name)
            self._on_failure(slot, error)
            return
        self._collector.started()
        core.emit(EventKind.SPAWNED, name, slot.generation)
        if restarted:
            core.emit(EventKind.RESTARTED, name, record.restarts)

    def respawn_if_due(self, slot: ChildSlot) -> None:
        """Start the fresh actor once both the restart is due and the old actor is gone.

        Never for a child stopped on request: only a start (or a restart) ends that.
        """
        if self._core.phase.running and slot.restart_due and not (slot.live or slot.stopped):
            self.spawn(slot)

    def ask_to_stop(self, slot: ChildSlot) -> None:
        """Cancel the running tick and have the actor end after it: its exit is expected."""
        slot.expect_exit = True
        if slot.context is not None:
            slot.context.cancel()
        if slot.ref is not None:
            tell_quietly(slot.ref, STOP_CHILD)

    def stop_if_idle(self, slot: ChildSlot) -> bool:
        """Stop ``slot``'s actor here and now if it hibernates (no tick running, nothing
        queued): its exit needs no message. True if it is stopped; else nothing changed."""
        inbox = None if slot.ref is None else slot.ref.actor_inbox
        actor = inbox.actor if isinstance(inbox, HibernatingInbox) else None
        if actor is None or not actor.stop_if_hibernating():
            return False
        if slot.context is not None:
            slot.context.cancel()
        slot.expect_exit = True
        slot.live, slot.ref = False, None
        self._core.emit(EventKind.EXITED, slot.unit.name, slot.generation)
        return True

    def abandon(self, slot: ChildSlot) -> None:
        """Give up on ``slot``'s actor, which ignores its cancellation.

        Whatever it reports from now on is stale, and a fresh actor may start
        (a greenlet is killed; a thread cannot be, and is left to finish).
        """
        ref = slot.ref
        slot.generation += 1
        slot.live, slot.ref = False, None
        slot.record.running_since = None
        self._core.backend.abandon(ref)

    @staticmethod
    def cancel_restart(slot: ChildSlot) -> None:
        """No restart of ``slot`` is pending from now on (its backoff timer is cancelled)."""
        if slot.restart_timer is not None:
            slot.restart_timer.cancel()
            slot.restart_timer = None
        slot.restart_due = False
