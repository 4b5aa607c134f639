"""Failures the runtime detects itself, and the wrapper that keeps pykka from stopping all."""

from __future__ import annotations

__all__ = ["ActorDied", "Escaped", "TickHung", "TickOverdue"]


class TickOverdue(Exception):
    """A tick ran past its deadline; it was cancelled, then returned."""

    def __init__(self, name: str, running_for: float) -> None:
        super().__init__(
            f"{name}: tick ran past its deadline and was cancelled (returned after "
            f"{running_for:.3g} s)"
        )
        self.running_for = running_for


class TickHung(Exception):
    """A tick ignored its cancellation for ``shutdown_timeout`` after its deadline."""

    def __init__(self, name: str, running_for: float, deadline: float) -> None:
        super().__init__(
            f"{name}: tick hung: still running after {running_for:g} s "
            f"(deadline {deadline:g} s, cancelled and not returning); actor abandoned"
        )
        self.running_for = running_for


class ActorDied(Exception):
    """A child's actor ended without reporting a result (a bug, or a kill from outside)."""


class Escaped(Exception):
    """A ``BaseException`` that reached an actor's message handling, carried as an ``Exception``.

    pykka answers a ``BaseException`` in any actor with
    ``ActorRegistry.stop_all()``: every actor in the process, the embedding
    application's too. Wrapped, it is only the failure of the actor it
    happened in.
    """

    def __init__(self, error: BaseException) -> None:
        super().__init__(f"{type(error).__name__}: {error}")
        self.error = error
