"""Stopping and starting single children, like supervisorctl's ``stop NAME`` / ``start NAME``."""

from __future__ import annotations

from typing import Any

import pytest

from autosolve.runtime import ControlError, RuntimeHandle, Unit
from tests.runtime.errors import node_error
from tests.runtime.harness import Harness
from tests.runtime.test_deadline import Blocking
from tests.runtime.test_ticks import Recorder

NAME = "worker:w"
OTHER = "worker:other"


def noop(ctx) -> None:
    pass


def in_a_blocking_tick(
    harness: Harness, *, cooperative: bool, **options: Any
) -> tuple[Blocking, RuntimeHandle]:
    """A worker started and inside its first tick, which blocks (until cancelled, or released)."""
    work = Blocking(harness, cooperative=cooperative)
    handle = harness.start(workers=[Unit(NAME, work, 10.0)], **options)
    harness.wait_for(lambda: work.calls == 1, what="the tick")
    return work, handle


def test_a_stopped_worker_has_its_tick_cancelled_shows_stopped_and_is_never_restarted(
    harness: Harness,
) -> None:
    work, handle = in_a_blocking_tick(harness, cooperative=True)
    assert handle.stop_children(NAME) == [NAME]
    harness.wait_event("stopped", NAME)
    assert work.cancelled_at == [harness.clock.monotonic()]
    harness.advance(100.0)
    record = harness.child(NAME)
    assert (record["state"], record["next_run_at"], record["running_for"]) == (
        "stopped", None, None,
    )  # fmt: skip
    assert (work.calls, record["restarts"], record["failures"]) == (1, 0, 0)
    assert len(harness.named("spawned", NAME)) == 1
    assert handle.status()["phase"] == "workers"


def test_a_started_worker_ticks_at_once_from_a_fresh_actor_and_counts_no_restart(
    harness: Harness,
) -> None:
    work = Recorder(harness)
    handle = harness.start(workers=[Unit(NAME, work, 10.0)])
    work.wait_ticks(1)
    handle.stop_children([NAME])
    harness.wait_event("stopped", NAME)
    harness.clock.advance(3.0)
    assert handle.start_children([NAME]) == [NAME]
    work.wait_ticks(2)
    assert work.ticks[1][1] == harness.clock.monotonic()  # at once, not at the next slot
    harness.advance(10.0)
    work.wait_ticks(3)
    record = harness.child(NAME)
    assert (record["state"], record["restarts"], record["actors"]) == ("idle", 0, 2)
    assert harness.named("restarted", NAME) == []


def test_a_preflight_stopped_after_it_succeeded_runs_again_when_started(
    harness: Harness,
) -> None:
    runs = []

    def check(ctx) -> None:
        runs.append(ctx)
        harness.poke()

    handle = harness.start(preflights=[Unit("preflight:p", check)], workers=[Unit(NAME, noop, 10)])
    harness.wait_for(lambda: harness.child(NAME)["runs"] == 1, what="the workers phase")
    assert handle.stop_children("preflight:*") == ["preflight:p"]
    assert harness.child("preflight:p")["state"] == "stopped"
    handle.start_children("preflight:p")
    harness.wait_for(lambda: harness.child("preflight:p")["state"] == "succeeded", what="rerun")
    assert len(runs) == 2 and runs[0] is not runs[1]
    assert harness.child("preflight:p")["restarts"] == 0


def test_stopping_and_starting_one_child_leaves_the_others_alone(harness: Harness) -> None:
    work, other = Recorder(harness), Recorder(harness)
    handle = harness.start(workers=[Unit(NAME, work, 10.0), Unit(OTHER, other, 10.0)])
    work.wait_ticks(1)
    other.wait_ticks(1)
    handle.stop_children(NAME)
    harness.advance(10.0)
    other.wait_ticks(2)
    handle.start_children(NAME)
    work.wait_ticks(2)
    harness.advance(10.0)
    other.wait_ticks(3)
    start = other.ticks[0][0]
    assert [due - start for due, _ in other.ticks] == [0.0, 10.0, 20.0]
    assert len(harness.named("spawned", OTHER)) == 1
    assert harness.named("stopping", OTHER) == []


def test_stops_and_starts_do_not_count_against_the_restart_intensity(harness: Harness) -> None:
    work = Recorder(harness)
    handle = harness.start(workers=[Unit(NAME, work, 10.0)], max_restarts=1, within_seconds=60.0)
    work.wait_ticks(1)
    for round_ in range(2, 5):
        handle.stop_children(NAME)
        harness.wait_event("stopped", NAME, count=round_ - 1)
        handle.start_children(NAME)
        work.wait_ticks(round_)
    assert handle.status()["phase"] == "workers" and handle.result is None
    assert harness.child(NAME)["restarts"] == 0


def test_a_worker_stopped_in_backoff_is_not_restarted_until_started(harness: Harness) -> None:
    calls = []

    def fails_once(ctx) -> None:
        calls.append(1)
        harness.poke()
        if len(calls) == 1:
            raise node_error()

    handle = harness.start(workers=[Unit(NAME, fails_once, 10.0)])
    harness.wait_event("backoff", NAME)
    handle.stop_children(NAME)
    harness.advance(300.0)
    assert (len(calls), harness.child(NAME)["state"]) == (1, "stopped")
    handle.start_children(NAME)
    harness.wait_for(lambda: len(calls) == 2, what="the started actor's tick")
    assert harness.child(NAME)["attempts"]["node"] == 0  # a start begins its retries afresh


def test_work_that_ignores_the_stop_is_abandoned_after_the_shutdown_timeout(
    harness: Harness,
) -> None:
    work, handle = in_a_blocking_tick(harness, cooperative=False, shutdown_timeout=0.1)
    handle.stop_children(NAME)
    harness.wait_event("abandoned", NAME)
    assert harness.child(NAME)["state"] == "abandoned"
    handle.start_children(NAME)
    harness.wait_for(lambda: work.calls == 2, what="the fresh actor's tick")
    work.release.set()
    assert handle.status()["phase"] == "workers"


def test_a_child_started_while_its_actor_still_ends_starts_once_it_ended(
    harness: Harness,
) -> None:
    work, handle = in_a_blocking_tick(harness, cooperative=False)
    handle.stop_children(NAME)
    handle.start_children(NAME)
    harness.settle()
    assert len(harness.named("spawned", NAME)) == 1  # the old tick still runs
    work.release.set()
    harness.wait_for(lambda: work.calls == 2, what="the fresh actor's tick")
    assert harness.named("stopped", NAME) == []  # it was started again before it ended


def test_a_worker_stopped_before_its_preflight_succeeded_does_not_start_with_the_others(
    harness: Harness,
) -> None:
    release = harness.backend.make_event()
    handle = harness.start(
        preflights=[Unit("preflight:p", lambda ctx: release.wait(5.0))],
        workers=[Unit(NAME, noop, 10.0), Unit(OTHER, noop, 10.0)],
    )
    harness.wait_event("spawned", "preflight:p")
    assert handle.stop_children(NAME) == [NAME]
    release.set()
    harness.wait_for(lambda: harness.child(OTHER)["runs"] == 1, what="the workers phase")
    assert harness.child(NAME)["state"] == "stopped"
    assert harness.named("spawned", NAME) == []
    handle.start_children(NAME)
    harness.wait_for(lambda: harness.child(NAME)["runs"] == 1, what="its first tick")


def test_a_worker_of_an_added_group_stopped_before_its_preflight_succeeded_waits_for_a_start(
    harness: Harness,
) -> None:
    release = harness.backend.make_event()
    handle = harness.start(workers=[Unit(OTHER, noop, 10.0)])
    handle.add([Unit("preflight:g", lambda ctx: release.wait(5.0))], [Unit(NAME, noop, 10.0)])
    harness.wait_event("spawned", "preflight:g")
    handle.stop_children(NAME)
    release.set()
    harness.wait_event("settled")
    harness.wait_for(lambda: harness.child("preflight:g")["state"] == "succeeded", what="done")
    harness.settle()
    assert harness.named("spawned", NAME) == [] and harness.child(NAME)["state"] == "stopped"
    handle.start_children(NAME)
    harness.wait_for(lambda: harness.child(NAME)["runs"] == 1, what="its first tick")


def test_a_stopped_child_stays_stopped_when_the_run_stops(harness: Harness) -> None:
    handle = harness.start(workers=[Unit(NAME, noop, 10.0), Unit(OTHER, noop, 10.0)])
    harness.wait_for(lambda: harness.child(NAME)["runs"] == 1, what="a tick")
    handle.stop_children(NAME)
    result = handle.stop(timeout=10.0)
    assert result is not None and result.ok
    assert {c["name"]: c["state"] for c in handle.status()["children"]} == {
        NAME: "stopped", OTHER: "stopped",
    }  # fmt: skip


def test_restart_starts_a_stopped_child_again(harness: Harness) -> None:
    work = Recorder(harness)
    handle = harness.start(workers=[Unit(NAME, work, 10.0)])
    work.wait_ticks(1)
    handle.stop_children(NAME)
    harness.wait_event("stopped", NAME)
    assert handle.restart(NAME) == [NAME]
    work.wait_ticks(2)
    assert harness.child(NAME)["state"] == "idle"


@pytest.mark.parametrize("method", ["stop_children", "start_children"])
def test_a_name_that_matches_nothing_is_refused(harness: Harness, method: str) -> None:
    handle = harness.start(workers=[Unit(NAME, noop, 10.0)])
    with pytest.raises(ControlError, match="no child matches 'worker:nope'"):
        getattr(handle, method)([NAME, "worker:nope"])
    assert harness.named("stopping", NAME) == []


def test_starting_a_child_that_runs_and_stopping_a_stopped_one_are_refused(
    harness: Harness,
) -> None:
    handle = harness.start(workers=[Unit(NAME, noop, 10.0)])
    with pytest.raises(ControlError, match=r"'worker:\*' matches no stopped child \(worker:w\)"):
        handle.start_children("worker:*")
    handle.stop_children(NAME)
    with pytest.raises(ControlError, match="matches only stopped children"):
        handle.stop_children(NAME)


def test_stop_and_start_are_supervisor_control_calls_too(harness: Harness) -> None:
    handle = harness.start(workers=[Unit(NAME, noop, 10.0)])
    assert handle.proxy.stop_children([NAME]).get(timeout=5.0) == {"ok": True, "names": [NAME]}
    assert handle.proxy.start_children(NAME).get(timeout=5.0) == {"ok": True, "names": [NAME]}
    assert handle.proxy.stop_children([]).get(timeout=5.0) == {
        "ok": False, "error": "child names or patterns are required",
    }  # fmt: skip
