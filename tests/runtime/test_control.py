"""Control messages: status, pause, resume, run-now, restart, stop."""

from __future__ import annotations

import pytest

from autosolve.runtime import ControlError, Unit
from tests.runtime.errors import node_error
from tests.runtime.harness import Harness
from tests.runtime.test_ticks import Recorder


def noop(ctx):
    pass


def test_status_has_one_record_per_child_in_the_documented_shape(harness: Harness) -> None:
    handle = harness.start(
        preflights=[Unit("preflight:p", noop)], workers=[Unit("worker:w", noop, 10.0)]
    )
    harness.wait_for(lambda: harness.child("worker:w")["runs"] == 1, what="a run")
    status = handle.status()
    assert status["phase"] == "workers"
    worker = status["children"][1]
    assert set(worker) == {
        "name", "kind", "state", "interval", "runs", "failures", "restarts", "attempts",
        "last_error", "last_success_at", "next_run_at", "running_for", "progress",
    }  # fmt: skip
    assert worker["kind"] == "worker" and worker["interval"] == 10.0
    assert worker["attempts"] == {"node": 0, "service": 0, "degraded": 0}
    assert worker["last_success_at"] == "2026-01-01T00:00:00Z"
    assert worker["next_run_at"] == "2026-01-01T00:00:10Z"
    assert status["children"][0]["kind"] == "preflight"


def test_pause_lets_the_tick_finish_then_stops_ticking_and_resume_ticks_at_once(
    harness: Harness,
) -> None:
    work = Recorder(harness)
    handle = harness.start(workers=[Unit("worker:w", work, 10.0)])
    work.wait_ticks(1)
    assert handle.pause("worker:*") == ["worker:w"]
    assert harness.child("worker:w")["state"] == "paused"
    harness.advance(100.0)
    assert len(work.ticks) == 1
    assert handle.resume("worker:w") == ["worker:w"]
    work.wait_ticks(2)
    assert work.ticks[1][1] == harness.clock.monotonic()  # at once, not at the next slot
    harness.advance(10.0)
    work.wait_ticks(3)


def test_pause_during_a_tick_takes_effect_after_it(harness: Harness) -> None:
    release = harness.backend.make_event()
    entered = []

    def blocking(ctx):
        entered.append(1)
        harness.poke()
        release.wait(5.0)

    handle = harness.start(workers=[Unit("worker:w", blocking, 10.0)])
    harness.wait_for(lambda: entered, what="a running tick")
    handle.pause("worker:w")
    assert harness.child("worker:w")["state"] == "running"
    release.set()
    harness.wait_for(lambda: harness.child("worker:w")["state"] == "paused", what="paused")
    harness.advance(50.0)
    assert len(entered) == 1


def test_run_now_ticks_immediately(harness: Harness) -> None:
    work = Recorder(harness)
    handle = harness.start(workers=[Unit("worker:w", work, 10.0)])
    work.wait_ticks(1)
    harness.clock.advance(3.0)
    handle.run_now("worker:w")
    work.wait_ticks(2)
    assert work.ticks[1][1] - work.ticks[0][1] == 3.0


def test_run_now_on_a_worker_in_backoff_restarts_it_at_once(harness: Harness) -> None:
    def failing(ctx):
        raise node_error()

    handle = harness.start(workers=[Unit("worker:w", failing, 10.0)])
    harness.wait_event("backoff", "worker:w")
    handle.run_now("worker:w")
    harness.wait_event("spawned", "worker:w", count=2)


def test_restart_replaces_the_child_with_a_fresh_actor_and_resets_counters(
    harness: Harness,
) -> None:
    calls = []

    def once_failing(ctx):
        calls.append(ctx)  # the object, not id(): a freed context's id can be reused
        if len(calls) == 1:
            raise node_error()

    handle = harness.start(workers=[Unit("worker:w", once_failing, 10.0)])
    harness.wait_event("backoff", "worker:w")
    harness.advance(2.0)
    harness.wait_for(lambda: len(calls) == 2, what="the second run")
    assert handle.restart("worker:w") == ["worker:w"]
    harness.wait_for(lambda: len(calls) == 3, what="a run of the fresh actor")
    record = harness.child("worker:w")
    assert len(set(calls)) == 3
    assert record["restarts"] == 2 and record["attempts"]["node"] == 0


def test_restart_waits_for_the_running_tick_so_ticks_never_overlap(harness: Harness) -> None:
    release = harness.backend.make_event()
    work = Recorder(harness)

    def blocking(ctx):
        work(ctx)
        if len(work.ticks) == 1:
            release.wait(5.0)

    handle = harness.start(workers=[Unit("worker:w", blocking, 10.0)])
    work.wait_ticks(1)
    handle.restart("worker:w")
    assert len(harness.named("spawned", "worker:w")) == 1
    release.set()
    work.wait_ticks(2)
    assert work.max_running == 1


@pytest.mark.parametrize("command", ["pause", "resume", "run_now", "restart"])
def test_an_unknown_name_is_an_error_answer_not_a_crash(harness: Harness, command: str) -> None:
    handle = harness.start(workers=[Unit("worker:w", noop, 10.0)])
    with pytest.raises(ControlError, match="no child matches 'worker:nope'"):
        handle.control(command, "worker:nope")
    assert handle.status()["phase"] in ("preflight", "workers")


def test_pausing_a_preflight_is_refused_with_a_reason(harness: Harness) -> None:
    release = harness.backend.make_event()
    handle = harness.start(preflights=[Unit("preflight:p", lambda ctx: release.wait(5.0))])
    harness.wait_event("spawned", "preflight:p")
    with pytest.raises(ControlError, match="matches no worker"):
        handle.pause("preflight:*")
    release.set()


def test_control_refuses_an_empty_name(harness: Harness) -> None:
    handle = harness.start(workers=[Unit("worker:w", noop, 10.0)])
    with pytest.raises(ControlError, match="name or pattern is required"):
        handle.pause("")


def test_run_now_ticks_a_paused_worker_once(harness: Harness) -> None:
    work = Recorder(harness)
    handle = harness.start(workers=[Unit("worker:w", work, 10.0)])
    work.wait_ticks(1)
    handle.pause("worker:w")
    assert handle.run_now("worker:w") == ["worker:w"]
    work.wait_ticks(2)
    harness.wait_for(lambda: harness.child("worker:w")["state"] == "paused", what="paused")
    harness.advance(100.0)
    assert len(work.ticks) == 2


def test_a_pause_cancels_a_run_now_asked_for_before_it(harness: Harness) -> None:
    release = harness.backend.make_event()
    work = Recorder(harness)

    def blocking_once(ctx):
        work(ctx)
        if len(work.ticks) == 1:
            release.wait(5.0)

    handle = harness.start(workers=[Unit("worker:w", blocking_once, 10.0)])
    work.wait_ticks(1)
    handle.run_now("worker:w")  # queued behind the running tick
    handle.pause("worker:w")
    release.set()
    harness.wait_for(lambda: harness.child("worker:w")["state"] == "paused", what="paused")
    harness.settle()
    assert len(work.ticks) == 1
    handle.run_now("worker:w")  # asked for while paused: ticks
    work.wait_ticks(2)
