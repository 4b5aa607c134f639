"""The supervisor survives its own bugs, and the handle learns when it dies anyway."""

from __future__ import annotations

import logging

import pytest

from autosolve.runtime import Unit
from autosolve.runtime.child import ChildBehaviour
from autosolve.runtime.supervisor import SupervisorBehaviour
from tests.runtime.errors import node_error
from tests.runtime.harness import Harness

NAME = "worker:w"


class HintOfNothing(Exception):
    """Declares a wait hint, then has none: ``wait_seconds()`` returns None."""

    def wait_seconds(self):
        return None


class Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("cannot print me")


def test_a_classifier_that_raises_is_logged_and_the_failure_treated_as_degraded(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)

    def work(ctx):
        raise HintOfNothing("limited")

    handle = harness.start(workers=[Unit(NAME, work, 10.0)])
    harness.wait_event("backoff", NAME)
    assert harness.backoff_delays(NAME) == [30.0]
    assert any(r.exc_info and "classif" in r.getMessage() for r in caplog.records)
    harness.advance(30.0)
    harness.wait_event("spawned", NAME, count=2)
    assert handle.status()["phase"] == "workers"
    assert handle.pause(NAME) == [NAME]  # control calls still answered


def test_an_error_whose_str_raises_still_fails_and_restarts_the_child(harness: Harness) -> None:
    def work(ctx):
        raise Unprintable()

    harness.start(workers=[Unit(NAME, work, 10.0)])
    harness.wait_event("backoff", NAME)
    record = harness.child(NAME)
    assert record["state"] == "backoff"
    assert record["last_error"].startswith("Unprintable")
    harness.advance(30.0)
    harness.wait_event("spawned", NAME, count=2)


def test_an_observer_that_raises_a_base_exception_does_not_stop_the_run(
    harness: Harness,
) -> None:
    calls = []

    def observer(event):
        calls.append(event)
        harness.poke()
        raise SystemExit("observer bug")

    from autosolve.runtime import SupervisorOptions, start_runtime

    handle = start_runtime(
        [],
        [Unit(NAME, lambda ctx: None, 10.0)],
        backend=harness.backend,
        clock=harness.clock,
        options=SupervisorOptions(observer=observer, shutdown_timeout=5.0),
    )
    harness.handle = handle
    harness.wait_for(lambda: handle.status()["children"][0]["runs"] == 1, what="a run")
    assert handle.status()["phase"] == "workers"
    assert handle.stop(timeout=10.0).ok


def test_a_child_that_dies_outside_its_work_is_restarted(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = ChildBehaviour._schedule_next
    broken = []

    def schedule_next_once_broken(self):
        if not broken:
            broken.append(1)
            raise RuntimeError("bug in the child's own code")
        original(self)

    monkeypatch.setattr(ChildBehaviour, "_schedule_next", schedule_next_once_broken)
    handle = harness.start(workers=[Unit(NAME, lambda ctx: None, 10.0)])
    harness.wait_event("backoff", NAME)
    assert "bug in the child's own code" in harness.child(NAME)["last_error"]
    harness.advance(30.0)
    harness.wait_event("spawned", NAME, count=2)
    harness.wait_for(lambda: harness.child(NAME)["state"] == "idle", what="idle")
    assert handle.status()["phase"] == "workers"


def test_when_the_supervisor_dies_the_handle_reports_a_failed_run_naming_the_crash(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(self, message):
        raise ZeroDivisionError("supervisor bug")

    monkeypatch.setattr(SupervisorBehaviour, "_on_child_failed", crash)
    ticks = []

    def work(ctx):
        ticks.append(1)
        harness.poke()
        if len(ticks) == 1:
            raise node_error()

    handle = harness.start(workers=[Unit(NAME, work, 1.0), Unit("worker:other", work, 1.0)])
    result = handle.wait(10.0)
    assert result is not None and not result.ok
    assert "supervisor" in result.reason and "ZeroDivisionError: supervisor bug" in result.reason
    status = handle.status()
    assert status["phase"] == "failed"
    assert {c["name"] for c in status["children"]} == {NAME, "worker:other"}
    seen = len(ticks)
    harness.clock.advance(10.0)
    harness.clock.advance(10.0)
    assert len(ticks) == seen  # no child ticks on without its supervisor
