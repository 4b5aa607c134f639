"""Messages between the supervisor, its children and the timer service.

Small slotted classes rather than dicts: a tick is the hot path.
"""

from __future__ import annotations

__all__ = ["ChildExited", "ChildFailed", "ChildSucceeded", "RestartDue", "RunNow", "Tick"]


class Tick:
    """Time for a periodic child's next run; stale once ``token`` is superseded."""

    __slots__ = ("token",)

    def __init__(self, token: int) -> None:
        self.token = token


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
