"""Messages between the supervisor, its children and its timers.

Small slotted classes rather than dicts. A tick needs no class of its own: the
timer loop tells a worker its own timer handle (see :class:`ChildBehaviour`).
Messages without fields are single instances, compared by identity.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from autosolve.runtime.slot import ChildSlot

__all__ = [
    "STOP_CHILD",
    "STOP_DEADLINE",
    "STOP_RUN",
    "SWEEP",
    "ChildExited",
    "ChildFailed",
    "ChildSucceeded",
    "ChildrenStopDeadline",
    "FirstTickDone",
    "RemovalDeadline",
    "RestartDue",
    "RunNow",
]


class RunNow:
    """Run a tick at once (control message), paused or not.

    ``epoch`` is the worker's pause count when the run-now was asked for: a
    pause that came after it cancels it.
    """

    __slots__ = ("epoch",)

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch


class _Signal:
    """A message without content; ``repr`` names it in pykka's logs."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<{self.name}>"


STOP_CHILD = _Signal("stop child")
"""Supervisor → child: finish the current message, then end."""
STOP_RUN = _Signal("stop run")
"""→ supervisor: begin a graceful stop of the whole run."""
STOP_DEADLINE = _Signal("stop deadline")
"""Real-time timer → supervisor: ``shutdown_timeout`` ran out; abandon who is left."""
SWEEP = _Signal("sweep")
"""Timer → supervisor: look for ticks past their deadline."""


class _FromChild:
    """A report about one slot's actor of one generation.

    It names the slot itself, not its name: a unit removed and added again
    under the same name is another slot, and reports from the old one's
    actor must not be mistaken for the new one's.
    """

    __slots__ = ("generation", "slot")

    def __init__(self, slot: ChildSlot, generation: int) -> None:
        self.slot = slot
        self.generation = generation

    @property
    def name(self) -> str:
        return self.slot.unit.name


class ChildSucceeded(_FromChild):
    __slots__ = ()


class ChildFailed(_FromChild):
    __slots__ = ("error",)

    def __init__(self, slot: ChildSlot, generation: int, error: BaseException) -> None:
        super().__init__(slot, generation)
        self.error = error


class ChildExited(_FromChild):
    """A child actor's loop ended, by whatever route; ``crash`` says why if it was no stop."""

    __slots__ = ("crash",)

    def __init__(
        self, slot: ChildSlot, generation: int, crash: BaseException | None = None
    ) -> None:
        super().__init__(slot, generation)
        self.crash = crash


class RestartDue(_FromChild):
    """A backoff delay ran out: start a fresh actor for the unit."""

    __slots__ = ()


class FirstTickDone(_FromChild):
    """A child of an added group finished its first tick: another may start (admission)."""

    __slots__ = ()


class RemovalDeadline:
    """Real-time timer → supervisor: removed children still running now are abandoned."""

    __slots__ = ("slots",)

    def __init__(self, slots: frozenset[ChildSlot]) -> None:
        self.slots = slots


class ChildrenStopDeadline:
    """Real-time timer → supervisor: children stopped by request that still run are abandoned.

    Each slot comes with the generation of the actor the stop asked to end:
    a fresh actor started since (the child was started again) is not late.
    """

    __slots__ = ("slots",)

    def __init__(self, slots: tuple[tuple[ChildSlot, int], ...]) -> None:
        self.slots = slots
