"""Interval workers: fixed rate, no overlap, missed ticks skipped."""

from __future__ import annotations

from autosolve.runtime import Unit
from tests.runtime.harness import Harness

NAME = "worker:ticker"


class Recorder:
    """A work function that records when each tick was due and when it ran."""

    def __init__(self, harness: Harness) -> None:
        self.harness = harness
        self.ticks: list[tuple[float, float]] = []
        self.running = 0
        self.max_running = 0

    def __call__(self, ctx) -> None:
        self.running += 1
        self.max_running = max(self.max_running, self.running)
        try:
            self.ticks.append((ctx.scheduled_at, self.harness.clock.monotonic()))
        finally:
            self.running -= 1
            self.harness.poke()

    def wait_ticks(self, count: int) -> None:
        self.harness.wait_for(lambda: len(self.ticks) >= count, what=f"{count} ticks")


def test_a_worker_runs_at_once_and_then_every_interval(harness: Harness) -> None:
    work = Recorder(harness)
    harness.start(workers=[Unit(NAME, work, 10.0)])
    work.wait_ticks(1)
    start = work.ticks[0][0]
    for k in range(1, 4):
        harness.advance(10.0)
        work.wait_ticks(k + 1)
    assert [due - start for due, _ in work.ticks] == [0.0, 10.0, 20.0, 30.0]
    assert harness.child(NAME)["runs"] == 4


def test_no_tick_runs_before_it_is_due(harness: Harness) -> None:
    work = Recorder(harness)
    harness.start(workers=[Unit(NAME, work, 10.0)])
    work.wait_ticks(1)
    harness.advance(9.999)
    harness.handle.status()  # the child handled whatever the timer sent
    assert len(work.ticks) == 1
    assert harness.child(NAME)["state"] == "idle"


def test_a_tick_that_overruns_skips_the_missed_ticks_instead_of_bursting(
    harness: Harness,
) -> None:
    ticks: list[float] = []

    def slow_once(ctx):
        ticks.append(ctx.scheduled_at)
        if len(ticks) == 1:
            harness.clock.advance(35.0)  # this run took three and a half intervals
        harness.poke()

    harness.start(workers=[Unit(NAME, slow_once, 10.0)])
    harness.wait_for(lambda: ticks, what="the first tick")
    start = ticks[0]
    harness.wait_for(lambda: harness.child(NAME)["state"] == "idle", what="idle")
    harness.settle()
    assert len(ticks) == 1  # no burst of the three missed ticks
    harness.advance(5.0)  # now at start + 40: the next slot on the original grid
    harness.wait_for(lambda: len(ticks) == 2, what="the second tick")
    assert ticks[1] - start == 40.0


def test_ticks_of_one_worker_never_overlap_and_run_now_requests_coalesce(
    harness: Harness,
) -> None:
    release = harness.backend.make_event()
    work = Recorder(harness)
    entered = []

    def blocking(ctx):
        entered.append(1)
        harness.poke()
        if len(entered) == 1:
            release.wait(5.0)
        work(ctx)

    handle = harness.start(workers=[Unit(NAME, blocking, 10.0)])
    harness.wait_for(lambda: entered, what="the first tick to block")
    for _ in range(5):
        handle.run_now(NAME)
    release.set()
    work.wait_ticks(2)
    harness.settle()
    assert work.max_running == 1
    assert len(work.ticks) == 2  # five requests during one tick → one extra tick


def test_a_tick_that_takes_exactly_one_interval_is_followed_by_the_tick_due_then(
    harness: Harness,
) -> None:
    ticks: list[float] = []

    def exactly_one_interval_once(ctx):
        ticks.append(ctx.scheduled_at)
        if len(ticks) == 1:
            harness.clock.advance(10.0)
        harness.poke()

    harness.start(workers=[Unit(NAME, exactly_one_interval_once, 10.0)])
    harness.wait_for(lambda: len(ticks) == 2, what="the tick due as the first one ended")
    assert ticks[1] - ticks[0] == 10.0
