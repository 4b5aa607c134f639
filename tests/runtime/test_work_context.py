"""What work can tell the runtime from inside a tick: its interval, its progress."""

from __future__ import annotations

import json
import math
import threading

import pytest

from autosolve.runtime import ManualClock, Unit, WorkContext
from autosolve.runtime.lateness import LATENESS_BUCKETS, LatenessHistogram
from tests.runtime.errors import node_error
from tests.runtime.harness import Harness

NAME = "worker:adaptive"


def test_set_interval_moves_the_next_tick_onto_the_new_interval(harness: Harness) -> None:
    dues: list[float] = []

    def work(ctx):
        dues.append(ctx.scheduled_at)
        if len(dues) == 2:
            ctx.set_interval(25.0)
        harness.poke()

    harness.start(workers=[Unit(NAME, work, 10.0)])
    harness.wait_for(lambda: len(dues) == 1, what="the first tick")
    harness.advance(10.0)
    harness.wait_for(lambda: len(dues) == 2, what="the second tick")
    harness.wait_for(lambda: harness.child(NAME)["interval"] == 25.0, what="interval 25")
    harness.advance(24.999)
    assert len(dues) == 2
    harness.advance(0.001)
    harness.wait_for(lambda: len(dues) == 3, what="the tick 25 s later")
    harness.advance(25.0)
    harness.wait_for(lambda: len(dues) == 4, what="the next tick, 25 s on")
    start = dues[0]
    assert [due - start for due in dues] == [0.0, 10.0, 35.0, 60.0]


def test_a_new_interval_keeps_the_overrun_skip(harness: Harness) -> None:
    dues: list[float] = []

    def work(ctx):
        dues.append(ctx.scheduled_at)
        if len(dues) == 1:
            ctx.set_interval(4.0)
            harness.clock.advance(9.0)  # ran over two slots of the new grid
        harness.poke()

    harness.start(workers=[Unit(NAME, work, 10.0)])
    harness.wait_for(lambda: dues and harness.child(NAME)["state"] == "idle", what="idle")
    harness.settle()
    assert len(dues) == 1
    harness.advance(3.0)  # start + 12: the first slot of the new grid not missed
    harness.wait_for(lambda: len(dues) == 2, what="the second tick")
    assert dues[1] - dues[0] == 12.0


def test_a_fresh_actor_after_a_restart_keeps_the_current_interval(harness: Harness) -> None:
    dues: list[float] = []

    def work(ctx):
        dues.append(ctx.scheduled_at)
        harness.poke()
        if len(dues) == 1:
            ctx.set_interval(50.0)
            raise node_error()

    harness.start(workers=[Unit(NAME, work, 10.0)])
    harness.wait_event("backoff", NAME)
    harness.advance(2.0)  # the node policy's first delay
    harness.wait_for(lambda: len(dues) == 2, what="the fresh actor's first tick")
    harness.wait_for(lambda: harness.child(NAME)["state"] == "idle", what="idle")
    assert harness.child(NAME)["interval"] == 50.0
    harness.advance(49.0)
    assert len(dues) == 2
    harness.advance(1.0)
    harness.wait_for(lambda: len(dues) == 3, what="a tick 50 s later")


@pytest.mark.parametrize("bad", [0, -1.0, math.inf, math.nan, "10", None, True])
def test_set_interval_refuses_what_is_not_a_finite_positive_number(bad) -> None:
    ctx = WorkContext(NAME, threading.Event(), ManualClock())
    with pytest.raises(ValueError, match="seconds"):
        ctx.set_interval(bad)


def test_a_preflight_cannot_set_an_interval(harness: Harness) -> None:
    errors: list[Exception] = []

    def work(ctx):
        try:
            ctx.set_interval(5.0)
        except ValueError as error:
            errors.append(error)

    harness.start(preflights=[Unit("preflight:p", work)])
    harness.wait_event("succeeded", "preflight:p")
    assert "preflight has no interval" in str(errors[0])


def test_progress_shows_in_the_status_record_and_survives_a_restart(harness: Harness) -> None:
    runs: list[int] = []

    def work(ctx):
        runs.append(1)
        harness.poke()
        if len(runs) == 1:
            progress = {"stored": 120, "pages": 2, "caught_up": False}
            ctx.set_progress(progress)
            progress["stored"] = -1  # the runtime kept a copy
            raise node_error()

    harness.start(workers=[Unit(NAME, work, 10.0)])
    harness.wait_event("backoff", NAME)
    assert harness.child(NAME)["progress"] == {"stored": 120, "pages": 2, "caught_up": False}
    harness.advance(2.0)
    harness.wait_for(lambda: len(runs) == 2, what="the fresh actor's tick")
    record = harness.child(NAME)
    assert record["progress"] == {"stored": 120, "pages": 2, "caught_up": False}
    json.dumps(harness.handle.status())


def test_progress_is_null_until_set_and_none_clears_it(harness: Harness) -> None:
    runs: list[int] = []

    def work(ctx):
        runs.append(1)
        ctx.set_progress({"n": 1} if len(runs) == 2 else None)
        harness.poke()

    harness.start(workers=[Unit(NAME, work, 10.0)])
    harness.wait_for(lambda: runs, what="a tick")
    harness.settle()
    assert harness.child(NAME)["progress"] is None
    harness.advance(10.0)
    harness.wait_for(lambda: harness.child(NAME)["progress"] == {"n": 1}, what="progress")
    harness.advance(10.0)
    harness.wait_for(lambda: harness.child(NAME)["progress"] is None, what="cleared")


@pytest.mark.parametrize("bad", [[1, 2], "text", {"when": object()}, {"x": math.nan}])
def test_progress_must_be_a_json_mapping(bad) -> None:
    ctx = WorkContext(NAME, threading.Event(), ManualClock())
    with pytest.raises(TypeError, match="progress"):
        ctx.set_progress(bad)
    assert ctx.progress is None


def test_progress_must_stay_small() -> None:
    ctx = WorkContext(NAME, threading.Event(), ManualClock())
    with pytest.raises(ValueError, match="4096"):
        ctx.set_progress({"blob": "x" * 5000})


def test_tick_lateness_counts_every_tick(harness: Harness) -> None:
    ticks: list[float] = []

    def work(ctx):
        ticks.append(ctx.scheduled_at)
        harness.poke()

    handle = harness.start(workers=[Unit(NAME, work, 10.0)])
    harness.wait_for(lambda: ticks, what="the first tick")
    harness.advance(10.0)
    harness.wait_for(lambda: len(ticks) == 2, what="the second tick")
    bounds, cumulative, total, count = handle.tick_lateness()
    assert bounds == LATENESS_BUCKETS
    # On a manual clock a tick starts exactly when it is due.
    assert (count, total) == (2, 0.0)
    assert cumulative == (2,) * len(bounds)


def test_the_lateness_histogram_is_cumulative_with_inclusive_upper_bounds() -> None:
    histogram = LatenessHistogram(threading.Lock())
    for seconds in (0.0, 0.0005, 0.0006, 0.003, 0.003, 42.0, 1e6, -0.1):
        histogram.observe(seconds)
    bounds, cumulative, total, count = histogram.snapshot()
    by_bound = dict(zip(bounds, cumulative, strict=True))
    assert by_bound[0.0005] == 3  # 0.0, 0.0005 and the negative one (counted as 0)
    assert by_bound[0.001] == 4
    assert by_bound[0.005] == 6
    assert by_bound[30.0] == 6 and by_bound[60.0] == 7
    assert by_bound[math.inf] == count == 8
    assert total == pytest.approx(0.0005 + 0.0006 + 0.006 + 42.0 + 1e6)
