"""Groups added and removed while the run goes on, units replaced, options changed."""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any

import pytest

from autosolve.runtime import (
    ControlError,
    EventKind,
    PhasePolicies,
    Policies,
    RestartPolicy,
    Unit,
)
from autosolve.runtime.events import GroupChange
from tests.runtime.errors import node_error
from tests.runtime.harness import Harness
from tests.runtime.test_ticks import Recorder


def noop(ctx) -> None:
    pass


class Actors:
    """A work function that notes, per child, every tick's lateness and the actor that ran it.

    A fresh actor gets a fresh :class:`WorkContext`, so the contexts a child
    ticked with tell how many actors ran it.
    """

    def __init__(self, harness: Harness) -> None:
        self.harness = harness
        self.ticks: dict[str, int] = defaultdict(int)
        self.contexts: dict[str, set[int]] = defaultdict(set)
        self.lateness: list[float] = []

    def __call__(self, ctx) -> None:
        self.lateness.append(ctx.clock.monotonic() - ctx.scheduled_at)
        self.contexts[ctx.name].add(id(ctx))
        self.ticks[ctx.name] += 1
        self.harness.poke()

    def all_ticked(self, names: list[str], times: int) -> bool:
        """Each ticked ``times`` and has armed its next tick (advancing the clock is safe)."""
        if not all(self.ticks[n] >= times for n in names):
            return False
        idle = {n for n, state in states(self.harness).items() if state == "idle"}
        return idle.issuperset(names)


def states(harness: Harness) -> dict[str, str]:
    assert harness.handle is not None
    return {c["name"]: c["state"] for c in harness.handle.status()["children"]}


def records(harness: Harness) -> dict[str, dict[str, Any]]:
    assert harness.handle is not None
    return {c["name"]: c for c in harness.handle.status()["children"]}


# -- adding --------------------------------------------------------------------------------


def test_adding_a_group_while_50_workers_tick_neither_delays_nor_restarts_any_of_them(
    harness: Harness,
) -> None:
    work = Actors(harness)
    names = [f"worker:w{n}" for n in range(50)]
    handle = harness.start(workers=[Unit(n, work, 10.0) for n in names])
    harness.wait_for(lambda: work.all_ticked(names, 1), what="50 first ticks")
    gate = harness.backend.make_event()

    def slow_preflight(ctx) -> None:
        gate.wait(10.0)

    for round_ in range(2, 6):
        added = f"g{round_}"
        handle.add(
            [Unit(f"preflight:{added}", slow_preflight)],
            [Unit(f"worker:{added}:{n}", work, 10.0) for n in range(20)],
        )
        harness.advance(10.0)
        harness.wait_for(lambda r=round_: work.all_ticked(names, r), what=f"tick {round_}")
    gate.set()
    for name in names:
        assert work.ticks[name] == 5, name  # not one tick missed, none extra
        assert len(work.contexts[name]) == 1, name  # the same actor all along
        record = harness.child(name)
        assert record["restarts"] == 0 and record["group"] == 0
    assert set(work.lateness) == {0.0}  # every tick at its due time (the clock is manual)
    assert harness.named("restarted") == []
    assert handle.result is None


def test_a_groups_workers_start_only_after_its_preflights_succeeded(harness: Harness) -> None:
    handle = harness.start(workers=[Unit("worker:old", noop, 10.0)])
    harness.wait_event("spawned", "worker:old")
    gate = harness.backend.make_event()
    ran: list[str] = []

    def preflight(ctx) -> None:
        harness.poke()
        gate.wait(10.0)

    group = handle.add(
        [Unit("preflight:new:a", preflight), Unit("preflight:new:b", noop)],
        [Unit("worker:new", lambda ctx: ran.append(ctx.name), 10.0)],
    )
    assert group == 1
    harness.wait_event("succeeded", "preflight:new:b")
    added = records(harness)
    assert added["worker:new"]["state"] == "pending" and added["worker:new"]["group"] == 1
    assert added["worker:new"]["group_phase"] == "preflight"
    assert added["worker:old"]["group_phase"] == "workers"
    assert ran == [] and harness.named("spawned", "worker:new") == []
    gate.set()
    harness.wait_for(lambda: ran, what="the new worker's first tick")
    harness.wait_event("spawned", "worker:new")
    kinds = [(e.kind, e.name) for e in harness.events]
    assert kinds.index(("succeeded", "preflight:new:a")) < kinds.index(("spawned", "worker:new"))
    assert harness.child("worker:new")["group_phase"] == "workers"
    assert [e.detail for e in harness.named("group")][-2:] == [
        GroupChange(1, "preflight"),
        GroupChange(1, "workers"),
    ]


def test_a_group_added_before_the_runs_preflights_ended_waits_for_them_too(
    harness: Harness,
) -> None:
    gate = harness.backend.make_event()
    ran: list[str] = []

    def initial_preflight(ctx) -> None:
        gate.wait(10.0)

    handle = harness.start(preflights=[Unit("preflight:run", initial_preflight)])
    handle.add([Unit("preflight:later", noop)], [Unit("worker:later", ran.append, 10.0)])
    harness.wait_event("succeeded", "preflight:later")
    assert handle.status()["phase"] == "preflight"
    assert ran == []
    gate.set()
    harness.wait_for(lambda: ran, what="the later group's worker")
    assert handle.status()["phase"] == "workers"


def test_a_group_without_preflights_starts_its_workers_at_once(harness: Harness) -> None:
    work = Recorder(harness)
    handle = harness.start(workers=[Unit("worker:old", noop, 10.0)])
    harness.wait_event("spawned", "worker:old")
    handle.add(workers=[Unit("worker:new", work, 10.0)])
    work.wait_ticks(1)
    assert harness.child("worker:new")["group_phase"] == "workers"


def test_a_groups_permanent_preflight_failure_fails_the_group_not_the_run(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    work = Recorder(harness)
    cancelled: list[bool] = []

    def sibling(ctx) -> None:
        harness.poke()
        cancelled.append(ctx.wait(10.0))

    def missing(ctx) -> None:
        harness.wait_for(lambda: harness.child("preflight:bad:sibling")["state"] == "running")
        raise PermissionError("octo/missing: 404 Not Found")

    handle = harness.start(workers=[Unit("worker:old", work, 10.0)])
    work.wait_ticks(1)
    with caplog.at_level(logging.ERROR, logger="autosolve.runtime"):
        handle.add(
            [Unit("preflight:bad:check", missing), Unit("preflight:bad:sibling", sibling)],
            [Unit("worker:bad:poll", noop, 10.0)],
        )
        failed = harness.wait_for(
            lambda: [e for e in harness.named("group") if e.detail.phase == "failed"],
            what="the group to fail",
        )[0]
    changes = [e.detail for e in harness.named("group") if e.detail.group == 1]
    assert changes[0] == GroupChange(1, "preflight") and len(changes) == 2
    assert "preflight:bad:check" in failed.detail.reason and "404" in failed.detail.reason
    harness.wait_for(lambda: cancelled == [True], what="the sibling preflight to be cancelled")
    harness.wait_for(
        lambda: all(
            states(harness)[n] == "failed"
            for n in ("preflight:bad:check", "preflight:bad:sibling", "worker:bad:poll")
        ),
        what="every unit of the group failed",
    )
    assert any("404" in r.getMessage() and "group 1" in r.getMessage() for r in caplog.records)
    assert harness.named("spawned", "worker:bad:poll") == []
    assert handle.result is None and handle.status()["phase"] == "workers"
    assert harness.child("worker:bad:poll")["group_phase"] == "failed"
    harness.advance(10.0)
    work.wait_ticks(2)  # the rest goes on
    with pytest.raises(ControlError, match="matches no"):
        handle.restart("preflight:bad:check")
    # removing the failed group and adding it again gives it another chance
    assert sorted(handle.remove("*:bad:*")) == [
        "preflight:bad:check", "preflight:bad:sibling", "worker:bad:poll",
    ]  # fmt: skip
    handle.add([Unit("preflight:bad:check", noop)], [Unit("worker:bad:poll", work, 10.0)])
    harness.wait_for(lambda: states(harness).get("worker:bad:poll") == "idle", what="retry")


def test_only_the_initial_groups_preflights_can_fail_the_run(harness: Harness) -> None:
    def broken(ctx) -> None:
        raise ValueError("unusable")

    handle = harness.start(preflights=[Unit("preflight:run", broken)])
    result = handle.wait(5.0)
    assert result is not None and not result.ok and "preflight:run" in result.reason


def test_a_groups_preflight_is_retried_like_any_other(harness: Harness) -> None:
    attempts: list[int] = []

    def flaky(ctx) -> None:
        attempts.append(1)
        if len(attempts) == 1:
            raise node_error()

    work = Recorder(harness)
    handle = harness.start(workers=[Unit("worker:old", noop, 10.0)])
    handle.add([Unit("preflight:flaky", flaky)], [Unit("worker:new", work, 10.0)])
    harness.wait_event("backoff", "preflight:flaky")
    harness.advance(2.0)
    work.wait_ticks(1)
    assert harness.child("preflight:flaky")["restarts"] == 1


def test_names_already_supervised_or_given_twice_are_refused_and_nothing_is_added(
    harness: Harness,
) -> None:
    handle = harness.start(workers=[Unit("worker:a", noop, 10.0)])
    harness.wait_event("spawned", "worker:a")
    with pytest.raises(ControlError, match=r"\(already supervised\): worker:a"):
        handle.add(workers=[Unit("worker:b", noop, 10.0), Unit("worker:a", noop, 5.0)])
    with pytest.raises(ControlError, match="duplicate unit names: worker:c"):
        twice = Unit("worker:c", noop, 1.0)
        handle.add_groups([((), [twice]), ((), [twice])])
    assert list(states(harness)) == ["worker:a"]
    assert harness.named("added") == []


def test_a_group_must_put_preflights_and_workers_in_their_places(harness: Harness) -> None:
    handle = harness.start()
    with pytest.raises(ValueError, match="a worker given as a preflight"):
        handle.add([Unit("worker:x", noop, 1.0)])
    with pytest.raises(TypeError, match="not a Unit"):
        handle.add(workers=["worker:y"])  # type: ignore[list-item]


# -- removing ------------------------------------------------------------------------------


def test_remove_by_pattern_stops_and_forgets_only_the_matching_children(
    harness: Harness,
) -> None:
    work = Actors(harness)
    kept = ["worker:keep:1", "worker:keep:2"]
    dropped = ["worker:drop:1", "worker:drop:2"]
    handle = harness.start(workers=[Unit(n, work, 10.0) for n in (*kept, *dropped)])
    harness.wait_for(lambda: work.all_ticked([*kept, *dropped], 1), what="first ticks")
    assert sorted(handle.remove("worker:drop:*")) == dropped
    assert list(states(harness)) == kept
    for name in dropped:
        harness.wait_event("stopped", name)
    for times in range(2, 5):
        harness.advance(10.0)
        harness.wait_for(lambda t=times: work.all_ticked(kept, t), what="the kept workers' ticks")
    assert [work.ticks[n] for n in dropped] == [1, 1]
    assert [len(work.contexts[n]) for n in kept] == [1, 1]
    assert [e.name for e in harness.named("removed")] == ["worker:drop:2", "worker:drop:1"]
    with pytest.raises(ControlError, match="no child matches 'worker:drop:\\*'"):
        handle.remove(["worker:keep:1", "worker:drop:*"])
    assert list(states(harness)) == kept  # all or nothing


def test_removal_cancels_the_running_tick(harness: Harness) -> None:
    observed: list[bool] = []

    def long_tick(ctx) -> None:
        harness.poke()
        observed.append(ctx.wait(30.0))

    handle = harness.start(workers=[Unit("worker:long", long_tick, 10.0)])
    harness.wait_for(lambda: harness.child("worker:long")["state"] == "running", what="a tick")
    handle.remove("worker:long")
    harness.wait_event("stopped", "worker:long")
    assert observed == [True]
    assert handle.status()["children"] == []


def test_a_removed_child_that_ignores_cancellation_is_abandoned_after_the_shutdown_timeout(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    release = harness.backend.make_event()

    def stubborn(ctx) -> None:
        harness.poke()
        release.wait(30.0)

    handle = harness.start(
        workers=[Unit("worker:stubborn", stubborn, 10.0), Unit("worker:other", noop, 10.0)],
        shutdown_timeout=0.2,
    )
    harness.wait_for(lambda: harness.child("worker:stubborn")["state"] == "running", what="tick")
    with caplog.at_level(logging.WARNING, logger="autosolve.runtime"):
        handle.remove("worker:stubborn")
        harness.wait_event("abandoned", "worker:stubborn")
    release.set()
    assert any(
        "worker:stubborn" in r.getMessage() and "abandoned" in r.getMessage()
        for r in caplog.records
    )
    assert handle.result is None and states(harness) == {"worker:other": "idle"}


def test_a_name_removed_and_added_again_starts_only_once_its_old_actor_ended(
    harness: Harness,
) -> None:
    release = harness.backend.make_event()
    running: list[str] = []
    overlaps: list[str] = []

    def old(ctx) -> None:
        running.append("old")
        harness.poke()
        release.wait(10.0)  # ignores the cancellation for a while
        running.remove("old")

    def new(ctx) -> None:
        if running:
            overlaps.append(ctx.name)
        running.append("new")
        harness.poke()
        running.remove("new")

    handle = harness.start(workers=[Unit("worker:x", old, 10.0)])
    harness.wait_for(lambda: running == ["old"], what="the old tick")
    handle.remove("worker:x")
    handle.add(workers=[Unit("worker:x", new, 10.0)])
    assert harness.named("spawned", "worker:x")[-1].detail == 1  # only the old one so far
    assert states(harness) == {"worker:x": "pending"}
    release.set()
    harness.wait_for(lambda: len(harness.named("spawned", "worker:x")) == 2, what="the new one")
    harness.wait_for(lambda: harness.child("worker:x")["runs"] == 1, what="its first tick")
    assert overlaps == []


def test_removing_a_preflight_that_has_not_succeeded_lets_its_group_start(
    harness: Harness,
) -> None:
    work = Recorder(harness)

    def waits(ctx) -> None:
        harness.poke()
        ctx.wait(30.0)

    handle = harness.start(workers=[Unit("worker:old", noop, 10.0)])
    handle.add([Unit("preflight:slow", waits)], [Unit("worker:new", work, 10.0)])
    harness.wait_for(lambda: harness.child("preflight:slow")["state"] == "running", what="it")
    handle.remove("preflight:slow")
    work.wait_ticks(1)


def test_a_stop_during_a_removal_waits_for_the_removed_child_before_the_hooks(
    harness: Harness,
) -> None:
    order: list[str] = []

    def slow_to_stop(ctx) -> None:
        harness.poke()
        ctx.wait(30.0)
        order.append("removed child ended")

    handle = harness.start(
        workers=[Unit("worker:a", slow_to_stop, 10.0), Unit("worker:b", noop, 10.0)],
        shutdown_hooks=[lambda: order.append("hook")],
    )
    harness.wait_for(lambda: harness.child("worker:a")["state"] == "running", what="a tick")
    handle.remove("worker:a")
    result = handle.stop(timeout=10.0)
    assert result is not None and result.ok
    assert order == ["removed child ended", "hook"]


# -- neither counts as a restart --------------------------------------------------------------


def test_adding_removing_and_replacing_count_neither_as_restarts_nor_toward_the_intensity(
    harness: Harness,
) -> None:
    work = Recorder(harness)
    handle = harness.start(workers=[Unit("worker:a", work, 10.0)], max_restarts=1)
    work.wait_ticks(1)
    for n in range(5):
        handle.add([Unit(f"preflight:g{n}", noop)], [Unit(f"worker:g{n}", noop, 10.0)])
        harness.wait_event("spawned", f"worker:g{n}")
        handle.replace([Unit(f"worker:g{n}", noop, 20.0)])
        harness.wait_event("spawned", f"worker:g{n}", count=2)
        handle.remove(f"*:g{n}")
    assert handle.result is None
    assert harness.named("restarted") == []
    assert harness.child("worker:a")["restarts"] == 0


# -- replacing -----------------------------------------------------------------------------


def test_replace_runs_the_new_unit_in_a_fresh_actor_with_its_interval(harness: Harness) -> None:
    old_work, new_work, other = Recorder(harness), Recorder(harness), Actors(harness)
    handle = harness.start(
        workers=[Unit("worker:x", old_work, 10.0), Unit("worker:other", other, 10.0)]
    )
    old_work.wait_ticks(1)
    harness.wait_for(lambda: other.all_ticked(["worker:other"], 1), what="the other tick")
    assert handle.replace([Unit("worker:x", new_work, 30.0)]) == ["worker:x"]
    new_work.wait_ticks(1)
    record = harness.child("worker:x")
    assert record["interval"] == 30.0 and record["restarts"] == 0 and record["runs"] == 2
    assert [e.detail for e in harness.named("spawned", "worker:x")] == [1, 2]
    harness.advance(10.0)
    harness.wait_for(lambda: other.all_ticked(["worker:other"], 2), what="the other's tick")
    assert len(new_work.ticks) == 1  # 30 s now, not 10
    harness.advance(20.0)
    new_work.wait_ticks(2)
    assert len(old_work.ticks) == 1
    assert len(other.contexts["worker:other"]) == 1


def test_replace_refuses_unknown_names_and_a_change_of_kind(harness: Harness) -> None:
    handle = harness.start(
        preflights=[Unit("preflight:p", noop)], workers=[Unit("worker:x", noop, 10.0)]
    )
    harness.wait_event("spawned", "worker:x")
    with pytest.raises(ControlError, match="no child named 'worker:nope'"):
        handle.replace([Unit("worker:x", noop, 5.0), Unit("worker:nope", noop, 5.0)])
    with pytest.raises(ControlError, match="preflight:p is a preflight, not a worker"):
        handle.replace([Unit("preflight:p", noop, 5.0)])
    assert harness.child("worker:x")["interval"] == 10.0  # all or nothing


def test_a_paused_worker_replaced_stays_paused(harness: Harness) -> None:
    work = Recorder(harness)
    handle = harness.start(workers=[Unit("worker:x", noop, 10.0)])
    harness.wait_event("spawned", "worker:x")
    handle.pause("worker:x")
    handle.replace([Unit("worker:x", work, 10.0)])
    harness.wait_event("spawned", "worker:x", count=2)
    harness.advance(50.0)
    # The fresh actor's first activation (which finds it paused) runs when a runner takes it.
    harness.wait_for(lambda: harness.child("worker:x")["state"] == "paused", what="paused")
    assert work.ticks == []
    handle.resume("worker:x")
    work.wait_ticks(1)


# -- options -------------------------------------------------------------------------------


def test_new_restart_policies_apply_to_the_next_failure_without_restarting_anyone(
    harness: Harness,
) -> None:
    def failing(ctx) -> None:
        raise node_error()

    work = Recorder(harness)
    handle = harness.start(
        workers=[Unit("worker:ok", work, 10.0), Unit("worker:failing", failing, 10.0)]
    )
    harness.wait_event("backoff", "worker:failing")
    assert harness.backoff_delays("worker:failing") == [2.0]
    slow = RestartPolicy(initial=50.0, max=50.0)
    handle.update_options(
        policies=Policies(worker=PhasePolicies(node=slow, service=slow, degraded=slow))
    )
    harness.advance(2.0)
    harness.wait_event("backoff", "worker:failing", count=2)
    assert harness.backoff_delays("worker:failing") == [2.0, 50.0]
    assert len(harness.named("spawned", "worker:ok")) == 1


def test_a_new_restart_intensity_applies_from_the_next_restart(harness: Harness) -> None:
    def failing(ctx) -> None:
        raise node_error()

    handle = harness.start(workers=[Unit("worker:failing", failing, 10.0)])
    harness.wait_event("backoff", "worker:failing")
    handle.update_options(max_restarts=1, within_seconds=600.0)  # counted from now on
    harness.advance(2.0)
    harness.wait_event("backoff", "worker:failing", count=2)
    assert handle.result is None
    harness.advance(4.0)
    result = handle.wait(5.0)
    assert result is not None and not result.ok and "restart intensity" in result.reason


def test_an_unknown_option_is_refused(harness: Harness) -> None:
    handle = harness.start()
    with pytest.raises(ControlError, match="unknown supervisor option"):
        handle.update_options(restart_everything=True)


def test_after_the_run_ended_changes_are_refused(harness: Harness) -> None:
    handle = harness.start(workers=[Unit("worker:a", noop, 10.0)])
    handle.stop(timeout=10.0)
    for call in (
        lambda: handle.add(workers=[Unit("worker:b", noop, 1.0)]),
        lambda: handle.remove("worker:a"),
        lambda: handle.replace([Unit("worker:a", noop, 1.0)]),
        lambda: handle.update_options(max_restarts=3),
    ):
        with pytest.raises(ControlError, match="stopped"):
            call()
    assert EventKind.ADDED not in {e.kind for e in harness.events}


# -- admission -----------------------------------------------------------------------------


def test_added_children_start_add_concurrency_at_a_time_and_the_run_then_settles(
    harness: Harness,
) -> None:
    gate = harness.backend.make_event()
    running: list[str] = []
    most: list[int] = [0]
    lock = harness.backend.make_lock()

    def preflight(ctx) -> None:
        with lock:
            running.append(ctx.name)
            most[0] = max(most[0], len(running))
        harness.poke()
        gate.wait(10.0)
        with lock:
            running.remove(ctx.name)

    work = Actors(harness)
    handle = harness.start(workers=[Unit("worker:old", work, 10.0)], add_concurrency=3)
    harness.wait_for(lambda: work.all_ticked(["worker:old"], 1), what="the old worker")
    groups = [
        ([Unit(f"preflight:{n}", preflight)], [Unit(f"worker:{n}", work, 10.0)]) for n in range(10)
    ]
    handle.add_groups(groups)
    harness.wait_for(lambda: len(running) == 3, what="three preflights started")
    assert states(harness)["preflight:9"] == "pending"  # waits for its turn
    assert harness.named("settled") == []
    harness.advance(10.0)  # the children already running go on meanwhile
    harness.wait_for(lambda: work.all_ticked(["worker:old"], 2), what="the old worker's tick")
    gate.set()
    settled = harness.wait_event("settled")
    assert settled.detail == 20  # ten preflights, then ten workers
    assert most[0] == 3
    assert all(work.ticks[f"worker:{n}"] == 1 for n in range(10))
    assert states(harness)["worker:9"] == "idle"


def test_a_removed_child_waiting_for_its_turn_never_starts(harness: Harness) -> None:
    gate = harness.backend.make_event()

    def preflight(ctx) -> None:
        harness.poke()
        gate.wait(10.0)

    handle = harness.start(add_concurrency=1)
    handle.add_groups([([Unit("preflight:a", preflight)], []), ([Unit("preflight:b", noop)], [])])
    harness.wait_for(lambda: states(harness)["preflight:a"] == "running", what="the first one")
    handle.remove("preflight:b")
    handle.remove("preflight:a")  # its place goes to nobody
    gate.set()
    harness.wait_event("settled")
    assert harness.named("spawned", "preflight:b") == []
