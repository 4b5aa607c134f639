"""Hibernation: actors that give up their thread or greenlet while they have nothing to do.

An Erlang process that calls ``hibernate`` drops its stack and keeps only its
state until the next message. A :class:`HibernatingActor` does the same on
pykka: its loop (one *activation*) handles the messages in its inbox and
*returns* when the inbox is empty, instead of waiting on it; the next message
put into the :class:`HibernatingInbox` hands the actor to a pool of
:class:`Runners` (a few reusable greenlets or threads), one of which runs
the next activation. An idle actor so holds no greenlet, no saved stack slice
and no thread: only its own objects.

From the outside it is any pykka actor: ``tell``, ``ask``, proxies and
``stop`` reach it through its ref as ever, messages are handled one at a
time and in order (an inbox is in the pool's queue at most once and run by
one runner at a time), and ``on_start``/``on_stop``/``on_failure`` run as
pykka runs them. The backends provide the runners (``backends/gevent.py``,
``backends/threading.py``); what is shared is here.
"""

from __future__ import annotations

import contextvars
import logging
import sys
from collections import deque
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

import pykka

if TYPE_CHECKING:
    from autosolve.runtime.locks import Lock
    from autosolve.runtime.pykka_internals import Envelope

__all__ = ["HibernatingActor", "HibernatingInbox", "RunnerPool", "Runners"]

logger = logging.getLogger("autosolve.runtime")

_HIBERNATING, _QUEUED, _ACTIVE, _ENDED = range(4)
"""An inbox's states: no runner and nothing to do; waiting in the pool's queue; being
run; its actor ended (nothing it is sent is handled any more)."""


class Runners(Protocol):
    """A pool of runners that run the activations of hibernating actors.

    A runner takes an inbox from the pool's queue and calls
    :meth:`HibernatingInbox.run`, then the next; the pool makes sure a queued
    inbox is taken even while every busy runner waits inside the work it runs.
    """

    @property
    def lock(self) -> Lock | None:
        """Guards every inbox's state and items together (a put against a hibernation);
        None where runners cannot run at the same time (greenlets)."""
        ...

    def submit(self, inbox: HibernatingInbox) -> None:
        """Queue ``inbox`` for a runner (called with :attr:`lock` held, never blocks)."""
        ...

    def close(self) -> None:
        """The run is over: idle runners end, busy ones when they are through."""
        ...

    def queued(self) -> int:
        """Inboxes waiting for a runner."""
        ...

    def busy(self) -> int:
        """Runners not parked: running an activation, or on their way to the queue."""
        ...


_Parked = TypeVar("_Parked")


class RunnerPool(Generic[_Parked]):
    """What both backends' :class:`Runners` share: the queue, and who runs it.

    A runner takes inboxes from :attr:`_queue` one after the other; taking
    one while others wait, it calls another runner (:meth:`_call`: a parked
    one woken, or a new one started) unless one is on its way already, so an
    activation that blocks never holds up the queue. What a parked runner
    waits on (:attr:`_idle`) and how a runner is started are the backend's.
    """

    __slots__ = ("_alive", "_called", "_closed", "_idle", "_queue")

    def __init__(self) -> None:
        self._queue: deque[HibernatingInbox] = deque()
        self._idle: list[_Parked] = []
        """What wakes each parked runner."""
        self._called = False
        """A runner was woken or started and has not begun to take from the queue yet."""
        self._closed = False
        self._alive = 0
        """Runners started and not ended."""

    def submit(self, inbox: HibernatingInbox) -> None:
        self._queue.append(inbox)
        if not self._called:
            self._call()

    def queued(self) -> int:
        return len(self._queue)

    def busy(self) -> int:
        return self._alive - len(self._idle)

    def _call(self) -> None:
        """Wake a parked runner or start one."""
        raise NotImplementedError


class HibernatingInbox:
    """A pykka inbox that wakes its hibernating actor by handing it to the runners.

    Items live in a list only while there are any: a hibernating inbox
    holds nothing but its actor (nearly every inbox of a large run is empty
    nearly all the time). A list, not a deque: a deque costs ~600 bytes and
    a quarter of a microsecond to make, once per tick; an inbox holds one or
    two items (a tick, a control message), so taking the first is no cost.
    """

    __slots__ = ("_items", "_lock", "_runners", "_state", "actor", "runner")

    def __init__(self, runners: Runners) -> None:
        self._items: list[Envelope[Any]] | None = None
        self._runners = runners
        self._lock = runners.lock
        self._state = _ACTIVE  # until it is started: what it is sent waits
        self.actor: HibernatingActor | None = None
        """The actor it wakes; dropped when the actor ended, so nothing keeps it alive."""
        self.runner: Any = None
        """The thread or greenlet running the actor now (None while it hibernates)."""

    # -- pykka's ActorInbox ------------------------------------------------------

    def put(self, item: Envelope[Any]) -> None:
        # On every tick: the lock is taken by calls, and only where there is one.
        lock = self._lock
        if lock is not None:
            lock.acquire()
        try:
            state = self._state
            if state != _ENDED:
                items = self._items
                if items is None:
                    self._items = [item]
                else:
                    items.append(item)
                if state == _HIBERNATING:
                    self._state = _QUEUED
                    self._runners.submit(self)
        finally:
            if lock is not None:
                lock.release()
        if state == _ENDED and item.reply_to is not None:
            # What pykka's teardown answers to what it finds left in an inbox.
            error = pykka.ActorDeadError("the actor stopped before handling the message")
            item.reply_to.set_exception((pykka.ActorDeadError, error, None))

    def get(self) -> Envelope[Any]:
        """The next item; only its actor's activation calls this, and only when there is one."""
        items = self._items
        assert items, "an activation takes only what is there"
        return items.pop(0)

    def empty(self) -> bool:
        return not self._items

    # -- hibernation -------------------------------------------------------------

    def start(self, actor: HibernatingActor) -> None:
        """Queue ``actor``'s first activation (its ``on_start``)."""
        self.actor = actor
        lock = self._lock
        if lock is not None:
            lock.acquire()
        try:
            self._state = _QUEUED
            self._runners.submit(self)
        finally:
            if lock is not None:
                lock.release()

    def take(self) -> Envelope[Any] | None:
        """The next item, or None after hibernating: the actor's next put wakes it again."""
        lock = self._lock
        if lock is not None:
            lock.acquire()
        try:
            items = self._items
            if items:
                return items.pop(0)
            self._items = None
            self._state = _HIBERNATING
            return None
        finally:
            if lock is not None:
                lock.release()

    def end_if_hibernating(self) -> bool:
        """End here and now if the actor hibernates (nothing waiting, no runner); True if so.

        From then on the inbox is as one whose actor ended: what is put is refused.
        """
        lock = self._lock
        if lock is not None:
            lock.acquire()
        try:
            if self._state != _HIBERNATING or self._items:
                return False
            self._state, self.actor = _ENDED, None
            return True
        finally:
            if lock is not None:
                lock.release()

    def run(self, runner: Any) -> None:
        """One activation of the actor, by ``runner`` (what the pool's runners call)."""
        actor = self.actor
        if actor is None:
            return  # ended while it waited in the queue
        self._state, self.runner = _ACTIVE, runner
        try:
            actor.actor_context.run(actor._actor_loop)
        finally:
            self.runner = None

    def end(self) -> None:
        """The actor ended: forget it (breaking the cycle actor ↔ inbox) and its items."""
        self._state, self.actor = _ENDED, None


class HibernatingActor(pykka.Actor):
    """A pykka actor without a thread or greenlet of its own: see the module's docstring.

    Its class is made per pool of runners (see the backends' ``child_actor_class``),
    which it is started on.
    """

    runners: Runners
    """The pool its activations run on (set on the subclass a run makes)."""

    actor_inbox: HibernatingInbox

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.actor_context = contextvars.Context()
        """What its activations run in, as in a thread or greenlet of its own: the
        context variables it sets stay its own, whichever runner runs it."""
        self._fresh = True
        """No activation ran yet: the first runs ``on_start``."""

    @classmethod
    def _create_actor_inbox(cls) -> HibernatingInbox:
        # pykka calls it on the instance (self._create_actor_inbox()): a class
        # method works as its static one does, and reaches the class's pool.
        return HibernatingInbox(cls.runners)

    @staticmethod
    def _create_future() -> pykka.Future[Any]:
        raise NotImplementedError  # the backend's subclass provides its future

    def _start_actor_loop(self) -> None:
        self.actor_inbox.start(self)

    def _actor_loop(self) -> None:
        """One activation (run in :attr:`actor_context` by the inbox): ``on_start`` the
        first time, then the messages until none is left.

        pykka's ``_actor_loop_running``, but it returns when the inbox is
        empty instead of waiting: the actor hibernates. When it ended
        (``actor_stopped`` set, as pykka's loop would have set it) the
        teardown runs and :meth:`_actor_ended` is told. Whatever escapes the
        messages' handling ends the actor too (its crash); a ``BaseException``
        (the runner killed) is raised on, once the actor is ended.
        """
        stopped = self.actor_stopped
        try:
            if self._fresh:
                self._fresh = False
                self._actor_loop_setup()
            inbox = self.actor_inbox
            while not stopped.is_set():
                envelope = inbox.take()
                if envelope is None:
                    return  # hibernating
                self._handle_envelope(envelope)
        except Exception as error:
            self._actor_end(error)
            return
        except BaseException as error:
            self._actor_end(error)
            raise
        self._actor_end(None)

    def stop_if_hibernating(self) -> bool:
        """Stop now, in the caller's thread or greenlet, if the actor hibernates.

        What a stop message would do (``on_stop``, in the actor's own context),
        without waiting for a runner to take it; True if the actor is stopped.
        Its end is not told through :meth:`_actor_ended`: the caller knows it.
        A stop of a million idle children so costs no activation and no report.
        """
        if not self.actor_inbox.end_if_hibernating():
            return False
        self.actor_context.run(self._stop)
        return True

    def _actor_end(self, crash: BaseException | None) -> None:
        """The actor ended (``crash`` ended it, or a stop): its teardown, then
        :meth:`_actor_ended`."""
        self.actor_stopped.set()
        self.actor_inbox.end()
        self._actor_loop_teardown()
        self._actor_ended(crash)

    def _actor_ended(self, crash: BaseException | None) -> None:
        """The actor ended (its teardown ran): ``crash`` is what ended it, if not a stop.

        pykka's loop has no such hook: a thread or greenlet simply ends. Here
        the runner goes on with other actors, so whoever must know of the end
        (a supervisor) learns it here.
        """
        if crash is not None:
            logger.error("%s ended by %r", self, crash, exc_info=crash)

    def _handle_envelope(self, envelope: Envelope[Any]) -> None:
        """One message, handled exactly as the body of pykka's ``_actor_loop_running``."""
        try:
            response = self._handle_receive(envelope.message)
            if envelope.reply_to is not None:
                envelope.reply_to.set(response)
        except Exception:
            if envelope.reply_to is not None:
                envelope.reply_to.set_exception()
            else:
                self._handle_failure(*sys.exc_info())
                try:
                    self.on_failure(*sys.exc_info())
                except Exception:
                    self._handle_failure(*sys.exc_info())
        except BaseException:
            self._stop()
            pykka.ActorRegistry.stop_all()
