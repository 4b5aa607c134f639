"""The issue poller's catch-up, driven by hand: progress logs, paging loops, the mirror's fields."""

from __future__ import annotations

import logging
import threading
from urllib.parse import urlencode

import pytest

from autosolve.domain import listing as poller_module
from autosolve.domain.spec import RepoTenant
from autosolve.domain.workers import IssuePoller
from autosolve.infra.github import MalformedResponseError
from autosolve.infra.github.client import ISSUES_PER_PAGE
from autosolve.runtime import ManualClock, WorkContext
from tests.pipeline.world import World

ISSUES = "/repos/octo/hello/issues"


def poll(world: World, clock: ManualClock | None = None) -> WorkContext:
    ctx = WorkContext("worker:issue-poller:octo/hello", threading.Event(), clock or ManualClock())
    tenant = RepoTenant("octo", "hello", world.store.repository_id("octo", "hello"))
    IssuePoller(world.github_client, world.store, 1.0).poll(ctx, tenant)
    return ctx


def test_a_catch_up_logs_progress_at_most_every_five_seconds_then_caught_up(world: World, caplog):
    for n in range(1000):
        world.github.add_issue("octo", "hello", title=f"issue {n}")
    world.validate()
    clock = ManualClock()
    # Every listing request takes two (manual) seconds.
    world.github.before_request = lambda request: clock.advance(2.0)
    caplog.set_level(logging.INFO, logger="autosolve.domain.workers.issue_poller")

    poll(world, clock)

    lines = [r.getMessage() for r in caplog.records]
    progress = [line for line in lines if "syncing issues" in line]
    # 12 listing requests, 2 s each: a line every third page (at 6, 12, 18 s), then
    # the 12th page, which is caught up, says so instead.
    assert len(world.github.requests_for(ISSUES)) == 12
    assert progress == [
        "octo/hello: syncing issues: 298 new or changed in 3 pages so far",
        "octo/hello: syncing issues: 595 new or changed in 6 pages so far",
        "octo/hello: syncing issues: 892 new or changed in 9 pages so far",
    ]
    assert lines[-1] == "octo/hello: caught up: 1000 issues new or changed in 12 pages"


def test_the_status_record_carries_the_catch_ups_progress(world: World):
    for n in range(250):
        world.github.add_issue("octo", "hello", title=f"issue {n}")
    world.validate()
    contexts: list[WorkContext] = []
    seen: list[dict | None] = []
    world.github.before_request = lambda request: seen.append(
        contexts[0].progress if contexts else None
    )
    clock = ManualClock()
    ctx = WorkContext("worker:issue-poller:octo/hello", threading.Event(), clock)
    contexts.append(ctx)
    tenant = RepoTenant("octo", "hello", world.store.repository_id("octo", "hello"))
    IssuePoller(world.github_client, world.store, 1.0).poll(ctx, tenant)

    last = world.github.issue("octo", "hello", 250).updated_at
    assert seen[:3] == [
        None,
        {"pages": 1, "stored": 100, "since": world.github.issue("octo", "hello", 100).updated_at,
         "caught_up": False},
        {"pages": 2, "stored": 199, "since": world.github.issue("octo", "hello", 199).updated_at,
         "caught_up": False},
    ]  # fmt: skip
    assert ctx.progress == {"pages": 4, "stored": 250, "since": last, "caught_up": True}


def test_the_mirror_keeps_every_issue_with_its_author_and_creation_time(world: World):
    world.github.add_issue("octo", "hello", state="closed", created_at="2020-02-02T02:02:02Z")
    world.github.add_issue("octo", "hello", pull_request=True, author="bot[bot]", author_type="Bot")
    world.validate()
    poll(world)
    closed, pull = world.store.get_issue(1, 1), world.store.get_issue(1, 2)
    assert closed is not None and pull is not None
    assert (closed.issue.state, closed.issue.created_at) == ("closed", "2020-02-02T02:02:02Z")
    assert (pull.issue.is_pull_request, pull.issue.author_login, pull.issue.author_type) == (
        True, "bot[bot]", "Bot")  # fmt: skip


def test_a_next_link_back_to_a_page_read_in_this_run_is_refused(world: World):
    for _ in range(250):  # one timestamp for all: only next links get past them
        world.github.add_issue("octo", "hello", updated_at="2025-05-05T05:05:05Z")
    world.validate()
    read: list[str] = []

    def page_two_links_back_to_page_one(request) -> None:
        read.append(f"{world.github.url}{request.path}?{urlencode(request.query)}")
        if request.query.get("page") == "2":
            world.github.fail_next(1, "self_next", path_prefix=ISSUES, url=read[0])

    world.github.before_request = page_two_links_back_to_page_one
    with pytest.raises(MalformedResponseError, match="a page already read in this run") as error:
        poll(world)
    assert f"points to {read[0]}" in str(error.value)
    assert [r.query.get("page") for r in world.github.requests_for(ISSUES)] == [None, None, "2"]


def test_a_run_longer_than_the_page_bound_is_refused(world: World, monkeypatch):
    for _ in range(250):
        world.github.add_issue("octo", "hello", updated_at="2025-05-05T05:05:05Z")
    world.validate()
    monkeypatch.setattr(poller_module, "MAX_PAGES_PER_RUN", 2)
    with pytest.raises(MalformedResponseError, match="more than 2 pages"):
        poll(world)
    assert len(world.github.requests_for(ISSUES)) == 2


def test_an_issue_shifted_onto_a_page_already_read_of_a_same_timestamp_run_is_still_mirrored(
    world: World,
):
    """Paging a run of one timestamp by page numbers: editing an issue of page 1 moves it
    to the end, and the first issue of page 2 slides onto page 1, already read."""
    run = ISSUES_PER_PAGE + 30
    for n in range(run):
        world.github.add_issue("octo", "hello", title=f"bulk {n}",
                               updated_at="2025-05-05T05:05:05Z")  # fmt: skip
    world.validate()

    def edit_issue_one_before_page_two(request) -> None:
        if request.query.get("page") == "2" and world.github.issue("octo", "hello", 1).title != "x":
            world.github.edit_issue("octo", "hello", 1, title="x")

    world.github.before_request = edit_issue_one_before_page_two
    poll(world)

    stored = {n for n in range(1, run + 1) if world.store.get_issue(1, n) is not None}
    assert stored == set(range(1, run + 1))
