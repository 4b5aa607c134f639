"""Messages between the supervisor, its children and its timers.

Small slotted classes rather than dicts. A tick needs no class of its own: the
timer loop tells a worker its own timer handle (see :class:`ChildBehaviour`).
Messages without fields are single instances, compared by identity.
"""

from __future__ import annotations

__all__ = [
    "STOP_CHILD",
    "STOP_DEADLINE",
    "STOP_RUN",
    "SWEEP",
    "ChildExited",
    "ChildFailed",
    "ChildSucceeded",
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


class ChildSucceeded:
    __slots__ = ("generation", "name")

    def __init__(self, name: str, generation: int) -> None:
        self.name = name
        self.generation = generation


class ChildFailed:
    __slots__ = ("error", "generation", "name")

    def __init__(self, name: str, generation: int, error: BaseException) -> None:
        self.name = name
        self.generation = generation
        self.error = error


class ChildExited:
    """A child actor's loop ended, by whatever route; ``crash`` says why if it was no stop."""

    __slots__ = ("crash", "generation", "name")

    def __init__(self, name: str, generation: int, crash: BaseException | None = None) -> None:
        self.name = name
        self.generation = generation
        self.crash = crash


class RestartDue:
    """A backoff delay ran out: start a fresh actor for the unit."""

    __slots__ = ("generation", "name")

    def __init__(self, name: str, generation: int) -> None:
        self.name = name
        self.generation = generation
