"""Issue #11: the whole daemon lives within GitHub's secondary limits.

The fake GitHub enforces the limits (tests/fakes/limits.py) and answers a
secondary-rate-limit 403 beyond them; the daemon is configured with the same
numbers. Time is compressed with ``github.budget.window`` (GitHub's minute
becomes a few seconds), never waited out with sleeps.
"""

from __future__ import annotations

import itertools
import signal
from pathlib import Path

import pytest

import autosolve
from autosolve.daemon.dependencies import BUDGET_WAIT
from autosolve.domain.workers import MARKER
from autosolve.settings import settings_from_mapping
from tests.fakes.github import FakeGitHub
from tests.fakes.limits import GitHubLimits
from tests.pipeline.daemon import DaemonProcess, query, wait_until

COMMENTS = "/comments"


def most_in_any_window(times: list[float], window: float) -> int:
    """The most events within any ``window`` seconds (a sliding window over sorted times)."""
    times = sorted(times)
    start, most = 0, 0
    for end, moment in enumerate(times):
        while moment - times[start] >= window:
            start += 1
        most = max(most, end - start + 1)
    return most


def posts(github: FakeGitHub) -> list:
    return [r for r in github.requests if r.method == "POST" and r.path.endswith(COMMENTS)]


def test_two_hundred_queued_analyses_are_posted_within_the_write_budget(
    github: FakeGitHub, make_settings, run_daemon, db: Path
) -> None:
    github.limits = GitHubLimits(points=100_000, window=1.0, writes=20, writes_long=10_000)
    repositories = [f"octo/r{n}" for n in range(4)]
    for repository in repositories:
        github.add_repo(*repository.split("/"))
    budget = {"points_per_minute": 100_000, "concurrency": 20, "writes_per_minute": 20,
              "writes_per_hour": 10_000, "window": 1.0}  # fmt: skip
    run_daemon(make_settings(repositories, github={"budget": budget}))
    wait_until(lambda: query(db, "SELECT count(*) FROM repositories") == [(4,)], what="started")
    for repository, n in itertools.product(repositories, range(50)):
        github.add_issue(*repository.split("/"), title=f"issue {n}")
    wait_until(lambda: len(posts(github)) == 200, timeout=120, what="200 comments")
    assert github.limits.rejected == []
    assert most_in_any_window([r.monotonic for r in posts(github)], 1.0) <= 20
    for repository in repositories:
        owner, name = repository.split("/")
        assert all(
            sum(MARKER in c.body for c in github.comments(owner, name, n)) == 1
            for n in range(1, 51)
        )


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.parametrize("backend", ["threading", "gevent"])
def test_five_hundred_repositories_run_a_minute_without_a_secondary_rate_limit(
    github: FakeGitHub, make_settings, write_settings, db: Path, backend: str
) -> None:
    github.limits = GitHubLimits(points=60, window=10.0, concurrency=100, writes=5, writes_long=100)
    repositories = [f"fleet/repo{n}" for n in range(500)]
    for repository in repositories:
        github.add_repo(*repository.split("/"))
        github.add_issue(*repository.split("/"), title="an old issue")
    budget = {"points_per_minute": 60, "concurrency": 20, "writes_per_minute": 5,
              "writes_per_hour": 100, "window": 10.0}  # fmt: skip
    settings = make_settings(
        repositories,
        github={"budget": budget},
        intervals={"issue_poller": 1.0, "issue_poller_max": 30.0},
        runtime={"backend": backend, "shutdown_timeout": 10.0},
        log={"level": "WARNING"},
    )
    with DaemonProcess(write_settings(settings)) as daemon:
        assert github.wait_for_requests(1, timeout=60), daemon.log
        first = github.requests[0].monotonic
        wait_until(lambda: github.requests[-1].monotonic - first >= 60.0 or daemon.process.poll(),
                   timeout=120, what="a minute of traffic")  # fmt: skip
        assert daemon.process.poll() is None, daemon.log
        daemon.signal(signal.SIGTERM)
        assert daemon.wait(60) == 0, daemon.log[-3000:]
    assert github.limits.rejected == []
    assert not [r for r in github.requests if r.status == 429]
    # It used the budget, not just avoided it: at least a window's worth went through.
    assert github.limits.admitted >= 60
    assert github.limits.peak_points <= 60


POINTS = 5
"""The budget of the two tests below: five requests per window."""
WAITING = 8 - (POINTS - 1)
"""Of eight repositories' validators, those left waiting once the identity (``GET /user``)
and four repositories spent the window's points."""


def test_a_stop_does_not_wait_for_the_budget(
    github: FakeGitHub, make_settings, tmp_path: Path
) -> None:
    """Requests waiting for budget when the stop begins give up at once: nothing is abandoned."""
    repositories = [f"octo/r{n}" for n in range(WAITING + POINTS - 1)]
    for repository in repositories:
        github.add_repo(*repository.split("/"))
    # 5 points per 21 s: five requests go (who autosolve is, four repositories), the
    # other preflights wait (within their patience).
    budget = {"points_per_minute": POINTS, "concurrency": 20, "writes_per_minute": 1,
              "writes_per_hour": 1, "window": 20.0}  # fmt: skip
    data = make_settings(repositories, github={"budget": budget})
    events: list = []
    handle = autosolve.start(settings_from_mapping(data), observer=events.append)
    try:
        assert github.wait_for_requests(POINTS, timeout=20)
        wait_until(lambda: handle.status()["phase"] == "preflight" and len(
            [c for c in handle.status()["children"] if c["state"] == "running"]) == WAITING,
            what="the preflights waiting for budget")  # fmt: skip
    finally:
        result = handle.stop(timeout=30)
    assert result is not None and result.ok, result
    assert [e for e in events if e.kind == "abandoned"] == []
    assert len(github.requests) == POINTS


def test_a_child_waiting_for_budget_shows_it_in_its_progress(
    github: FakeGitHub, make_settings, run_daemon
) -> None:
    repositories = [f"octo/r{n}" for n in range(WAITING + POINTS - 1)]
    for repository in repositories:
        github.add_repo(*repository.split("/"))
    # 5 points per 3 s: five requests go at once (who autosolve is, four repositories),
    # the other preflights wait a window.
    budget = {"points_per_minute": POINTS, "concurrency": 20, "writes_per_minute": 1,
              "writes_per_hour": 1, "window": 2.0}  # fmt: skip
    handle = run_daemon(make_settings(repositories, github={"budget": budget}))

    def waiting() -> list[str]:
        return [c["name"] for c in handle.status()["children"]
                if BUDGET_WAIT in (c.get("progress") or {})]  # fmt: skip

    wait_until(lambda: len(waiting()) == WAITING, what="the children waiting for budget")
    assert all(name.startswith("preflight:repository-validator:") for name in waiting())
    wait_until(lambda: handle.status()["phase"] == "workers", what="every preflight done")
    assert [name for name in waiting() if name.startswith("preflight:")] == []


def test_a_steady_state_analysis_costs_one_request(
    github: FakeGitHub, make_settings, run_daemon, db: Path
) -> None:
    """The comment: the labels and the thread (the marker check) come from the mirror."""
    github.add_repo("octo", "hello")
    run_daemon(make_settings(["octo/hello"], github={"issues": {"required_label": "autosolve"}}))
    wait_until(lambda: [r.status for r in github.requests_for("/repos/octo/hello/issues")][-1:]
               == [304], what="a poller in steady state")  # fmt: skip
    issue = github.add_issue("octo", "hello", title="a new bug", labels=["AutoSolve"])
    wait_until(lambda: posts(github), what="the analysis posted")
    # Our comment bumps the issue: wait until that change went through the queue too.
    bumped = github.issue("octo", "hello", issue.number).updated_at
    wait_until(lambda: query(db, "SELECT github_updated_at FROM issues") == [(bumped,)],
               what="the bump mirrored")  # fmt: skip
    wait_until(lambda: query(db, "SELECT count(*) FROM jobs") == [(0,)], what="an empty queue")
    about_the_issue = [
        (r.method, r.path) for r in github.requests
        if r.path.startswith(f"/repos/octo/hello/issues/{issue.number}")
    ]  # fmt: skip
    assert about_the_issue == [("POST", f"/repos/octo/hello/issues/{issue.number}/comments")]
