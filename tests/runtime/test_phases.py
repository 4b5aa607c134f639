"""The two phases: every preflight succeeds before any worker starts."""

from __future__ import annotations

import pytest

from autosolve.runtime import PhasePolicies, Policies, RestartPolicy, Unit
from tests.runtime.errors import Doomed, node_error
from tests.runtime.harness import Harness


def noop(ctx):
    pass


def test_workers_start_only_after_every_preflight_succeeded(harness: Harness) -> None:
    release = harness.backend.make_event()
    worker_runs: list[str] = []

    def slow_preflight(ctx):
        release.wait(5.0)

    handle = harness.start(
        preflights=[Unit("preflight:a", noop), Unit("preflight:b", slow_preflight)],
        workers=[Unit("worker:w", lambda ctx: worker_runs.append("ran"), 10.0)],
    )
    harness.wait_event("succeeded", "preflight:a")
    assert handle.status()["phase"] == "preflight"
    assert worker_runs == []
    release.set()
    harness.wait_for(lambda: worker_runs, what="the worker's first run")
    status = handle.status()
    assert status["phase"] == "workers"
    assert [c["state"] for c in status["children"][:2]] == ["succeeded", "succeeded"]


def test_preflights_run_concurrently(harness: Harness) -> None:
    arrived = []
    both = harness.backend.make_event()

    def meet(ctx):
        arrived.append(ctx.name)
        harness.poke()
        if len(arrived) == 2:
            both.set()
        assert both.wait(5.0), "the other preflight never ran beside this one"

    harness.start(preflights=[Unit("preflight:a", meet), Unit("preflight:b", meet)])
    harness.wait_for(lambda: harness.handle.status()["phase"] == "workers", what="workers phase")


def test_a_failed_preflight_is_retried_and_then_lets_workers_start(harness: Harness) -> None:
    attempts = []

    def flaky(ctx):
        attempts.append(1)
        if len(attempts) == 1:
            raise node_error()

    ran = []
    harness.start(
        preflights=[Unit("preflight:flaky", flaky)],
        workers=[Unit("worker:w", lambda ctx: ran.append(1), 10.0)],
    )
    harness.wait_event("backoff", "preflight:flaky")
    assert ran == []
    harness.advance(2.0)
    harness.wait_for(lambda: ran, what="the worker after the preflight's retry")


def test_a_permanent_preflight_failure_means_no_worker_ever_starts(harness: Harness) -> None:
    ran = []

    def invalid(ctx):
        raise PermissionError("repository octo/private: 403")

    handle = harness.start(
        preflights=[Unit("preflight:ok", noop), Unit("preflight:bad", invalid)],
        workers=[Unit("worker:w", lambda ctx: ran.append(1), 1.0)],
    )
    result = handle.wait(5.0)
    assert result is not None and not result.ok
    assert "preflight:bad" in result.reason and "403" in result.reason
    assert ran == []
    assert harness.named("spawned", "worker:w") == []
    states = {c["name"]: c["state"] for c in handle.status()["children"]}
    assert states == {"preflight:ok": "succeeded", "preflight:bad": "failed", "worker:w": "pending"}


def test_a_permanent_preflight_failure_stops_the_preflights_still_running(
    harness: Harness,
) -> None:
    stopped_by_cancel = []

    def long_preflight(ctx):
        harness.poke()
        if ctx.wait(5.0):
            stopped_by_cancel.append(ctx.name)

    started = []

    def bad(ctx):
        harness.wait_for(lambda: started, what="the long preflight to start")
        raise ValueError("unusable")

    def long_and_flag(ctx):
        started.append(1)
        long_preflight(ctx)

    handle = harness.start(
        preflights=[Unit("preflight:long", long_and_flag), Unit("preflight:bad", bad)]
    )
    result = handle.wait(5.0)
    assert result is not None and not result.ok
    assert stopped_by_cancel == ["preflight:long"]


def test_stop_stops_workers_in_reverse_start_order(harness: Harness) -> None:
    harness.start(
        workers=[
            Unit("worker:a", noop, 10.0),
            Unit("worker:b", noop, 10.0),
            Unit("worker:c", noop, 10.0),
        ]
    )
    harness.wait_for(lambda: len(harness.named("spawned")) == 3, what="three workers")
    harness.stop()
    assert [e.name for e in harness.named("stopping")] == ["worker:c", "worker:b", "worker:a"]


def test_a_worker_failing_permanently_fails_the_run_and_stops_the_others(
    harness: Harness,
) -> None:
    no_degraded = Policies(
        worker=PhasePolicies(node=RestartPolicy(2.0, 120.0), service=RestartPolicy(5.0, 300.0))
    )

    def broken(ctx):
        raise ValueError("corrupt")

    handle = harness.start(
        preflights=[Unit("preflight:p", noop)],
        workers=[
            Unit("worker:a", noop, 10.0),
            Unit("worker:b", broken, 10.0),
            Unit("worker:c", noop, 10.0),
        ],
        policies=no_degraded,
    )
    result = handle.wait(5.0)
    assert result is not None and not result.ok and "worker:b" in result.reason
    assert [e.name for e in harness.named("stopping")] == [
        "worker:c", "worker:b", "worker:a", "preflight:p",
    ]  # fmt: skip
    final = handle.status()
    assert final["phase"] == "failed"
    assert [c["state"] for c in final["children"]] == ["succeeded", "stopped", "failed", "stopped"]


def test_a_fatal_failure_ends_the_run_although_every_category_has_a_retry_policy(
    harness: Harness,
) -> None:
    def doomed(ctx):
        raise Doomed("database file /srv/autosolve.db was removed or replaced")

    handle = harness.start(
        preflights=[Unit("preflight:p", noop)],
        workers=[Unit("worker:a", noop, 10.0), Unit("worker:b", doomed, 10.0)],
    )
    result = handle.wait(5.0)
    assert result is not None and not result.ok
    assert "worker:b failed permanently" in result.reason
    assert "no retry can help" in result.reason and "was removed or replaced" in result.reason
    assert harness.named("backoff") == []
    assert [c["state"] for c in handle.status()["children"]] == ["succeeded", "stopped", "failed"]


def test_duplicate_unit_names_are_refused_at_start(harness: Harness) -> None:
    with pytest.raises(ValueError, match="duplicate unit names: worker:x"):
        harness.start(workers=[Unit("worker:x", noop, 1.0), Unit("worker:x", noop, 2.0)])
