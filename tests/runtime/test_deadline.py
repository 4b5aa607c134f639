"""A hung tick is noticed: the tick deadline, cancellation, then a declared hang."""

from __future__ import annotations

import greenlet
import pytest

from autosolve.runtime import PhasePolicies, Policies, RestartPolicy, Unit
from tests.runtime.harness import Harness

NAME = "worker:slow"


class Blocking:
    """Work that blocks on an event; optionally honours cancellation."""

    def __init__(self, harness: Harness, *, cooperative: bool) -> None:
        self.harness = harness
        self.cooperative = cooperative
        self.release = harness.backend.make_event()
        self.calls = 0
        self.cancelled_at: list[float] = []
        self.killed = False

    def __call__(self, ctx) -> None:
        self.calls += 1
        self.harness.poke()
        if self.calls > 1:
            return
        try:
            if self.cooperative:
                if ctx.wait(600.0):
                    self.cancelled_at.append(ctx.clock.monotonic())
            else:
                self.release.wait(30.0)
        except greenlet.GreenletExit:
            self.killed = True
            raise
        finally:
            self.harness.poke()


def test_running_for_shows_how_long_the_current_tick_has_run(harness: Harness) -> None:
    work = Blocking(harness, cooperative=True)
    harness.start(workers=[Unit(NAME, work, 10.0)])
    harness.wait_for(lambda: work.calls == 1, what="the tick")
    assert harness.child(NAME)["running_for"] == 0.0
    harness.advance(7.5)
    record = harness.child(NAME)
    assert (record["state"], record["running_for"]) == ("running", 7.5)
    work.release.set()


def test_a_tick_past_its_deadline_is_cancelled_and_counts_as_a_degraded_failure(
    harness: Harness,
) -> None:
    work = Blocking(harness, cooperative=True)
    handle = harness.start(workers=[Unit(NAME, work, 10.0, deadline=5.0)])
    harness.wait_for(lambda: work.calls == 1, what="the tick")
    start = harness.clock.monotonic()
    harness.advance(4.9)
    assert work.cancelled_at == []
    harness.advance(1.1)
    harness.wait_for(lambda: work.cancelled_at, what="the cancellation")
    assert work.cancelled_at[0] - start <= 6.0
    harness.wait_event("backoff", NAME)
    assert harness.named("failed", NAME)[0].detail.category == "degraded"
    assert "deadline" in harness.child(NAME)["last_error"]
    assert harness.backoff_delays(NAME) == [30.0]
    harness.advance(30.0)
    harness.wait_for(lambda: work.calls == 2, what="the fresh actor's tick")
    assert handle.status()["phase"] == "workers"


def test_a_tick_that_ignores_its_cancellation_is_declared_hung_and_replaced(
    harness: Harness,
) -> None:
    work = Blocking(harness, cooperative=False)
    harness.start(workers=[Unit(NAME, work, 10.0, deadline=5.0)], shutdown_timeout=2.0)
    harness.wait_for(lambda: work.calls == 1, what="the tick")
    harness.advance(6.0)  # past the deadline: cancelled, but it does not look
    harness.settle()
    assert harness.named("hung", NAME) == []
    harness.advance(2.0)  # shutdown_timeout later: hung
    harness.wait_event("hung", NAME)
    harness.wait_event("backoff", NAME)
    assert harness.named("failed", NAME)[0].detail.category == "degraded"
    assert "hung" in harness.child(NAME)["last_error"]
    harness.advance(30.0)
    harness.wait_for(lambda: work.calls == 2, what="the fresh actor's tick")
    if harness.backend.name == "gevent":
        harness.wait_for(lambda: work.killed, what="the hung greenlet killed")
    else:
        work.release.set()
    harness.wait_for(lambda: harness.child(NAME)["state"] == "idle", what="the fresh actor idle")
    assert harness.child(NAME)["runs"] == 1  # the abandoned tick never counts


def test_a_restart_asked_for_while_a_tick_hangs_happens_once_the_tick_is_declared_hung(
    harness: Harness,
) -> None:
    work = Blocking(harness, cooperative=False)
    handle = harness.start(workers=[Unit(NAME, work, 10.0, deadline=5.0)], shutdown_timeout=2.0)
    harness.wait_for(lambda: work.calls == 1, what="the tick")
    handle.restart(NAME)  # waits for the running tick, which does not look
    harness.advance(6.0)
    harness.advance(2.0)
    harness.wait_event("hung", NAME)
    harness.wait_for(lambda: work.calls == 2, what="the restarted actor's tick")
    assert harness.named("backoff", NAME) == []  # the restart asked for, not a backoff
    work.release.set()


def test_a_hung_preflight_without_a_degraded_policy_fails_the_run(harness: Harness) -> None:
    work = Blocking(harness, cooperative=False)
    handle = harness.start(preflights=[Unit("preflight:p", work)], shutdown_timeout=1.0)
    harness.wait_for(lambda: work.calls == 1, what="the preflight")
    harness.advance(60.0)  # the floor of the default deadline
    harness.advance(1.0)
    result = handle.wait(10.0)
    work.release.set()
    assert result is not None and not result.ok and "preflight:p" in result.reason


@pytest.mark.parametrize(
    ("interval", "tick_deadline", "deadline"),
    [(10.0, 0.0, 100.0), (2.0, 0.0, 60.0), (10.0, 15.0, 15.0)],
)
def test_the_default_deadline_is_ten_intervals_at_least_60_s_unless_configured(
    harness: Harness, interval: float, tick_deadline: float, deadline: float
) -> None:
    work = Blocking(harness, cooperative=True)
    calm = Policies(
        worker=PhasePolicies(
            node=RestartPolicy(2.0, 120.0),
            service=RestartPolicy(5.0, 300.0),
            degraded=RestartPolicy(1000.0, 1000.0),
        )
    )
    harness.start(workers=[Unit(NAME, work, interval)], tick_deadline=tick_deadline, policies=calm)
    harness.wait_for(lambda: work.calls == 1, what="the tick")
    harness.advance(deadline - 0.5)
    assert work.cancelled_at == []
    harness.advance(1.5)
    harness.wait_for(lambda: work.cancelled_at, what="the cancellation")


def test_a_unit_deadline_must_be_positive() -> None:
    with pytest.raises(ValueError, match="deadline"):
        Unit(NAME, lambda ctx: None, 10.0, deadline=0.0)


def test_runtime_tick_deadline_is_a_setting_handed_to_the_supervisor() -> None:
    from autosolve.daemon.build import supervisor_options
    from autosolve.settings import SettingsError, settings_from_mapping

    assert supervisor_options(settings_from_mapping({})).tick_deadline == 0.0
    settings = settings_from_mapping({"runtime": {"tick_deadline": 90.0}})
    assert supervisor_options(settings).tick_deadline == 90.0
    with pytest.raises(SettingsError, match=r"runtime\.tick_deadline"):
        settings_from_mapping({"runtime": {"tick_deadline": -1}})


@pytest.mark.parametrize(
    ("unit_deadline", "tick_deadline", "allowance"),
    [(5.0, 0.0, 5.0), (None, 20.0, 20.0), (None, 0.0, 100.0)],  # 10 × the 10 s interval
)
def test_work_knows_how_long_its_tick_may_still_run(
    harness: Harness, unit_deadline: float | None, tick_deadline: float, allowance: float
) -> None:
    seen: list[tuple[float | None, float]] = []
    proceed = harness.backend.make_event()

    def work(ctx) -> None:
        seen.append((ctx.allowance, ctx.time_left()))
        harness.poke()
        if len(seen) == 1:
            proceed.wait(30.0)
            seen.append((ctx.allowance, ctx.time_left()))
            harness.poke()

    harness.start(
        workers=[Unit(NAME, work, 10.0, deadline=unit_deadline)], tick_deadline=tick_deadline
    )
    harness.wait_for(lambda: len(seen) == 1, what="the tick")
    harness.advance(allowance / 4)
    proceed.set()
    harness.wait_for(lambda: len(seen) == 2, what="the tick going on")
    assert seen == [(allowance, allowance), (allowance, allowance * 3 / 4)]
