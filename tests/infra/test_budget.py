"""The request budget: concurrency, FIFO fairness, the write budget, measured waiting.

Time is a hand-moved clock; a test moves it and calls ``budget.wake()``
(what a real clock's timers do by themselves), so nothing waits out a window.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from autosolve.infra.budget import (
    BudgetClosedError,
    BudgetExceededError,
    BudgetLimits,
    MemoryLedger,
    Permit,
    RequestBudget,
    points_of,
)


class Clock:
    def __init__(self) -> None:
        self.value = 1_000.0

    def __call__(self) -> float:
        return self.value

    def advance(self, seconds: float) -> None:
        self.value += seconds


def eventually(predicate: Callable[[], object], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {predicate}"
        pause.wait(0.005)


class Caller:
    """A thread that acquires budget for one request and records the outcome."""

    def __init__(self, budget: RequestBudget, method: str, name: str, log: list[str], **kw):
        self.outcome: object = None
        self.done = threading.Event()

        def run() -> None:
            try:
                self.outcome = budget.acquire(method, **kw)
                log.append(name)
            except Exception as error:
                self.outcome = error
            finally:
                self.done.set()

        self.thread = threading.Thread(target=run, name=name, daemon=True)

    def start(self) -> Caller:
        self.thread.start()
        return self


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make(clock: Clock) -> Iterator[Callable[..., RequestBudget]]:
    budgets: list[RequestBudget] = []

    def make(concurrency: int = 100, **limits) -> RequestBudget:
        values = {
            "points_per_minute": 10,
            "writes_per_minute": 2,
            "writes_per_hour": 100,
            "window": 10.0,
            "margin": 0.0,
        }
        ledger = MemoryLedger(BudgetLimits(**{**values, **limits}))
        budget = RequestBudget(ledger, concurrency, now=clock)
        budgets.append(budget)
        return budget

    yield make
    for budget in budgets:
        budget.close()  # no test leaves a thread waiting


def waiting(budget: RequestBudget, n: int) -> Callable[[], bool]:
    return lambda: budget.stats().waiting == n


def test_requests_within_budget_go_at_once(make):
    budget = make()
    assert [budget.acquire("GET").waited for _ in range(5)] == [0.0] * 5
    assert budget.acquire("POST").waited == 0.0
    stats = budget.stats()
    assert (stats.in_flight, stats.requests_total, stats.waits_total, stats.waiting) == (6, 6, 0, 0)


def test_the_points_granted_are_counted_at_githubs_price(make):
    budget = make()
    methods = ["GET", "POST", "GET"]  # within the points and writes of one window
    for method in methods:
        budget.release(budget.acquire(method))
    assert budget.stats().points_total == sum(points_of(method) for method in methods)


def test_at_most_concurrency_requests_are_in_flight(make):
    budget, log = make(concurrency=2), []
    first = budget.acquire("GET")
    budget.acquire("GET")
    third = Caller(budget, "GET", "third", log).start()
    eventually(waiting(budget, 1))
    assert not third.done.wait(0.1)
    budget.release(first)
    assert third.done.wait(5) and log == ["third"]
    assert budget.stats().in_flight == 2


def test_a_request_waits_until_its_points_fit_the_window(make, clock):
    budget, log = make(), []
    for _ in range(10):
        budget.release(budget.acquire("GET"))
    late = Caller(budget, "GET", "late", log).start()
    eventually(waiting(budget, 1))
    clock.advance(9.9)
    budget.wake()
    assert not late.done.wait(0.1)
    clock.advance(0.1)
    budget.wake()
    assert late.done.wait(5)
    assert late.outcome.waited == pytest.approx(10.0)
    stats = budget.stats()
    assert (stats.waits_total, stats.wait_seconds_total) == (1, pytest.approx(10.0))


def test_the_first_waiters_timer_hands_out_points_without_being_woken():
    """With a real clock nobody calls wake(): the waiters' own timers move the queue."""
    limits = BudgetLimits(
        points_per_minute=2, writes_per_minute=1, writes_per_hour=10, window=0.2, margin=0.0
    )
    budget = RequestBudget(MemoryLedger(limits), concurrency=100)
    for _ in range(2):
        budget.acquire("GET")
    log: list[str] = []
    callers = [Caller(budget, "GET", f"c{i}", log).start() for i in range(4)]
    assert all(c.done.wait(10) for c in callers)
    assert sorted(log) == ["c0", "c1", "c2", "c3"]
    assert budget.stats().waits_total == 4


def test_a_write_waiting_for_points_is_not_starved_by_later_reads(make, clock):
    budget, log = make(points_per_minute=10), []
    for _ in range(3):
        budget.acquire("GET")
    clock.advance(5.0)
    for _ in range(5):
        budget.acquire("GET")
    post = Caller(budget, "POST", "post", log).start()  # needs 5 points, 2 are free
    eventually(waiting(budget, 1))
    reads = [Caller(budget, "GET", f"get{i}", log).start() for i in range(2)]
    eventually(waiting(budget, 3))
    assert not post.done.wait(0.1) and log == []  # the 2 free points wait for the POST
    clock.advance(5.0)  # the first 3 points expire: 5 free, all for the POST
    budget.wake()
    assert post.done.wait(5)
    assert not any(r.done.wait(0.1) for r in reads)
    clock.advance(5.0)
    budget.wake()
    assert all(r.done.wait(5) for r in reads)
    assert log[0] == "post"


def test_waiters_are_served_in_arrival_order(make, clock):
    budget, log = make(points_per_minute=10), []
    for _ in range(10):
        budget.acquire("GET")
    callers = []
    for i in range(30):
        callers.append(Caller(budget, "GET", f"c{i:02}", log).start())
        eventually(waiting(budget, i + 1))
    for window in range(3):
        clock.advance(10.0)
        budget.wake()
        eventually(lambda n=window: len(log) == 10 * (n + 1))
        assert sorted(log[10 * window :]) == [
            f"c{i:02}" for i in range(10 * window, 10 * window + 10)
        ]
    assert all(c.done.wait(5) for c in callers)


def test_a_write_held_back_by_the_write_budget_lets_reads_pass(make, clock):
    budget, log = make(points_per_minute=100, writes_per_minute=1), []
    budget.acquire("POST")
    second_post = Caller(budget, "POST", "post2", log).start()
    eventually(waiting(budget, 1))
    read = Caller(budget, "GET", "get", log).start()
    assert read.done.wait(5) and log == ["get"]
    third_post = Caller(budget, "PATCH", "post3", log).start()
    eventually(waiting(budget, 2))
    clock.advance(10.0)
    budget.wake()
    assert second_post.done.wait(5)
    assert not third_post.done.wait(0.1)  # one write per window: it stays behind post2
    clock.advance(10.0)
    budget.wake()
    assert third_post.done.wait(5)
    assert log == ["get", "post2", "post3"]


def test_a_request_that_would_wait_longer_than_allowed_fails_without_spending(make, clock):
    budget = make(points_per_minute=100, writes_per_minute=1, writes_per_hour=1)
    budget.acquire("POST")
    with pytest.raises(BudgetExceededError, match="write budget has no room for 600s") as info:
        budget.acquire("POST", max_wait=60.0)
    assert info.value.wait == 600.0
    assert budget.stats().waiting == 0
    assert budget.acquire("GET").waited == 0.0


def test_a_request_gives_up_after_max_wait_with_a_wait_that_grows_with_the_queue(make, clock):
    budget = make(concurrency=1, points_per_minute=10, window=10.0)
    budget.acquire("GET")
    callers = []
    for method, name, patience in [("GET", "a", None), ("POST", "b", None), ("GET", "c", 30.0)]:
        callers.append(Caller(budget, method, name, [], max_wait=patience).start())
        eventually(waiting(budget, len(callers)))
    clock.advance(29.0)
    budget.wake()
    assert not callers[2].done.wait(0.1)
    clock.advance(1.0)
    budget.wake()
    assert callers[2].done.wait(5)
    error = callers[2].outcome
    assert isinstance(error, BudgetExceededError)
    assert error.wait == 7.0  # 1 + 5 + 1 points queued, at 10 points per 10 s
    assert "waited 30s for the GitHub request budget with 2 requests ahead" in str(error)
    assert budget.stats().waiting == 2
    assert not callers[0].done.is_set()


def test_closing_fails_every_waiter_and_every_later_request_that_would_wait(make):
    budget = make(concurrency=1)
    held = budget.acquire("GET")
    callers = [Caller(budget, "GET", f"c{i}", []).start() for i in range(3)]
    eventually(waiting(budget, 3))
    budget.close()
    assert all(c.done.wait(5) for c in callers)
    assert all(isinstance(c.outcome, BudgetClosedError) for c in callers)
    with pytest.raises(BudgetClosedError, match="closed"):
        budget.acquire("GET")  # it would have to wait for the slot
    budget.release(held)
    assert budget.acquire("GET").waited == 0.0  # what fits at once still goes


def test_on_wait_is_told_when_a_request_starts_and_stops_waiting(clock):
    told: list[tuple[str, bool]] = []

    def on_wait(waiting: bool) -> None:
        told.append((threading.current_thread().name, waiting))

    limits = BudgetLimits(
        points_per_minute=10, writes_per_minute=2, writes_per_hour=100, window=10.0, margin=0.0
    )
    budget = RequestBudget(MemoryLedger(limits), 1, now=clock, on_wait=on_wait)
    held = budget.acquire("GET")
    assert told == []  # no wait, nothing to tell
    waiter = Caller(budget, "GET", "waiter", []).start()
    eventually(lambda: told == [("waiter", True)])
    budget.release(held)
    assert waiter.done.wait(5)
    assert told == [("waiter", True), ("waiter", False)]


def test_a_failing_on_wait_hook_never_fails_the_request(clock, caplog):
    def on_wait(waiting: bool) -> None:
        raise RuntimeError("display broken")

    limits = BudgetLimits(
        points_per_minute=10, writes_per_minute=2, writes_per_hour=100, window=10.0, margin=0.0
    )
    budget = RequestBudget(MemoryLedger(limits), 1, now=clock, on_wait=on_wait)
    held = budget.acquire("GET")
    waiter = Caller(budget, "GET", "waiter", []).start()
    eventually(waiting(budget, 1))
    budget.release(held)
    assert waiter.done.wait(5) and isinstance(waiter.outcome, Permit)
    assert "on_wait hook failed" in caplog.text


def test_spend_releases_the_slot_even_when_the_request_fails(make):
    budget = make(concurrency=1)
    with pytest.raises(OSError), budget.spend("GET"):
        raise OSError("connection reset")
    with budget.spend("GET") as permit:
        assert permit.waited == 0.0
    assert budget.stats().in_flight == 0


def test_a_request_counts_from_its_answer_on(make, clock):
    budget = make(points_per_minute=1, window=10.0)
    permit = budget.acquire("GET")
    clock.advance(5.0)  # a slow answer: GitHub may have counted it as late as now
    budget.release(permit)
    clock.advance(5.0)
    assert budget.ledger.reserve(1, False, clock()).points_wait == 5.0


def test_releasing_twice_is_a_bug_said_clearly(make):
    budget = make()
    permit = budget.acquire("GET")
    budget.release(permit)
    with pytest.raises(RuntimeError, match="without a matching acquire"):
        budget.release(permit)


class RecordingLedger(MemoryLedger):
    """Remembers every granted reservation, as the ledger saw it."""

    def __init__(self, limits: BudgetLimits) -> None:
        super().__init__(limits)
        self.granted: list[tuple[float, int, bool]] = []

    def reserve(self, points: int, write: bool, at: float):
        answer = super().reserve(points, write, at)
        if answer.granted:
            self.granted.append((at, points, write))
        return answer


def test_many_threads_never_exceed_the_windows_or_the_slots():
    """A real clock and 30 threads racing for a 0.25 s window."""
    limits = BudgetLimits(
        points_per_minute=40, writes_per_minute=3, writes_per_hour=100, window=0.25, margin=0.0
    )
    ledger = RecordingLedger(limits)
    budget = RequestBudget(ledger, concurrency=4)
    in_flight = [0, 0]  # now, peak
    lock = threading.Lock()

    def worker(i: int) -> None:
        for n in range(3):
            with budget.spend("POST" if (i + n) % 7 == 0 else "GET"):
                with lock:
                    in_flight[0] += 1
                    in_flight[1] = max(in_flight)
                with lock:
                    in_flight[0] -= 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    # Reads reserved together are one entry of as many points.
    assert sum(1 if write else points for _, points, write in ledger.granted) == 90
    assert in_flight[1] <= 4
    for start, _, _ in ledger.granted:
        window = [(p, w) for t, p, w in ledger.granted if start <= t < start + 0.25]
        assert sum(p for p, _ in window) <= 40
        assert sum(w for _, w in window) <= 3


class SlowLedger(RecordingLedger):
    """A ledger that answers only when let: a shared ledger's round trip, held open."""

    def __init__(self, limits: BudgetLimits) -> None:
        super().__init__(limits)
        self.calls = 0
        self.settled = 0
        self.asked = threading.Event()
        self.answer = threading.Event()

    def reserve(self, points: int, write: bool, at: float):
        self.calls += 1
        self.asked.set()
        self.answer.wait(10)
        return super().reserve(points, write, at)

    def settle(self, entry, at: float) -> None:
        self.settled += 1
        super().settle(entry, at)


def test_reads_that_queue_while_the_ledger_is_asked_are_asked_for_together():
    """One round trip for the reads waiting behind it, not one each under a held lock."""
    ledger = SlowLedger(
        BudgetLimits(points_per_minute=100, writes_per_minute=10, writes_per_hour=100, window=60.0)
    )
    budget = RequestBudget(ledger, concurrency=10)
    log: list[str] = []
    first = Caller(budget, "GET", "first", log).start()
    assert ledger.asked.wait(10)
    others = [Caller(budget, "GET", f"read-{i}", log).start() for i in range(5)]
    queued = threading.Event()

    def watch() -> None:
        with contextlib.suppress(AssertionError):
            eventually(waiting(budget, 6), timeout=5)
            queued.set()

    threading.Thread(target=watch, daemon=True).start()
    # The budget's lock is free while the ledger is asked: the others queue.
    queued.wait(5)
    ledger.answer.set()
    for caller in (first, *others):
        assert caller.done.wait(10)
        assert isinstance(caller.outcome, Permit)
    assert queued.is_set()
    assert ledger.calls == 2
    assert [points for _, points, _ in ledger.granted] == [1, 5]
    permits = [caller.outcome for caller in others]
    for permit in permits[:-1]:
        budget.release(permit)  # type: ignore[arg-type]
    assert ledger.settled == 0  # the five's entry stays put while one of them is out
    budget.release(permits[-1])  # type: ignore[arg-type]
    assert ledger.settled == 1
    budget.release(first.outcome)  # type: ignore[arg-type]
    assert ledger.settled == 2
    budget.close()
