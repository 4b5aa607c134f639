"""The supervisor's seat for one unit, outliving the actors that fill it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from autosolve.runtime.context import WorkContext
from autosolve.runtime.status import ChildRecord

if TYPE_CHECKING:
    import pykka

    from autosolve.runtime.timers import TimerHandle
    from autosolve.runtime.units import Unit

__all__ = ["ChildSlot"]


class ChildSlot:
    """A unit, its record, and the actor currently running it (if any).

    ``generation`` grows with every fresh actor; reports from an older
    generation are stale and ignored.
    """

    __slots__ = (
        "context", "generation", "paused", "record", "ref", "replace_on_exit",
        "restart_timer", "run_now_pending", "unit",
    )  # fmt: skip

    def __init__(self, unit: Unit) -> None:
        self.unit = unit
        self.record = ChildRecord(unit.name, unit.kind, unit.interval)
        self.generation = 0
        self.context: WorkContext | None = None
        self.ref: pykka.ActorRef[Any] | None = None
        self.paused = False
        self.run_now_pending = False
        self.restart_timer: TimerHandle | None = None
        self.replace_on_exit = False
        """Set by a manual restart: start the fresh actor once the old one exited."""

    @property
    def alive(self) -> bool:
        return self.ref is not None and self.ref.is_alive()
