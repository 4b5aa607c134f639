"""Failure, classification and Erlang-style restart, on a manual clock."""

from __future__ import annotations

import logging

import pytest

from autosolve.runtime import PhasePolicies, Policies, RestartPolicy, Unit
from autosolve.runtime.child import ChildBehaviour
from tests.runtime.errors import CATEGORY_ERRORS, RateLimited, node_error
from tests.runtime.harness import Harness

NAME = "worker:flaky"


def always_failing(make_error):
    def work(ctx):
        raise make_error()

    return work


def run_failures(harness: Harness, name: str, rounds: int) -> list[float]:
    """Let ``name`` fail ``rounds`` times, advancing exactly by each chosen delay."""
    for round_ in range(1, rounds + 1):
        harness.wait_event("backoff", name, count=round_)
        harness.advance(harness.backoff_delays(name)[-1])
    return harness.backoff_delays(name)[:rounds]


@pytest.mark.parametrize(
    ("category", "expected"),
    [
        ("node", [2, 4, 8, 16, 32, 64, 120, 120]),
        ("service", [5, 10, 20, 40, 80, 160, 300, 300]),
        ("degraded", [30, 60, 120, 240, 300, 300, 300, 300]),
    ],
)
def test_worker_backoff_follows_the_default_policy_table(
    harness: Harness, category: str, expected: list[float]
) -> None:
    harness.start(workers=[Unit(NAME, always_failing(CATEGORY_ERRORS[category]), 10.0)])
    assert run_failures(harness, NAME, len(expected)) == expected
    assert harness.child(NAME)["attempts"][category] >= len(expected)
    assert harness.handle.result is None  # unlimited retries: the run goes on


@pytest.mark.parametrize(
    ("category", "expected"),
    [("node", [2, 4, 8, 16, 32, 64, 120, 120]), ("service", [5, 10, 20, 40, 80, 160, 300, 300])],
)
def test_preflight_backoff_follows_the_default_policy_table(
    harness: Harness, category: str, expected: list[float]
) -> None:
    name = "preflight:flaky"
    harness.start(preflights=[Unit(name, always_failing(CATEGORY_ERRORS[category]))])
    assert run_failures(harness, name, len(expected)) == expected


def test_unknown_error_in_a_preflight_is_permanent_by_default(harness: Harness) -> None:
    handle = harness.start(preflights=[Unit("preflight:x", always_failing(ValueError))])
    result = handle.wait(5.0)
    assert result is not None and not result.ok
    assert "preflight:x" in result.reason and "no retry policy" in result.reason
    assert harness.named("backoff") == []


def test_degraded_retries_are_logged_at_error(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="autosolve.runtime")
    harness.start(workers=[Unit(NAME, always_failing(ValueError), 10.0)])
    harness.wait_event("backoff", NAME)
    harness.settle()
    levels = [r.levelno for r in caplog.records if NAME in r.getMessage()]
    assert levels and set(levels) == {logging.ERROR}


def test_node_retries_are_logged_at_warning(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="autosolve.runtime")
    harness.start(workers=[Unit(NAME, always_failing(node_error), 10.0)])
    harness.wait_event("backoff", NAME)
    harness.settle()
    assert {r.levelno for r in caplog.records if NAME in r.getMessage()} == {logging.WARNING}


def test_a_wait_hint_replaces_the_backoff_exactly(harness: Harness) -> None:
    harness.start(workers=[Unit(NAME, always_failing(lambda: RateLimited(42.125)), 10.0)])
    assert run_failures(harness, NAME, 3) == [42.125, 42.125, 42.125]


def test_restart_happens_exactly_when_the_delay_has_passed(harness: Harness) -> None:
    harness.start(workers=[Unit(NAME, always_failing(node_error), 10.0)])
    harness.wait_event("backoff", NAME)
    assert harness.child(NAME)["state"] == "backoff"
    harness.advance(1.999)
    assert len(harness.named("spawned", NAME)) == 1
    harness.advance(0.001)
    harness.wait_event("spawned", NAME, count=2)


def test_a_retry_budget_makes_the_next_failure_permanent(harness: Harness) -> None:
    budget = Policies(
        worker=PhasePolicies(
            node=RestartPolicy(initial=1.0, max=10.0, retries=2),
            service=RestartPolicy(5.0, 300.0),
        )
    )
    handle = harness.start(workers=[Unit(NAME, always_failing(node_error), 10.0)], policies=budget)
    run_failures(harness, NAME, 2)
    result = handle.wait(5.0)
    assert result is not None and not result.ok
    assert "after 2 node retries" in result.reason
    assert harness.backoff_delays(NAME) == [1.0, 2.0]


def test_a_success_resets_the_counters(harness: Harness) -> None:
    outcomes = iter([node_error(), node_error(), None, node_error()])

    def work(ctx):
        error = next(outcomes, None)
        if error is not None:
            raise error

    harness.start(workers=[Unit(NAME, work, 10.0)])
    run_failures(harness, NAME, 2)  # delays 2, 4; the third run succeeds
    harness.wait_for(lambda: harness.child(NAME)["runs"] == 1, what="a successful run")
    assert harness.child(NAME)["attempts"]["node"] == 0
    harness.advance(10.0)  # next tick fails again: back to the initial delay
    harness.wait_event("backoff", NAME, count=3)
    assert harness.backoff_delays(NAME) == [2.0, 4.0, 2.0]


def test_every_restart_starts_a_fresh_actor(harness: Harness) -> None:
    contexts: list[object] = []

    def work(ctx):
        contexts.append(ctx)
        raise node_error()

    harness.start(workers=[Unit(NAME, work, 10.0)])
    run_failures(harness, NAME, 3)
    harness.wait_for(lambda: len(contexts) == 4, what="the fourth run")
    assert len({id(ctx) for ctx in contexts}) == 4  # the objects are kept: ids are unique
    record = harness.child(NAME)
    assert (record["restarts"], record["failures"], record["actors"]) == (3, 4, 4)


def test_restart_intensity_ends_the_run(harness: Harness) -> None:
    fast = Policies(
        worker=PhasePolicies(
            node=RestartPolicy(initial=0.5, max=0.5), service=RestartPolicy(5.0, 300.0)
        )
    )
    handle = harness.start(
        workers=[Unit(NAME, always_failing(node_error), 10.0)],
        policies=fast,
        max_restarts=3,
        within_seconds=10.0,
    )
    run_failures(harness, NAME, 3)
    result = handle.wait(5.0)
    assert result is not None and not result.ok
    assert "restart intensity exceeded" in result.reason


def test_restarts_spread_out_in_time_stay_within_the_intensity(harness: Harness) -> None:
    slow = Policies(
        worker=PhasePolicies(
            node=RestartPolicy(initial=6.0, max=6.0), service=RestartPolicy(5.0, 300.0)
        )
    )
    handle = harness.start(
        workers=[Unit(NAME, always_failing(node_error), 10.0)],
        policies=slow,
        max_restarts=1,
        within_seconds=5.0,
    )
    run_failures(harness, NAME, 4)
    assert handle.result is None


def test_a_restart_due_while_the_old_actor_is_still_stopping_is_not_lost(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The old actor has reported its failure but not finished stopping yet."""
    stall = harness.backend.make_event()
    original = ChildBehaviour._fail

    def fail_then_stall(self, error):
        original(self, error)
        stall.wait(10.0)  # keeps the old actor busy, before it handles its stop

    monkeypatch.setattr(ChildBehaviour, "_fail", fail_then_stall)
    fast = Policies(
        worker=PhasePolicies(node=RestartPolicy(0.01, 0.01), service=RestartPolicy(5.0, 300.0))
    )
    harness.start(workers=[Unit(NAME, always_failing(node_error), 10.0)], policies=fast)
    harness.wait_event("backoff", NAME)
    harness.advance(0.01)  # the restart falls due while the old actor stalls
    stall.set()
    harness.wait_event("spawned", NAME, count=2)
    harness.wait_event("backoff", NAME, count=2)
    harness.advance(0.01)
    harness.wait_event("spawned", NAME, count=3)
