"""The garbage collector kept off the children: their long-lived objects are frozen.

CPython's full collection traverses every object the collector tracks; a
million children hold some fifteen million, and a full pass over them stops
every tick for seconds (489 ms at 100,000). Objects that live as long as the
run need never be traversed: ``gc.freeze()`` moves them out of the
collector's generations. Freezing costs nothing (the generations are
spliced), so the runtime freezes whenever children started and their first
activation ran, and unfreezes at the run's end, so whatever the run left
behind is garbage as any other.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from autosolve.runtime.shared import RunShared
    from autosolve.runtime.supervisor.core import SupervisorCore

__all__ = ["CollectorFreezer", "freeze_alive"]


def freeze_alive(shared: RunShared) -> None:
    """Collect the young generations, then freeze what is alive (``shared``'s run thaws it).

    Young garbage goes first, so what is frozen is alive: a cycle frozen
    would stay until the run's end thaws it (``gc.unfreeze`` puts it back
    in the oldest generation). Costs the young generations, never a full pass.
    """
    gc.collect(1)
    gc.freeze()
    shared.collector_frozen = True


FREEZE_EVERY = 10_000
"""Children started between two freezes within one burst of starts (a start of a
million children would otherwise run ever longer full collections)."""


@dataclass(eq=False)
class CollectorFreezer:
    """Freezes the objects alive once children started (``SupervisorOptions.freeze_collector``).

    What is frozen is alive (see :func:`freeze_alive`). A freeze follows
    each :data:`FREEZE_EVERY` starts, and the first sweep of the watchdog
    after starts once no activation waits for a runner: the children started
    have run ``on_start`` and their first tick, and what those made is
    frozen too.
    """

    _core: SupervisorCore
    _burst: int = field(default=0, init=False)
    """Children started since the last freeze."""
    _unsettled: bool = field(default=False, init=False)
    """Children started since the last sweep's freeze: what their first activation
    makes (their context, their first tick) is not frozen yet."""

    def started(self) -> None:
        """A child's actor started."""
        self._unsettled = True
        self._burst += 1
        if self._burst >= FREEZE_EVERY:
            self._freeze()

    def sweep(self) -> None:
        """Freeze what children started since the last sweep made, once they ran."""
        if self._unsettled and not self._core.shared.runners.queued():
            self._unsettled = False
            self._freeze()

    def thaw(self) -> None:
        """The run is over: what it froze is the collector's again."""
        shared = self._core.shared
        if shared.collector_frozen:
            shared.collector_frozen = False
            gc.unfreeze()

    def _freeze(self) -> None:
        self._burst = 0
        if self._core.options.freeze_collector:
            freeze_alive(self._core.shared)
