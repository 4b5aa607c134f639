"""Issue #11: each repository's poll interval follows its activity.

The daemon runs in-process on the runtime's manual clock, so minutes of quiet
pass in an instant (the gevent backend needs its hub in the test's thread:
the subprocess tests in test_budget.py cover it).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import autosolve
from autosolve.runtime import ManualClock, RuntimeHandle
from autosolve.settings import settings_from_mapping
from tests.fakes.github import FakeGitHub
from tests.pipeline.daemon import query, wait_until

POLLER = "worker:issue-poller:octo/hello"
FASTEST, SLOWEST = 10.0, 300.0


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def daemon(github: FakeGitHub, make_settings, clock: ManualClock) -> Iterator[RuntimeHandle]:
    github.add_repo("octo", "hello")
    github.add_issue("octo", "hello", title="the first")
    data = make_settings(
        ["octo/hello"],
        # Nothing is analysed: autosolve's own comment would be a change too.
        github={"issues": {"required_label": "never-set"}},
        intervals={"issue_poller": FASTEST, "issue_poller_max": SLOWEST,
                   "outbox_relay": 5.0, "issue_explainer": 2.0},
    )  # fmt: skip
    handle = autosolve.start(settings_from_mapping(data), clock=clock)
    yield handle
    handle.stop(timeout=15.0)


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(int(epoch), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def poller(handle: RuntimeHandle) -> dict[str, Any]:
    return next(c for c in handle.status()["children"] if c["name"] == POLLER)


def titles(db: Path) -> list[str]:
    return [row[0] for row in query(db, "SELECT title FROM issues ORDER BY number")]


def tick(handle: RuntimeHandle, clock: ManualClock, seconds: float) -> None:
    """Move time on by ``seconds`` and wait for the poll that falls due then."""
    runs = poller(handle)["runs"]
    clock.advance(seconds)
    wait_until(lambda: poller(handle)["runs"] == runs + 1 and poller(handle)["state"] == "idle",
               what="the poll")  # fmt: skip


def test_a_repository_that_just_changed_is_polled_at_the_fastest_interval(
    daemon: RuntimeHandle, clock: ManualClock, github: FakeGitHub, db: Path
) -> None:
    wait_until(lambda: titles(db) == ["the first"], what="the initial sync")
    wait_until(lambda: poller(daemon)["state"] == "idle", what="the poll done")
    assert poller(daemon)["interval"] == FASTEST
    github.add_issue("octo", "hello", title="a moment later")
    tick(daemon, clock, FASTEST)  # well within 2 x intervals.issue_poller
    assert titles(db) == ["the first", "a moment later"]
    assert poller(daemon)["interval"] == FASTEST


def test_a_quiet_repository_slows_down_and_a_change_is_seen_within_its_interval(
    daemon: RuntimeHandle, clock: ManualClock, github: FakeGitHub, db: Path
) -> None:
    wait_until(lambda: titles(db) == ["the first"], what="the initial sync")
    wait_until(lambda: poller(daemon)["state"] == "idle", what="the poll done")
    intervals = [poller(daemon)["interval"]]
    while intervals[-1] < SLOWEST and len(intervals) < 30:  # minutes of quiet, poll by poll
        tick(daemon, clock, intervals[-1])
        intervals.append(poller(daemon)["interval"])
    assert intervals[:5] == [FASTEST, FASTEST, FASTEST, 15.0, 22.5]  # half the quiet time
    assert intervals == sorted(intervals) and intervals[-1] == SLOWEST
    polls = len(github.requests_for("/repos/octo/hello/issues"))
    github.add_issue("octo", "hello", title="after a long quiet")
    clock.advance(SLOWEST - 1.0)
    assert poller(daemon)["next_run_at"] > iso(clock.time())  # not due yet
    assert len(github.requests_for("/repos/octo/hello/issues")) == polls
    tick(daemon, clock, 1.0)
    assert titles(db) == ["the first", "after a long quiet"]
    assert poller(daemon)["interval"] == FASTEST  # a change: fast again


def test_githubs_poll_interval_header_is_honoured(
    daemon: RuntimeHandle, clock: ManualClock, github: FakeGitHub, db: Path
) -> None:
    wait_until(lambda: titles(db) == ["the first"], what="the initial sync")
    wait_until(lambda: poller(daemon)["state"] == "idle", what="the poll done")
    github.fail_next(1, "status", "/repos/octo/hello/issues", status=200, body=[],
                     headers={"X-Poll-Interval": "600"})  # fmt: skip
    tick(daemon, clock, FASTEST)
    assert poller(daemon)["interval"] == 600.0  # beyond even issue_poller_max
