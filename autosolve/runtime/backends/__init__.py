"""Execution backends: where actors, timers and waits live.

A backend is a handful of factories. The supervisor, children and timer
service are written once against them, so the same runtime runs on OS
threads (:mod:`.threading`) or on greenlets (:mod:`.gevent`).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import pykka

    from autosolve.runtime.context import Event

__all__ = ["Backend", "Wakeup", "get_backend"]


class Wakeup(Protocol):
    """A lock plus a wait that :meth:`notify` interrupts (a condition variable)."""

    lock: Any

    def wait(self, timeout: float | None) -> None:
        """Wait with :attr:`lock` held until notified or ``timeout`` passes."""
        ...

    def notify(self) -> None: ...


class Backend(Protocol):
    name: str
    actor_class: type[pykka.Actor]

    def make_event(self) -> Event: ...
    def make_wakeup(self) -> Wakeup: ...
    def make_lock(self) -> AbstractContextManager[object]:
        """A lock for counters that actors of this backend update in parallel."""
        ...

    def spawn_loop(self, target: Callable[[], None], name: str) -> None: ...
    def cooperate(self) -> None:
        """Let other actors run before going on (a no-op where they run anyway).

        Loops over thousands of children call this between iterations, so on
        greenlets a long loop neither blocks the hub nor starves the others.
        """
        ...


def get_backend(name: str) -> Backend:
    """Return the backend called ``name`` (``"threading"`` or ``"gevent"``)."""
    if name == "threading":
        from autosolve.runtime.backends.threading import ThreadingBackend

        return ThreadingBackend()
    if name == "gevent":
        from autosolve.runtime.backends.gevent import GeventBackend

        return GeventBackend()
    raise ValueError(f"unknown runtime backend {name!r}: expected 'threading' or 'gevent'")
