"""The demo's world: a history before autosolve came, then new issues and maintainers' answers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from autosolve.demo.catalog import CATALOG
from autosolve.demo.clock import SimulationClock, parse_iso
from autosolve.demo.github import SimulatedGitHub
from autosolve.demo.world import REMARK_EVERY, DemoWorld


@pytest.fixture
def world() -> Iterator[DemoWorld]:
    with SimulatedGitHub("token", clock=SimulationClock.following_wall()) as github:
        seeded = DemoWorld(github)
        seeded.seed()
        yield seeded
        seeded.stop()


def test_the_history_happened_before_now_with_closed_and_open_issues(world: DemoWorld) -> None:
    started = datetime.now(UTC)
    for repo in CATALOG:
        seeded = world.github.repo(repo.owner, repo.name).issues.values()
        assert sorted(issue.title for issue in seeded) == sorted(s.title for s in repo.history)
        assert all(parse_iso(issue.updated_at) < started for issue in seeded)
        assert {issue.state for issue in seeded} == {"open", "closed"}


def test_the_repositories_have_their_labels(world: DemoWorld) -> None:
    for repo in CATALOG:
        names = {label.name for label in world.github.labels(repo.owner, repo.name)}
        assert names == {label.name for label in repo.labels}


def test_each_step_opens_the_next_issue_taking_turns_across_the_repositories(
    world: DemoWorld,
) -> None:
    opened = [world.step() for _ in CATALOG]
    assert [full_name for full_name, _ in opened] == [repo.full_name for repo in CATALOG]
    for repo, found in zip(CATALOG, opened, strict=True):
        assert found[1] == len(repo.history) + 1
        assert world.github.issue(*split(found)).title == repo.arrivals[0].title


def test_a_maintainer_answers_the_previous_new_issue_every_few_arrivals(world: DemoWorld) -> None:
    opened = [world.step() for _ in range(REMARK_EVERY)]
    commented = [found for found in opened if world.github.comments(*split(found))]
    assert commented == [opened[-2]]
    [remark] = world.github.comments(*split(opened[-2]))
    maintainers = {repo.full_name: repo.maintainers for repo in CATALOG}[opened[-2][0]]
    assert remark.user in maintainers
    assert remark.association in ("OWNER", "MEMBER", "COLLABORATOR")


def split(found: tuple[str, int]) -> tuple[str, str, int]:
    owner, name = found[0].split("/")
    return owner, name, found[1]


def test_the_script_starts_over_when_it_ends(world: DemoWorld) -> None:
    arrivals = sum(len(repo.arrivals) for repo in CATALOG)
    opened = [world.step() for _ in range(arrivals + 1)]
    assert opened[-1][0] == opened[0][0]
    assert (
        world.github.issue(*split(opened[-1])).title == world.github.issue(*split(opened[0])).title
    )
