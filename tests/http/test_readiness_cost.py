"""Readiness costs the children that can be in trouble, never the whole status document.

``/readyz`` is probed every few seconds and the runtime holds up to a million
children, nearly all idle: the endpoint judges only the children in
:data:`JUDGED_STATES`, and must reach the verdict the whole document gives.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from autosolve.http.app import make_app
from autosolve.http.readiness import _REMEMBERED_FAILURES as REMEMBERED
from autosolve.http.readiness import JUDGED_STATES, Readiness, ReadinessRule
from autosolve.runtime import ChildState, EventKind, ManualClock, RuntimeEvent, RuntimeHandle, Unit
from tests.http.conftest import TOKEN, WORKERS, HandleDaemon, MeteredHarness
from tests.http.test_app import call_app, refuse_connection
from tests.runtime.test_deadline import Blocking

SHUTDOWN_TIMEOUT = 0.2
"""Real seconds a stopped child's work may ignore the stop before it is abandoned."""


class TwoJudges(MeteredHarness):
    """The endpoint's harness with a second rule, for judging whole documents."""

    def __init__(self, backend_name: str) -> None:
        super().__init__(backend_name)
        self.whole = ReadinessRule(clock=self.clock)

    def _observe(self, event: RuntimeEvent) -> None:
        self.whole.observe(event)
        super()._observe(event)

    def verdicts(self, handle: RuntimeHandle) -> tuple[Readiness, Readiness]:
        """The judgement of the children in the judged states, and of the whole document."""
        return (
            self.readiness.judge(handle.status_in(JUDGED_STATES)),
            self.whole.judge(handle.status()),
        )


@pytest.fixture
def judges(backend: str) -> Iterator[TwoJudges]:
    harness = TwoJudges(backend)
    yield harness
    harness.stop()


class WholeDocumentRefused(HandleDaemon):
    """A daemon whose whole status document is never to be asked for."""

    asked = 0

    def status(self) -> dict[str, Any]:
        self.asked += 1
        raise AssertionError("the whole status document was asked for")


def test_readyz_and_the_banner_never_ask_for_the_whole_status_document(
    judges: TwoJudges,
) -> None:
    handle = judges.start(workers=(*WORKERS, Unit("worker:broken", refuse_connection, 10.0)))
    judges.wait_event("backoff", "worker:broken")
    judges.advance(judges.readiness.grace + 1)
    judges.wait_for(lambda: len(judges.named("failed", "worker:broken")) >= 2)
    daemon = WholeDocumentRefused(handle, dict)
    app = make_app(daemon, judges.metrics, token=TOKEN, readiness=judges.readiness)
    readyz = call_app(app, "/readyz")
    banner = call_app(app, "/api/readiness", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert (readyz[0], banner[0], daemon.asked) == (503, 200, 0)
    whole = judges.whole.judge(handle.status())
    assert (json.loads(readyz[2]), json.loads(banner[2])) == (whole.document(), whole.banner())
    assert whole.failing == ("worker:broken",)


def stop_when_failing(handle: RuntimeHandle, judges: TwoJudges, name: str, *, pause: bool) -> None:
    judges.wait_event("backoff", name)
    if pause:
        handle.pause(name)
    else:
        handle.stop_children(name)


def run_in_every_state(judges: TwoJudges, release: list[Any]) -> RuntimeHandle:
    """A run with children in every state, some of them with failures in a row."""
    healthy = threading.Event()

    def flaky(ctx: object) -> None:  # fails once, then succeeds: idle, its counters reset
        if not healthy.is_set():
            healthy.set()
            refuse_connection(ctx)

    def invalid(ctx: object) -> None:
        raise ValueError("no such repository")  # unknown error: permanent in a preflight

    running, stuck, validating = (Blocking(judges, cooperative=False) for _ in range(3))
    release += [running.release, stuck.release, validating.release]
    broken = ["worker:broken", "worker:broken-paused", "worker:broken-stopped"]
    handle = judges.start(
        [Unit("preflight:ok", lambda ctx: None)],
        [*WORKERS, *(Unit(name, refuse_connection, 10.0) for name in broken),
         Unit("worker:flaky", flaky, 10.0), Unit("worker:paused", lambda ctx: None, 10.0),
         Unit("worker:stopped", lambda ctx: None, 10.0), Unit("worker:running", running, 10.0),
         Unit("worker:abandoned", stuck, 10.0)],
        shutdown_timeout=SHUTDOWN_TIMEOUT,
    )  # fmt: skip
    judges.wait_for(lambda: running.calls and stuck.calls, what="the blocking ticks")
    handle.add([Unit("preflight:invalid", invalid)], [Unit("worker:never", lambda ctx: None, 9)])
    handle.add([Unit("preflight:slow", validating)], [Unit("worker:later", lambda ctx: None, 9)])
    stop_when_failing(handle, judges, "worker:broken-paused", pause=True)
    stop_when_failing(handle, judges, "worker:broken-stopped", pause=False)
    handle.pause("worker:paused")
    handle.stop_children(["worker:stopped", "worker:abandoned"])
    judges.wait_event("abandoned", "worker:abandoned")
    judges.wait_for(lambda: validating.calls, what="the slow validator")
    judges.wait_event("failed", "preflight:invalid")
    judges.advance(30.0)  # the flaky worker's restart succeeds; the paused one's actor pauses
    judges.wait_for(lambda: judges.child("worker:flaky")["runs"] == 1, what="a success")
    return handle


def test_the_judged_states_give_the_whole_documents_verdict_in_every_state_of_a_run(
    judges: TwoJudges,
) -> None:
    release: list[Any] = []
    try:
        handle = run_in_every_state(judges, release)
        states = {child["state"] for child in handle.status()["children"]}
        assert states == set(ChildState)
        judged, whole = judges.verdicts(handle)
        assert judged == whole
        assert {t.state for t in judged.troubles} >= {"backoff", "paused", "stopped", "failed"}
        retried = len(judges.named("backoff", "worker:broken")) + 1
        judges.advance(judges.readiness.grace + 1)  # failing past the grace: not ready
        # Its retry fell due meanwhile: judged once it failed again, not while it runs.
        judges.wait_event("backoff", "worker:broken", count=retried)
        judged, whole = judges.verdicts(handle)
        assert (judged, judged.status) == (whole, "not ready")
        handle.stop(timeout=10.0)
        judged, whole = judges.verdicts(handle)
        assert (judged, judged.phase) == (whole, "stopped")
    finally:
        for event in release:
            event.set()


def failing_document(name: str, failures: int) -> dict[str, Any]:
    """A status document of one worker in backoff after ``failures`` failures in a row."""
    child = {"name": name, "kind": "worker", "state": "backoff", "attempts": {"node": failures}}
    return {"phase": "workers", "children": [child]}


def test_a_streak_more_than_remembered_is_dated_anew_after_a_success_left_out_of_the_document() -> (
    None
):
    clock = ManualClock()
    rule = ReadinessRule(clock=clock)
    many = REMEMBERED + 1

    def fail(times: int) -> None:
        for _ in range(times):
            rule.observe(RuntimeEvent(EventKind.FAILED, "worker:w"))
            clock.advance(1.0)

    fail(many)
    rule.judge(failing_document("worker:w", many))
    rule.judge({"phase": "workers", "children": []})  # it succeeded: idle, left out
    clock.advance(1000.0)
    second_streak = clock.time()
    fail(many)
    [trouble] = rule.judge(failing_document("worker:w", many)).troubles
    assert trouble.since is not None and trouble.since >= second_streak
