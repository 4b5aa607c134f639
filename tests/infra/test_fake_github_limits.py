"""The fake GitHub enforces the secondary limits, so a test that sees no 403 means something."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import requests

from tests.fakes.github import FakeGitHub
from tests.fakes.limits import GitHubLimits, Rejection

REPO = "/repos/octo/hello"


class Clock:
    def __init__(self) -> None:
        self.value = 50.0

    def __call__(self) -> float:
        return self.value


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub(token=None) as fake:
        fake.add_repo("octo", "hello")
        fake.add_issue("octo", "hello")
        yield fake


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


def get(session: requests.Session, github: FakeGitHub, path: str = REPO) -> requests.Response:
    return session.get(github.url + path, timeout=5)


def post(session: requests.Session, github: FakeGitHub) -> requests.Response:
    return session.post(f"{github.url}{REPO}/issues/1/comments", json={"body": "hi"}, timeout=5)


def test_without_limits_the_fake_answers_everything(github, session):
    assert {get(session, github).status_code for _ in range(50)} == {200}


def test_points_beyond_the_window_get_a_secondary_403_with_retry_after(github, session, clock):
    github.limits = GitHubLimits(points=6, window=10.0, clock=clock)
    assert post(session, github).status_code == 201  # 5 points
    assert get(session, github).status_code == 200  # 6
    clock.value += 4.0
    refused = get(session, github)
    assert refused.status_code == 403
    assert "secondary rate limit" in refused.json()["message"]
    assert refused.headers["retry-after"] == "6"
    assert github.limits.rejected == [Rejection("GET", REPO, "points", 6)]
    clock.value += 6.0
    assert get(session, github).status_code == 200


def test_a_304_costs_a_point_too(github, session, clock):
    github.limits = GitHubLimits(points=2, window=10.0, clock=clock)
    etag = get(session, github).headers["ETag"]
    cached = session.get(github.url + REPO, headers={"If-None-Match": etag}, timeout=5)
    assert cached.status_code == 304
    assert get(session, github).status_code == 403


def test_writes_per_window_and_per_sixty_windows(github, session, clock):
    github.limits = GitHubLimits(points=1000, window=1.0, writes=2, writes_long=3, clock=clock)
    assert [post(session, github).status_code for _ in range(3)] == [201, 201, 403]
    assert github.limits.rejected[-1].limit == "writes"
    clock.value += 1.0
    assert [post(session, github).status_code for _ in range(2)] == [201, 403]
    assert github.limits.rejected[-1] == Rejection("POST", f"{REPO}/issues/1/comments",
                                                   "writes per hour", 59)  # fmt: skip
    assert get(session, github).status_code == 200  # reads are not writes
    clock.value += 59.0
    assert post(session, github).status_code == 201


def test_requests_beyond_the_concurrency_are_refused(github, clock):
    github.limits = GitHubLimits(concurrency=2, clock=clock)
    github.slow(None, path_prefix=REPO)
    answers: list[int] = []

    def call() -> None:
        with requests.Session() as own:
            answers.append(get(own, github).status_code)

    held = [threading.Thread(target=call) for _ in range(2)]
    for thread in held:
        thread.start()
    assert github.wait_for_requests(2, REPO, timeout=5)
    with requests.Session() as third:
        assert get(third, github).status_code == 403
    github.release()
    for thread in held:
        thread.join(5)
    assert sorted(answers) == [200, 200]
    assert github.limits.peak_in_flight == 2
    assert [r.limit for r in github.limits.rejected] == ["concurrency"]
