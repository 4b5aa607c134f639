"""Execution backends: where actors, timers and waits live.

A backend is a handful of factories (:class:`ExecutionBackend`). The
supervisor, children and timer service are written once against them, so the
same runtime runs on OS threads (:mod:`.threading`) or on greenlets
(:mod:`.gevent`); :class:`Backend` names the two.
"""

from __future__ import annotations

from autosolve.runtime.backends.base import Cancellable, ExecutionBackend, Wakeup
from autosolve.runtime.backends.names import Backend

__all__ = ["Backend", "Cancellable", "ExecutionBackend", "Wakeup", "get_backend"]


def get_backend(name: str) -> ExecutionBackend:
    """Return the backend called ``name`` (a :class:`Backend`, or its value).

    Raises:
        ValueError: no backend has that name.
    """
    if name == Backend.THREADING:
        from autosolve.runtime.backends.threading import ThreadingBackend

        return ThreadingBackend()
    if name == Backend.GEVENT:
        from autosolve.runtime.backends.gevent import GeventBackend

        return GeventBackend()
    expected = " or ".join(repr(str(backend)) for backend in Backend)
    raise ValueError(f"unknown runtime backend {name!r}: expected {expected}")
