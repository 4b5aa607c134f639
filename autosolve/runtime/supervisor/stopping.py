"""The run's stop: every child signalled at once, bounded in real time, hooks run last."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from autosolve.runtime.contained import GreenletExit
from autosolve.runtime.events import EventKind
from autosolve.runtime.messages import STOP_DEADLINE
from autosolve.runtime.status import ChildState, Phase, describe_error
from autosolve.runtime.supervisor.core import logger
from autosolve.runtime.supervisor.options import RunResult
from autosolve.runtime.supervisor.phases import settle_failed_group_child

if TYPE_CHECKING:
    from autosolve.runtime.slot import ChildSlot
    from autosolve.runtime.supervisor.admission import Admission
    from autosolve.runtime.supervisor.collector import CollectorFreezer
    from autosolve.runtime.supervisor.core import SupervisorCore
    from autosolve.runtime.supervisor.launcher import Launcher
    from autosolve.runtime.supervisor.options import Outcome
    from autosolve.runtime.supervisor.table import ChildTable
    from autosolve.runtime.supervisor.watchdog import Watchdog

__all__ = ["StopCoordinator"]

_COOPERATE_EVERY = 500
"""Children handled between two yields of a loop over all of them."""

_FAILED, _SUCCEEDED, _STOPPED = ChildState.FAILED, ChildState.SUCCEEDED, ChildState.STOPPED
_GROUP_FAILED, _STOPPED_EVENT = Phase.FAILED, EventKind.STOPPED
"""Read once, for every child a stop settles (an enum member lookup is not free on 3.11)."""

_ABANDONED_NAMED = 100
"""Children named in the one log line of a stop that abandoned some (the rest are counted)."""


@dataclass(eq=False)
class StopCoordinator:
    """Ends the run: asked for, after a permanent failure, or when the supervisor dies.

    Nothing here waits: the children's exits arrive as messages, and a
    real-time timer bounds the wait by ``shutdown_timeout``, so a stop costs
    O(N) and the supervisor answers status calls meanwhile. Whatever way the
    run ends, the shutdown hooks run once every child stopped or was
    abandoned, and the :class:`Outcome` gets its result.
    """

    _core: SupervisorCore
    _table: ChildTable
    _launcher: Launcher
    _admission: Admission
    _watchdog: Watchdog
    _collector: CollectorFreezer
    _outcome: Outcome
    _failure: str | None = field(default=None, init=False)
    _culprit: ChildSlot | None = field(default=None, init=False)
    _outstanding: set[ChildSlot] = field(default_factory=set, init=False)
    """Children the stop signalled and has not seen end yet."""

    def fail_run(self, reason: str, culprit: ChildSlot) -> None:
        logger.error("run failed: %s", reason)
        self.begin(reason, culprit)

    def begin(self, failure: str | None = None, culprit: ChildSlot | None = None) -> None:
        """Signal every child at once, in reverse start order; finish when all ended."""
        core = self._core
        if not core.phase.running:
            return
        self._failure, self._culprit = failure, culprit
        core.shared.stopping = True  # from now on no tick starts
        self._admission.clear()
        core.set_phase(Phase.STOPPING)
        self._watchdog.cancel()
        core.later_real(core.options.shutdown_timeout, STOP_DEADLINE)
        stopping, emit = EventKind.STOPPING, core.emit  # read once: a million children
        for count, slot in enumerate(reversed(self._table.started), 1):
            if slot.restart_timer is not None or slot.restart_due:
                self._launcher.cancel_restart(slot)
            emit(stopping, slot.unit.name)
            if slot.live and not self._launcher.stop_if_idle(slot):
                self._launcher.ask_to_stop(slot)
                self._outstanding.add(slot)
            else:
                self._settle(slot)
            if not count % _COOPERATE_EVERY:
                core.backend.cooperate()
        self._outstanding.update(self._table.leaving)  # removed, already signalled, not ended
        if not self._outstanding:
            self._finish()

    def ended(self, slot: ChildSlot) -> None:
        """The last actor of ``slot`` ended while the run stops (a removed one: its record is
        final already)."""
        self._outstanding.discard(slot)
        if not slot.gone:
            self._settle(slot)
        if not self._outstanding:
            self._finish()

    def abandon_outstanding(self) -> None:
        """``shutdown_timeout`` ran out: whoever still runs is abandoned, and the run ends."""
        self._core.fired(STOP_DEADLINE)
        if self._core.phase is not Phase.STOPPING or not self._outstanding:
            return
        names = []
        ordered = [s for s in reversed(self._table.started) if s in self._outstanding]
        for slot in [*ordered, *(s for s in self._outstanding if s.gone)]:
            record = slot.record
            record.state = ChildState.ABANDONED
            record.next_run_at = record.running_since = None
            self._core.backend.abandon(slot.ref)
            names.append(slot.unit.name)
            self._core.emit(EventKind.ABANDONED, slot.unit.name)
        self._outstanding.clear()
        _log_abandoned(names, self._core.options.shutdown_timeout)
        self._finish()

    def die(self, crash: BaseException) -> None:
        """The actor is dying of ``crash``: stop what can be stopped and say so."""
        core = self._core
        reason = f"the supervisor crashed: {describe_error(crash)}"
        logger.error("%s", reason, exc_info=crash)
        core.shared.stopping = True
        core.phase = Phase.FAILED
        for slot in reversed(self._table.started):
            self._launcher.cancel_restart(slot)
            if slot.live:
                self._launcher.ask_to_stop(slot)
            if slot.record.state != ChildState.SUCCEEDED:
                slot.record.state = ChildState.STOPPED
            slot.record.next_run_at = slot.record.running_since = None
        self._close()
        self._outcome.set(RunResult(ok=False, reason=reason), self._final_status(Phase.FAILED))
        core.emit(EventKind.PHASE, detail=Phase.FAILED)

    def _settle(self, slot: ChildSlot) -> None:
        """The final state of a child the stop has seen end (or that had no actor)."""
        record = slot.record
        if slot is self._culprit:
            record.state = _FAILED
        elif slot.group.phase is _GROUP_FAILED:
            settle_failed_group_child(slot)
        elif record.state is not _SUCCEEDED:
            record.state = _STOPPED
        record.next_run_at = record.running_since = None
        self._core.emit(_STOPPED_EVENT, slot.unit.name)

    def _finish(self) -> None:
        core = self._core
        self._close()
        final = Phase.FAILED if self._failure else Phase.STOPPED
        core.set_phase(final)
        self._outcome.set(RunResult(ok=self._failure is None, reason=self._failure),
                          self._final_status(final))  # fmt: skip
        core.ref.stop(block=False)

    def _final_status(self, phase: Phase) -> Callable[[], dict[str, Any]]:
        """What renders the run's last status document when someone first asks for it."""

        def render() -> dict[str, Any]:
            try:
                return self._table.status(phase)
            except Exception:  # whatever broke the supervisor may break this too
                logger.exception("the status as the run ended could not be made")
                return {"phase": phase.value, "children": []}

        return render

    def _close(self) -> None:
        """No timer fires any more, then the hooks run: every child ended or was abandoned."""
        self._core.cancel_real_deadlines()
        for hook in self._core.options.shutdown_hooks:
            try:
                hook()
            except GreenletExit:
                raise
            except BaseException:
                logger.exception("shutdown hook %r failed", hook)
        self._core.timers.stop()
        self._core.shared.runners.close()
        self._collector.thaw()


def _log_abandoned(names: list[str], timeout: float) -> None:
    """One line for all of them: ``a, b did not finish within ...; abandoned``."""
    shown = ", ".join(names[:_ABANDONED_NAMED])
    more = len(names) - _ABANDONED_NAMED
    logger.warning(
        "%s%s did not finish within runtime.shutdown_timeout (%g s); abandoned",
        shown, f" and {more} more" if more > 0 else "", timeout,
    )  # fmt: skip
