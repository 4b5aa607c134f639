"""Graceful stop: cancellation, shutdown_timeout, hooks after children."""

from __future__ import annotations

import logging
import time

import pytest

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
    assert handle.status()["children"][0]["state"] == "abandoned"


def test_shutdown_hooks_run_after_every_child_stopped(harness: Harness) -> None:
    seen_by_hook = []

    def hook():
        seen_by_hook.append({e.name for e in harness.named("stopped")})

    handle = harness.start(
        workers=[Unit("worker:a", noop, 10.0), Unit("worker:b", noop, 10.0)],
        shutdown_hooks=(hook,),
    )
    harness.wait_for(lambda: len(harness.named("spawned")) == 2, what="two workers")
    handle.stop(timeout=5.0)
    assert seen_by_hook == [{"worker:b", "worker:a"}]


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


class Stubborn:
    """Work that ignores cancellation until the test releases it."""

    def __init__(self, harness: Harness) -> None:
        self.harness = harness
        self.release = harness.backend.make_event()
        self.entered = harness.backend.make_event()
        self.finished = False

    def __call__(self, ctx) -> None:
        self.entered.set()
        self.harness.poke()
        self.release.wait(30.0)
        self.finished = True


class Cooperative:
    """Work that waits for cancellation, then takes a moment to clean up."""

    def __init__(self, harness: Harness, cleanup: float = 0.0) -> None:
        self.harness = harness
        self.cleanup = cleanup
        self.entered = False
        self.cancelled = False
        self.cleaned_up = False

    def __call__(self, ctx) -> None:
        self.entered = True
        self.harness.poke()
        if ctx.wait(30.0):
            self.cancelled = True
            self.harness.poke()
            if self.cleanup:
                self.harness.backend.make_event().wait(self.cleanup)
            self.cleaned_up = True


def test_stop_signals_every_worker_at_once_even_when_one_ignores_cancellation(
    harness: Harness,
) -> None:
    first, last = Cooperative(harness), Cooperative(harness)
    stubborn = Stubborn(harness)
    handle = harness.start(
        workers=[
            Unit("worker:a", first, 10.0),
            Unit("worker:b", stubborn, 10.0),
            Unit("worker:c", last, 10.0),
        ],
        shutdown_timeout=30.0,
    )
    harness.wait_for(lambda: len(harness.named("spawned")) == 3, what="three workers")
    assert stubborn.entered.wait(5.0)
    # Started is not yet ticking (a runner takes each child's first activation):
    # the test is about ticks running when the stop comes.
    harness.wait_for(lambda: first.entered and last.entered, what="all three ticking")
    handle.proxy.stop()
    # worker:a was started before the stubborn one, so it is signalled after it:
    # it must not have to wait for the stubborn one to give up.
    harness.wait_for(lambda: first.cancelled and last.cancelled, what="both cancelled")
    assert handle.result is None
    assert [e.name for e in harness.named("stopping")] == ["worker:c", "worker:b", "worker:a"]
    stubborn.release.set()
    result = handle.wait(10.0)
    assert result is not None and result.ok


def test_no_tick_and_no_restart_starts_once_the_stop_began(harness: Harness) -> None:
    ticks: list[float] = []

    def fast(ctx):
        ticks.append(ctx.scheduled_at)
        harness.poke()

    def failing(ctx):
        raise node_error()

    stubborn = Stubborn(harness)
    handle = harness.start(
        workers=[
            Unit("worker:fast", fast, 1.0),
            Unit("worker:failing", failing, 1.0),
            Unit("worker:stubborn", stubborn, 1.0),
        ],
        shutdown_timeout=30.0,
    )
    harness.wait_event("backoff", "worker:failing")
    assert stubborn.entered.wait(5.0)
    handle.proxy.stop()
    harness.wait_for(lambda: handle.status()["phase"] == "stopping", what="stopping")
    seen = len(ticks)
    for _ in range(5):
        harness.clock.advance(2.0)
    harness.wait_for(
        lambda: (
            harness.named("stopped", "worker:fast") and harness.named("stopped", "worker:failing")
        ),
        what="the two others stopped",
    )
    assert len(ticks) == seen
    assert len(harness.named("spawned", "worker:failing")) == 1
    stubborn.release.set()
    assert handle.wait(10.0).ok


def test_children_that_outlive_the_shutdown_timeout_are_abandoned_and_named_once(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="autosolve.runtime")
    stubborn_b, stubborn_c = Stubborn(harness), Stubborn(harness)
    handle = harness.start(
        workers=[
            Unit("worker:a", Cooperative(harness), 10.0),
            Unit("worker:b", stubborn_b, 10.0),
            Unit("worker:c", stubborn_c, 10.0),
        ],
        shutdown_timeout=0.3,
    )
    assert stubborn_b.entered.wait(5.0) and stubborn_c.entered.wait(5.0)
    result = handle.stop(timeout=10.0)
    stubborn_b.release.set()
    stubborn_c.release.set()
    assert result is not None and result.ok
    states = {c["name"]: c["state"] for c in handle.status()["children"]}
    assert states == {"worker:a": "stopped", "worker:b": "abandoned", "worker:c": "abandoned"}
    lines = [r.getMessage() for r in caplog.records if "abandon" in r.getMessage()]
    assert len(lines) == 1
    assert "worker:b" in lines[0] and "worker:c" in lines[0] and "worker:a" not in lines[0]
    assert {e.name for e in harness.named("abandoned")} == {"worker:b", "worker:c"}


def test_hooks_run_only_after_every_child_stopped_or_was_declared_abandoned(
    harness: Harness,
) -> None:
    cooperative = Cooperative(harness, cleanup=0.3)
    stubborn = Stubborn(harness)
    seen_by_hook: list[tuple[bool, list[str]]] = []

    def hook():
        seen_by_hook.append((cooperative.cleaned_up, [e.name for e in harness.named("abandoned")]))

    handle = harness.start(
        workers=[Unit("worker:a", cooperative, 10.0), Unit("worker:b", stubborn, 10.0)],
        shutdown_timeout=1.0,
        shutdown_hooks=(hook,),
    )
    assert stubborn.entered.wait(5.0)
    harness.wait_for(lambda: harness.child("worker:a")["state"] == "running", what="a running")
    result = handle.stop(timeout=10.0)
    stubborn.release.set()
    assert result is not None and result.ok
    assert seen_by_hook == [(True, ["worker:b"])]
