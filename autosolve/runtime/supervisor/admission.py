"""Children of added groups start a few at a time."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from autosolve.runtime.events import EventKind
from autosolve.runtime.status import Phase

if TYPE_CHECKING:
    from autosolve.runtime.slot import ChildSlot
    from autosolve.runtime.supervisor.core import SupervisorCore
    from autosolve.runtime.supervisor.launcher import Launcher

__all__ = ["Admission"]


@dataclass(eq=False)
class Admission:
    """Starts waiting children while fewer than ``add_concurrency`` are starting.

    Thousands of children added at once would all run their first tick
    together: on threads the ones already running would then wait their turn
    for the interpreter, on greenlets for the hub. A few at a time, each next
    one as soon as one is through its first tick, keeps both the process and
    the services it calls at an even load. Once every child admitted so far
    started, a ``settled`` event says how many did.
    """

    _core: SupervisorCore
    _launcher: Launcher
    _queue: deque[ChildSlot] = field(default_factory=deque, init=False)
    """Children of added groups waiting for their turn to start."""
    _starting: set[ChildSlot] = field(default_factory=set, init=False)
    """Children started and not through their first tick yet."""
    _started_count: int = field(default=0, init=False)

    def admit(self, slots: Sequence[ChildSlot]) -> None:
        """Start ``slots`` (of an added group) as :meth:`admit_more` lets them."""
        self._queue.extend(slots)
        self.admit_more()

    def admit_more(self) -> None:
        core = self._core
        limit = core.options.add_concurrency
        while self._queue and core.phase.running:
            if 0 < limit <= len(self._starting):
                return
            slot = self._queue.popleft()
            if slot.gone or slot.stopped or slot.generation > 0 or slot.group.phase is Phase.FAILED:
                continue
            slot.admitting = True
            self._starting.add(slot)
            self._launcher.spawn(slot)
            if not slot.live and slot.generation > 0:  # it could not start: no first tick
                self.admitted(slot)
            core.backend.cooperate()

    def admitted(self, slot: ChildSlot) -> None:
        """``slot`` is through its start (or gone, or stopped): let the next one in."""
        if slot not in self._starting:
            return
        self._starting.discard(slot)
        slot.admitting = False
        self._started_count += 1
        self.admit_more()
        if not (self._starting or self._queue) and self._started_count:
            started, self._started_count = self._started_count, 0
            self._core.emit(EventKind.SETTLED, detail=started)

    def clear(self) -> None:
        """The run is stopping: nobody waiting starts any more."""
        self._queue.clear()
