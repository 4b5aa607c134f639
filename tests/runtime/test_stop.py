"""Graceful stop: cancellation, shutdown_timeout, hooks after children."""

from __future__ import annotations

import time

from autosolve.runtime import Unit
from tests.runtime.errors import node_error
from tests.runtime.harness import Harness


def noop(ctx):
    pass


def test_stop_during_backoff_ends_the_run_without_restarting(harness: Harness) -> None:
    def failing(ctx):
        raise node_error()

    handle = harness.start(workers=[Unit("worker:w", failing, 10.0)])
    harness.wait_event("backoff", "worker:w")
    result = handle.stop(timeout=5.0)
    assert result is not None and result.ok
    harness.clock.advance(10.0)
    assert len(harness.named("spawned", "worker:w")) == 1
    assert handle.status()["children"][0]["state"] == "stopped"


def test_stop_cancels_the_running_tick_and_waits_for_it(harness: Harness) -> None:
    observed = []

    def long_tick(ctx):
        harness.poke()
        observed.append(ctx.wait(30.0))  # True once cancelled

    handle = harness.start(workers=[Unit("worker:w", long_tick, 10.0)])
    harness.wait_for(lambda: harness.child("worker:w")["state"] == "running", what="a tick")
    started = time.monotonic()
    result = handle.stop(timeout=10.0)
    assert result is not None and result.ok
    assert observed == [True]
    assert time.monotonic() - started < 5.0
    assert handle.status()["phase"] == "stopped"


def test_work_that_ignores_cancellation_is_abandoned_after_the_shutdown_timeout(
    harness: Harness,
) -> None:
    release = harness.backend.make_event()

    def stubborn(ctx):
        harness.poke()
        release.wait(30.0)  # does not look at ctx

    handle = harness.start(workers=[Unit("worker:w", stubborn, 10.0)], shutdown_timeout=0.2)
    harness.wait_for(lambda: harness.child("worker:w")["state"] == "running", what="a tick")
    result = handle.stop(timeout=10.0)
    release.set()
    assert result is not None and result.ok
    assert handle.status()["children"][0]["state"] == "stopped"


def test_shutdown_hooks_run_after_every_child_stopped(harness: Harness) -> None:
    seen_by_hook = []

    def hook():
        seen_by_hook.append([e.name for e in harness.named("stopped")])

    handle = harness.start(
        workers=[Unit("worker:a", noop, 10.0), Unit("worker:b", noop, 10.0)],
        shutdown_hooks=(hook,),
    )
    harness.wait_for(lambda: len(harness.named("spawned")) == 2, what="two workers")
    handle.stop(timeout=5.0)
    assert seen_by_hook == [["worker:b", "worker:a"]]


def test_a_failing_shutdown_hook_does_not_prevent_the_others(harness: Harness) -> None:
    ran = []

    def broken():
        raise RuntimeError("hook broke")

    handle = harness.start(
        workers=[Unit("worker:a", noop, 10.0)], shutdown_hooks=(broken, lambda: ran.append(1))
    )
    result = handle.stop(timeout=5.0)
    assert result is not None and result.ok and ran == [1]


def test_control_after_stop_is_answered_from_the_final_status(harness: Harness) -> None:
    handle = harness.start(workers=[Unit("worker:a", noop, 10.0)])
    handle.stop(timeout=5.0)
    assert handle.stop(timeout=1.0).ok
    assert handle.status()["phase"] == "stopped"


def test_status_answers_while_a_stop_waits_for_a_slow_child(harness: Harness) -> None:
    release = harness.backend.make_event()

    def stubborn(ctx):
        harness.poke()
        release.wait(30.0)  # does not look at ctx

    handle = harness.start(workers=[Unit("worker:w", stubborn, 10.0)], shutdown_timeout=30.0)
    harness.wait_for(lambda: harness.child("worker:w")["state"] == "running", what="a tick")
    handle.proxy.stop()
    harness.wait_event("phase", count=3)  # preflight, workers, stopping
    status = handle.status(timeout=1.0)
    assert status["phase"] == "stopping"
    assert status["children"][0]["state"] == "running"
    release.set()
    result = handle.wait(10.0)
    assert result is not None and result.ok
