"""Whole organisations: every repository of ``github.organizations`` is watched, and the
discoverer adds and removes repositories live (the daemon in-process, on the fakes)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fakes.github import FakeGitHub
from tests.pipeline.daemon import query, wait_until
from tests.plans import repository_units

DISCOVERER = "worker:repository-discoverer:octo"


def watched(daemon) -> set[str]:
    """The repositories whose units run."""
    return {tenant for tenant in daemon.app.plan.groups if "/" in tenant}


def settle(daemon) -> None:
    """Wait until a replan the discoverer asked for is done."""
    assert daemon.app.replanner.idle.wait(10.0), "the replan did not finish"


def test_every_watchable_repository_of_an_organisation_is_discovered_at_start(
    github: FakeGitHub, make_settings, running, db: Path
) -> None:
    for name in ("a", "b", "old", "skipped"):
        github.add_repo("octo", name)
        github.add_issue("octo", name, title=f"issue of {name}")
    github.archive_repo("octo", "old")
    github.add_repo("someone", "else")
    daemon = running(make_settings(["someone/else"], github={
        "organizations": ["octo"], "exclude": ["octo/skip*"]}))  # fmt: skip
    wait_until(lambda: watched(daemon) == {"someone/else", "octo/a", "octo/b"}, what="discovered")
    settle(daemon)
    for repository in ("octo/a", "octo/b"):
        for name in repository_units(daemon.app.settings, repository):
            daemon.wait_state(name, "succeeded" if name.startswith("preflight:") else "idle")
    wait_until(lambda: query(db, "SELECT count(*) FROM issues") == [(2,)], what="2 mirrored")
    assert "preflight:repository-discoverer:octo" in daemon.children()
    assert github.requests_for("/repos/octo/old") == []  # archived: never validated
    assert github.requests_for("/repos/octo/skipped") == []  # excluded


def test_the_discoverer_adds_new_repositories_and_stops_vanished_ones_keeping_their_mirror(
    github: FakeGitHub, make_settings, running, db: Path
) -> None:
    for name in ("a", "b", "c"):
        github.add_repo("octo", name)
        github.add_issue("octo", name, title=f"issue of {name}")
    daemon = running(make_settings([], github={"organizations": ["octo"]},
                                   intervals={"repository_discoverer": 0.2}))  # fmt: skip
    wait_until(lambda: query(db, "SELECT count(*) FROM issues") == [(3,)], what="3 mirrored")
    spawned_a = daemon.spawned("worker:issue-poller:octo/a")
    github.add_repo("octo", "new")
    github.add_issue("octo", "new", title="issue of new")
    github.archive_repo("octo", "b")
    github.delete_repo("octo", "c")
    wait_until(lambda: watched(daemon) == {"octo/a", "octo/new"}, what="the new list")
    settle(daemon)
    wait_until(lambda: query(db, "SELECT count(*) FROM issues") == [(4,)], what="new mirrored")
    children = daemon.children()
    assert not any(name.endswith(("octo/b", "octo/c")) for name in children)
    assert children["worker:issue-poller:octo/new"]["group"] > 0
    assert daemon.spawned("worker:issue-poller:octo/a") == spawned_a  # the others run on
    restarted = [e.name for e in daemon.events if e.kind == "restarted"]
    assert [n for n in restarted if not n.endswith("octo/c")] == []  # only the deleted one's
    names = "SELECT r.name FROM issues i JOIN repositories r ON r.id = i.repository_id"
    assert sorted(row[0] for row in query(db, names)) == ["a", "b", "c", "new"]  # kept


def test_an_organisation_github_does_not_know_fails_its_discoverer_preflight(
    github: FakeGitHub, make_settings, running
) -> None:
    daemon = running(make_settings([], github={"organizations": ["ghost"]}))
    daemon.wait_state("preflight:repository-discoverer:ghost", "failed")
    error = daemon.children()["preflight:repository-discoverer:ghost"]["last_error"]
    assert "organisation ghost not found" in error


@pytest.mark.parametrize("removed", ["the organisation", "nothing"])
def test_a_reload_without_the_organisation_stops_its_repositories(
    removed: str, github: FakeGitHub, make_settings, running
) -> None:
    github.add_repo("octo", "a")
    daemon = running(make_settings([], github={"organizations": ["octo"]}))
    wait_until(lambda: watched(daemon) == {"octo/a"}, what="discovered")
    settle(daemon)
    if removed == "nothing":
        assert daemon.reload()["removed"] == []
        assert watched(daemon) == {"octo/a"}
        return
    daemon.rewrite(github={"organizations": [], "repositories": ["octo/a"]})
    answer = daemon.reload()
    assert answer["removed"] == [
        "preflight:repository-discoverer:octo", "worker:repository-discoverer:octo"
    ]  # fmt: skip
    assert watched(daemon) == {"octo/a"}  # still configured by name: kept
    assert DISCOVERER not in daemon.children()
