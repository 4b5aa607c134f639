"""A pykka actor for gevent, which pykka 4 no longer ships.

Like pykka's own ``_threading.py`` it fills exactly the three extension points
of :class:`pykka.Actor`: an inbox that parks its reader on the gevent hub, a
future on a gevent ``AsyncResult``, and the actor loop in a greenlet. Every
wait here parks the calling greenlet and lets the hub run the others, so the
runtime can live inside a gevent service, monkey-patched or not, without
blocking its loop; timeouts are hub timers, never threads. The runtime's
children are :class:`HibernatingGeventActor` instead: the same future, and no
greenlet of their own while they have nothing to do (``hibernation.py``).

Gevent primitives belong to the hub of the thread that created them: start
and steer a gevent runtime from greenlets of one thread (in a monkey-patched
process every "thread" is such a greenlet).
"""

from __future__ import annotations

import queue
import sys
from collections import deque
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

import gevent
import gevent.event
import greenlet
import pykka

from autosolve.runtime.backends.hibernation import HibernatingActor

if TYPE_CHECKING:
    from autosolve.runtime.pykka_internals import GetHookFunc, OptExcInfo

__all__ = ["Abandoned", "GeventActor", "GeventFuture", "GeventInbox", "HibernatingGeventActor"]

T = TypeVar("T")


class _Result(NamedTuple):
    value: Any = None
    exc_info: OptExcInfo | None = None


_HOOKED = _Result()
"""Set on a future once its value comes from a get hook: wakes parked readers."""


class GeventFuture(pykka.Future[T]):
    """A :class:`pykka.Future` that parks the waiting greenlet, not its thread.

    Semantics follow :class:`pykka.ThreadingFuture`: one value or exception,
    ``queue.Full`` on a second set or a set after :meth:`set_get_hook`, and
    :class:`pykka.Timeout` when ``get`` times out. The exception is re-raised
    with its original traceback (gevent's own ``set_exception`` would keep a
    pickled copy of it instead).
    """

    def __init__(self) -> None:
        super().__init__()
        self._async_result: gevent.event.AsyncResult[_Result] = gevent.event.AsyncResult()
        """Holds a :class:`_Result` once set; waiting on it yields to the hub."""

    def get(self, *, timeout: float | None = None) -> Any:
        try:
            return super().get(timeout=timeout)
        except NotImplementedError:
            pass
        try:
            result = self._async_result.get(timeout=timeout)
        except gevent.Timeout:
            raise pykka.Timeout(f"{timeout} seconds") from None
        assert result is not None  # only _Result values are ever set
        if result is _HOOKED:
            return super().get(timeout=timeout)
        if result.exc_info is not None:
            exc_type, exc_value, exc_traceback = result.exc_info
            assert exc_type is not None
            if exc_value is None:
                exc_value = exc_type()
            if exc_value.__traceback__ is not exc_traceback:
                raise exc_value.with_traceback(exc_traceback)
            raise exc_value
        return result.value

    def set(self, value: Any | None = None) -> None:
        self._settle(_Result(value=value))

    def set_exception(self, exc_info: OptExcInfo | None = None) -> None:
        assert exc_info is None or len(exc_info) == 3
        self._settle(_Result(exc_info=exc_info or sys.exc_info()))

    def set_get_hook(self, func: GetHookFunc[T]) -> None:
        if self._async_result.ready():
            raise queue.Full
        super().set_get_hook(func)
        self._async_result.set(_HOOKED)

    def _settle(self, result: _Result) -> None:
        if self._async_result.ready() or self._get_hook is not None:
            raise queue.Full
        self._async_result.set(result)


class GeventInbox:
    """An unbounded FIFO whose one reader, the actor's greenlet, parks on the hub.

    Not ``gevent.queue.Queue``: that queue allocates a waiter on every
    blocking get and keeps its last wake-up callback, so each idle actor
    holds a few fresh objects that live a whole interval. At 20,000 actors
    those survivors made young-generation collections take 5-15 ms and a
    full one 200 ms (see BENCHMARKS.md). An inbox needs none of the queue's
    bounds, putters, peeks or timeouts; what is left is a deque and a parked
    greenlet, woken by a hub callback exactly as gevent's queue wakes it.
    """

    __slots__ = ("_hub", "_items", "_reader")

    def __init__(self) -> None:
        self._items: deque[Any] = deque()
        self._reader: greenlet.greenlet | None = None
        self._hub = gevent.get_hub()

    def put(self, item: Any) -> None:
        self._items.append(item)
        reader = self._reader
        if reader is not None:
            self._reader = None
            self._hub.loop.run_callback(reader.switch)

    def get(self) -> Any:
        items = self._items
        while not items:
            self._reader = greenlet.getcurrent()
            self._hub.switch()
        return items.popleft()

    def empty(self) -> bool:
        return not self._items


class GeventActor(pykka.Actor):
    """A :class:`pykka.Actor` whose loop is a greenlet: the supervisor's, on the gevent backend.

    It holds a greenlet for its whole life (no OS thread, and only the slice
    of stack it used); the children hibernate instead, and hold none while
    idle (:class:`HibernatingGeventActor`).
    """

    @staticmethod
    def _create_actor_inbox() -> GeventInbox:
        return GeventInbox()

    @staticmethod
    def _create_future() -> pykka.Future[Any]:
        return GeventFuture()

    def _start_actor_loop(self) -> None:
        # A raw greenlet, not a ``gevent.Greenlet``: nobody joins or links an
        # actor's loop (pykka signals its end through ``actor_stopped``), and
        # the raw one skips recording the spawning stack, which at tens of
        # thousands of actors costs more than the rest of starting one.
        gevent.spawn_raw(self._actor_loop)


class HibernatingGeventActor(HibernatingActor):
    """A :class:`HibernatingActor` on greenlets: what a gevent run's children are built on."""

    @staticmethod
    def _create_future() -> pykka.Future[Any]:
        return GeventFuture()


class Abandoned(greenlet.GreenletExit):
    """Thrown into the greenlet of an actor the runtime gave up on (a hung tick)."""
