"""Messages between the supervisor and its children.

Small slotted classes rather than dicts. A tick needs no class of its own: the
timer loop tells a worker its own timer handle (see :class:`ChildBehaviour`).
"""

from __future__ import annotations

__all__ = ["ChildExited", "ChildFailed", "ChildSucceeded", "RestartDue", "RunNow"]


class RunNow:
    """Run a tick at once (control message)."""

    __slots__ = ()


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
    """A child actor's loop ended (after a stop, a failure or a success)."""

    __slots__ = ("generation", "name")

    def __init__(self, name: str, generation: int) -> None:
        self.name = name
        self.generation = generation


class RestartDue:
    """A backoff delay ran out: start a fresh actor for the unit."""

    __slots__ = ("generation", "name")

    def __init__(self, name: str, generation: int) -> None:
        self.name = name
        self.generation = generation
