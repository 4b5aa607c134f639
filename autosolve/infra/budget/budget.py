"""One request budget for all of a daemon's GitHub traffic, shared by every actor.

A request waits here until it fits: a free slot under the concurrency cap and
room in the ledger's windows (points, content-creating requests). Waiting is
first come, first served, so a request that needs 5 points is not starved by
a stream of 1-point reads taking every point as it frees; the one exception
is a write held back by the *write* budget, which lets reads pass (they need
nothing it waits for) while writes keep their order behind it.

Each waiting request sleeps on a condition of its own; whoever changes what
fits (a release, an arrival, the first waiter's timer) hands out what now
fits, in order, and wakes only those concerned. So hundreds of waiters cost
no thundering herd.

The ledger is asked without holding the budget's lock, one question at a
time, and for every read waiting at the head of the queue at once: a
shared ledger is a round trip to the database, and asked under the lock
for one request after another it made every GitHub request of a daemon
queue behind the previous one's round trip (on PostgreSQL the initial sync
of 300 repositories took 12.8 s instead of 9.2 s with the ledger in
memory). Reads reserved together share one ledger entry, settled when the
last of them has its answer: counted a little longer, never shorter.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from autosolve.infra import clocks
from autosolve.infra.budget.ledger import Ledger, Reservation

__all__ = [
    "WRITE_POINTS",
    "BudgetClosedError",
    "BudgetExceededError",
    "BudgetStats",
    "Permit",
    "RequestBudget",
    "is_write",
    "points_of",
]

logger = logging.getLogger(__name__)

WRITE_POINTS = 5
"""What GitHub charges a POST, PATCH, PUT or DELETE against its points per minute."""

_READS = frozenset({"GET", "HEAD", "OPTIONS"})


def is_write(method: str) -> bool:
    """Whether a request of ``method`` counts as content-creating."""
    return method.upper() not in _READS


def points_of(method: str) -> int:
    """GitHub's price of a request: 1 point for a read, 5 for a write."""
    return WRITE_POINTS if is_write(method) else 1


class BudgetExceededError(Exception):
    """The request would wait longer than the caller allows; nothing was spent.

    ``wait`` is the seconds until it could fit: the ledger's word, or an
    estimate from the queue ahead of it.
    """

    def __init__(self, message: str, wait: float) -> None:
        super().__init__(message)
        self.wait = wait


class BudgetClosedError(Exception):
    """The budget was closed (the daemon stops): no request is sent any more."""


@dataclass(frozen=True)
class BudgetStats:
    """A snapshot for status and metrics."""

    waiting: int
    """Requests waiting for budget now."""
    in_flight: int
    """Requests holding a slot now."""
    requests_total: int
    """Requests granted since the start."""
    waits_total: int
    """Requests that had to wait."""
    wait_seconds_total: float
    """Seconds spent waiting, summed over requests."""
    points_total: int = 0
    """Points granted since the start (a read costs 1, a write :data:`WRITE_POINTS`)."""


class _Shared:
    """A ledger entry and how many granted requests still hold part of it."""

    __slots__ = ("entry", "holders")

    def __init__(self, entry: Any) -> None:
        self.entry = entry
        self.holders = 0


@dataclass(frozen=True)
class Permit:
    """One request's room in the budget, from :meth:`RequestBudget.acquire` until released."""

    waited: float
    """Seconds the request waited for it."""
    entry: Any = None
    """The ledger's record of the request (and of those reserved with it)."""


class _Ticket:
    __slots__ = (
        "blocked_on", "condition", "entry", "error", "give_up_at", "granted", "lead", "points",
        "retry_at", "write",
    )  # fmt: skip

    def __init__(
        self, method: str, give_up_at: float | None, condition: threading.Condition
    ) -> None:
        self.points = points_of(method)
        self.write = is_write(method)
        self.give_up_at = give_up_at
        """When this request stops waiting (None: never)."""
        self.condition = condition
        self.granted = False
        self.entry: Any = None
        self.error: Exception | None = None
        self.retry_at: float | None = None
        """When the ledger said this ticket would fit; it is not asked again before."""
        self.blocked_on: str | None = None
        """"writes" while only the write budget holds it back (reads may pass)."""
        self.lead = False
        """Handed the asking of the ledger by a thread that is done with it."""


class RequestBudget:
    """Waits each request until it fits the ledger and the concurrency cap.

    Args:
        ledger: the windows' bookkeeping (in memory, or shared by a cluster).
        concurrency: requests in flight at most.
        now: the budget's clock, monotonic: every wait is measured on it, and
            the times it gives the ledger come from it (a shared ledger may
            stamp its entries on a clock of its own instead). A wall clock
            would not do: stepped back an hour, it kept every request of the
            last minute in the window for an hour.
        on_wait: called from the waiting thread with True when a request
            starts waiting and False when it stops (e.g. to show it in the
            waiting child's status); its errors are logged, never raised.
    """

    def __init__(
        self,
        ledger: Ledger,
        concurrency: int,
        now: Callable[[], float] = clocks.monotonic,
        on_wait: Callable[[bool], None] | None = None,
    ) -> None:
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise ValueError(f"`concurrency` must be an integer of at least 1, got {concurrency!r}")
        self.ledger = ledger
        self.concurrency = concurrency
        self.on_wait = on_wait
        self._now = now
        self._lock = threading.Lock()
        self._queue: list[_Ticket] = []
        self._in_flight = 0
        self._closed = False
        self._requests = 0
        self._points = 0
        self._waits = 0
        self._wait_seconds = 0.0
        self._asking = False
        """A thread is asking the ledger (without the lock); it dispatches for everyone."""

    def __repr__(self) -> str:
        return f"RequestBudget({self.ledger!r}, concurrency={self.concurrency})"

    @contextmanager
    def spend(self, method: str, max_wait: float | None = None) -> Iterator[Permit]:
        """Hold budget for one request of ``method`` while the block runs (see :meth:`acquire`)."""
        permit = self.acquire(method, max_wait)
        try:
            yield permit
        finally:
            self.release(permit)

    def acquire(self, method: str, max_wait: float | None = None) -> Permit:
        """Wait until a request of ``method`` fits; the permit says how long it waited.

        Every permit must be given back with :meth:`release` once the answer
        has arrived (or the request failed).

        Args:
            method: the HTTP method (decides points and whether it is a write).
            max_wait: wait at most this long, and give up at once when the
                ledger says this request could not fit by then. A tick must not
                block for an hour on a spent hourly write budget, nor past the
                runtime's tick deadline behind a long queue: failing with the
                time to wait lets the runtime's backoff retry it later.

        Raises:
            BudgetExceededError: the request could not fit within ``max_wait``.
            BudgetClosedError: the budget is closed and the request does not fit now.
        """
        give_up_at = None if max_wait is None else self._now() + max_wait
        ticket = _Ticket(method, give_up_at, threading.Condition(self._lock))
        with self._lock:
            self._queue.append(ticket)
            self._dispatch(ticket)
            if ticket.granted:
                self._requests += 1
                return Permit(0.0, ticket.entry)
            if self._closed:
                if ticket in self._queue:
                    self._queue.remove(ticket)
                raise BudgetClosedError("the GitHub request budget is closed: stopping")
            if ticket.error is not None:
                raise ticket.error
        self._tell_waiting(True)
        try:
            with self._lock:
                return self._wait(ticket)
        finally:
            self._tell_waiting(False)

    def release(self, permit: Permit) -> None:
        """Give back the slot of a request whose answer has arrived (or that failed).

        The ledger then counts the request from now on: GitHub may have
        received it as late as this.
        """
        with self._lock:
            if self._in_flight < 1:
                raise RuntimeError("RequestBudget.release() without a matching acquire()")
            self._in_flight -= 1
            shared = permit.entry
            last = isinstance(shared, _Shared) and shared.holders == 1
            if isinstance(shared, _Shared):
                shared.holders -= 1
        if last:
            # Counted from the last answer of those reserved together: GitHub
            # counted each of them no later than that.
            self.ledger.settle(shared.entry, self._now())
        with self._lock:
            self._dispatch()

    def wake(self) -> None:
        """Look again at what fits now (after a manual clock moved, in tests)."""
        with self._lock:
            for ticket in self._queue:
                ticket.retry_at = None
            self._dispatch()
            for ticket in self._queue:
                ticket.condition.notify()  # to look at the clock again

    def close(self) -> None:
        """Stop waiting: fail every waiting request with :class:`BudgetClosedError`.

        From then on a request that fits at once still goes (the work a stop
        lets finish), and one that would have to wait fails at once.
        """
        with self._lock:
            self._closed = True
            for ticket in self._queue:
                ticket.error = BudgetClosedError("the GitHub request budget is closed: stopping")
                ticket.condition.notify()
            self._queue.clear()

    def stats(self) -> BudgetStats:
        """Waiting and spending so far, for status and metrics."""
        with self._lock:
            return BudgetStats(
                waiting=len(self._queue),
                in_flight=self._in_flight,
                requests_total=self._requests,
                waits_total=self._waits,
                wait_seconds_total=self._wait_seconds,
                points_total=self._points,
            )

    def _tell_waiting(self, waiting: bool) -> None:
        hook = self.on_wait
        if hook is None:
            return
        try:
            hook(waiting)
        except Exception:  # a display must never fail a request
            logger.exception("the request budget's on_wait hook failed")

    # -- under the lock ------------------------------------------------------

    def _wait(self, ticket: _Ticket) -> Permit:
        started = self._now()
        try:
            while not ticket.granted:
                if ticket.error is not None:
                    raise ticket.error
                if ticket.give_up_at is not None and self._now() >= ticket.give_up_at:
                    self._give_up(ticket, started)
                    continue
                if ticket.lead:
                    ticket.lead = False
                    self._dispatch(ticket)
                    continue
                ticket.condition.wait(self._timeout(ticket))
                if not ticket.granted and ticket.error is None and self._due(ticket):
                    self._dispatch(ticket)
        finally:
            if not ticket.granted and ticket in self._queue:
                self._queue.remove(ticket)
                self._dispatch()  # those behind it may go now
            waited = max(self._now() - started, 0.0)
            self._waits += 1
            self._wait_seconds += waited
        self._requests += 1
        return Permit(waited, ticket.entry)

    def _timeout(self, ticket: _Ticket) -> float | None:
        """Sleep until this ticket's own retry time or its end of patience.

        Past its retry time, a ticket still held waits behind an earlier one,
        and whoever moves that one on moves this one too.
        """
        now = self._now()
        ends = [ticket.give_up_at] if ticket.give_up_at is not None else []
        if ticket.retry_at is not None and now < ticket.retry_at:
            ends.append(ticket.retry_at)
        return max(min(ends) - now, 0.0) if ends else None

    def _give_up(self, ticket: _Ticket, started: float) -> None:
        """Fail a ticket that waited its fill; its wait hint grows with the queue ahead."""
        position = self._queue.index(ticket)
        ahead = sum(t.points for t in self._queue[: position + 1])
        limits = self.ledger.limits
        wait = max(ahead * limits.span / limits.points_per_minute, 1.0)
        self._queue.remove(ticket)
        ticket.error = BudgetExceededError(
            f"waited {self._now() - started:.0f}s for the GitHub request budget with "
            f"{position} requests ahead; about {wait:.0f}s until there is room",
            wait=wait,
        )
        self._dispatch()  # those behind it may go now

    def _due(self, ticket: _Ticket) -> bool:
        """True once a ticket's retry time has come (it then looks again itself)."""
        return ticket.retry_at is not None and self._now() >= ticket.retry_at

    def _dispatch(self, own: _Ticket | None = None) -> None:
        """Grant, in order, every waiting ticket that fits now; stop at the first that does not.

        A write held back by the write budget only holds back the writes
        behind it. The ledger is asked without the lock, by one thread at a
        time: others meanwhile queue, and it looks again once its answer is in.
        It asks for as long as its own request (``own``) waits; done with that,
        it hands the asking to the first waiter (see :meth:`_wait`) rather than
        serve everyone else's requests before going on with its own.
        """
        if self._asking:
            return
        asked = False
        while batch := self._next_batch():
            if asked and (own is None or own.granted or own.error is not None):
                batch[0].lead = True
                batch[0].condition.notify()
                return
            asked = True
            answer = self._ask(batch)
            if answer is None:
                continue
            if not answer.granted and len(batch) > 1:
                batch = batch[:1]  # the run does not fit: its first alone, for its own wait
                answer = self._ask(batch)
                if answer is None:
                    continue
            self._answer(batch, answer)

    def _next_batch(self) -> list[_Ticket]:
        """The tickets to ask the ledger for next (empty: nothing can go now).

        One write, or the run of reads from the first ticket that may go,
        as many as there are free slots and points.
        """
        now = self._now()
        writes_blocked = False
        for index, ticket in enumerate(self._queue):
            if ticket.write and writes_blocked:
                continue
            if self._in_flight >= self.concurrency:
                return []
            if ticket.retry_at is not None and now < ticket.retry_at:
                if ticket.blocked_on == "writes":
                    writes_blocked = True
                    continue
                return []
            if ticket.write:
                return [ticket]
            batch, points = [ticket], ticket.points
            room = min(self.concurrency - self._in_flight, self.ledger.limits.points_per_minute)
            for other in self._queue[index + 1 :]:
                if len(batch) >= room or other.write or other.retry_at is not None:
                    break
                if points + other.points > self.ledger.limits.points_per_minute:
                    break
                batch.append(other)
                points += other.points
            return batch
        return []

    def _ask(self, batch: list[_Ticket]) -> Reservation | None:
        """The ledger's answer for ``batch``, asked without the lock (None: it failed).

        A ledger that fails (a shared one's database is down) fails the
        requests asked for, not the caller that happened to ask.
        """
        points = sum(ticket.points for ticket in batch)
        self._asking = True
        self._lock.release()
        try:
            return self.ledger.reserve(points, batch[0].write, self._now())
        except Exception as error:
            failure = error
        finally:
            self._lock.acquire()
            self._asking = False
        for ticket in batch:
            if ticket in self._queue:
                self._queue.remove(ticket)
                ticket.error = failure
                ticket.condition.notify()
        return None

    def _answer(self, batch: list[_Ticket], answer: Reservation) -> None:
        """Grant ``batch`` (those still waiting), or hold or refuse its one ticket."""
        waiting = [ticket for ticket in batch if ticket in self._queue]
        if answer.granted:
            # Those gone meanwhile (closed, out of patience) leave their
            # points spent: counted, never lent twice.
            shared = _Shared(answer.entry)
            for ticket in waiting:
                ticket.entry = shared
                shared.holders += 1
                self._grant(ticket)
            return
        if not waiting:
            return
        (ticket,) = waiting
        now = self._now()
        if ticket.give_up_at is not None and now + answer.wait > ticket.give_up_at:
            self._refuse(ticket, answer)
        else:
            self._hold(ticket, answer, now)

    def _grant(self, ticket: _Ticket) -> None:
        self._queue.remove(ticket)
        ticket.granted = True
        self._in_flight += 1
        self._points += ticket.points
        ticket.condition.notify()

    def _refuse(self, ticket: _Ticket, answer: Reservation) -> None:
        self._queue.remove(ticket)
        what = "write budget" if answer.writes_wait > 0 else "points budget"
        ticket.error = BudgetExceededError(
            f"the GitHub {what} has no room for {answer.wait:.0f}s, "
            "longer than this request may wait",
            wait=answer.wait,
        )
        ticket.condition.notify()

    def _hold(self, ticket: _Ticket, answer: Reservation, now: float) -> None:
        ticket.retry_at = now + answer.wait
        ticket.blocked_on = "writes" if answer.writes_wait > 0 else "points"
        ticket.condition.notify()  # to sleep again with its new timeout
