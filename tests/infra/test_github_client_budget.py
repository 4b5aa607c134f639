"""The GitHub client spends the request budget: every request waits for it, invisibly."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from autosolve.infra.budget import BudgetLimits, MemoryLedger, RequestBudget
from autosolve.infra.github import GitHubClient, RateLimitError
from tests.fakes.github import FakeGitHub
from tests.fakes.limits import GitHubLimits

TOKEN = "ghp_budgettoken1234567890"
REPO = "/repos/octo/hello"


class Clock:
    def __init__(self) -> None:
        self.value = 1_700_000_000.0

    def __call__(self) -> float:
        return self.value


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub(token=TOKEN) as fake:
        fake.add_repo("octo", "hello")
        fake.add_issue("octo", "hello")
        yield fake
    assert not fake.route_errors


@pytest.fixture
def clock() -> Clock:
    return Clock()


def budget_of(clock: Clock, concurrency: int = 10, **limits) -> RequestBudget:
    values = {
        "points_per_minute": 100,
        "writes_per_minute": 10,
        "writes_per_hour": 100,
        "window": 60.0,
        "margin": 0.0,
    }
    return RequestBudget(MemoryLedger(BudgetLimits(**{**values, **limits})), concurrency, clock)


def client_with(github: FakeGitHub, budget: RequestBudget) -> GitHubClient:
    return GitHubClient(github.url, TOKEN, timeout=5, budget=budget)


def test_a_request_beyond_the_points_waits_for_the_window_and_is_then_sent(github, clock):
    budget = budget_of(clock, points_per_minute=3, window=20.0)
    client = client_with(github, budget)
    for _ in range(3):
        client.get_repository("octo", "hello")
    done = threading.Event()
    threading.Thread(target=lambda: (client.get_repository("octo", "hello"), done.set()),
                     daemon=True).start()  # fmt: skip
    assert not github.wait_for_requests(4, timeout=0.3)
    assert budget.stats().waiting == 1
    clock.value += 20.0
    budget.wake()
    assert done.wait(5)
    assert len(github.requests) == 4
    assert budget.stats().wait_seconds_total == pytest.approx(20.0)


def test_a_read_that_could_not_go_within_its_patience_fails_fast_with_the_wait(github, clock):
    budget = budget_of(clock, points_per_minute=3, window=60.0)
    client = client_with(github, budget)
    for _ in range(3):
        client.get_repository("octo", "hello")
    with pytest.raises(RateLimitError) as caught:
        client.get_repository("octo", "hello")
    assert caught.value.wait_seconds() == 60.0
    assert "GET /repos/octo/hello: not sent, the GitHub points budget has no room for 60s" in str(
        caught.value
    )
    assert len(github.requests) == 3


def test_a_comment_costs_five_points_and_a_write(github, clock):
    budget = budget_of(clock, points_per_minute=6, writes_per_minute=1)
    client = client_with(github, budget)
    client.create_comment("octo", "hello", 1, "hello")
    assert budget.ledger.reserve(2, False, clock()).points_wait == 60.0  # 5 + 2 > 6
    assert budget.ledger.reserve(1, True, clock()).writes_wait == 60.0


def test_a_spent_hourly_write_budget_fails_fast_as_a_rate_limit_without_sending(github, clock):
    budget = budget_of(clock, writes_per_hour=1)
    client = client_with(github, budget)
    client.create_comment("octo", "hello", 1, "first")
    with pytest.raises(RateLimitError) as caught:
        client.create_comment("octo", "hello", 1, "second")
    error = caught.value
    assert error.wait_seconds() == 3600.0 and error.is_service_pressure()
    assert "POST /repos/octo/hello/issues/1/comments: not sent" in str(error)
    assert "write budget" in str(error)
    assert len(github.requests_for(f"{REPO}/issues/1/comments", method="POST")) == 1
    assert TOKEN not in str(error)


def test_a_closed_budget_sends_nothing_that_would_wait(github, clock):
    budget = budget_of(clock, points_per_minute=1)
    client_with(github, budget).get_repository("octo", "hello")
    budget.close()
    with pytest.raises(RateLimitError, match="not sent, the daemon is stopping"):
        client_with(github, budget).get_repository("octo", "hello")
    assert len(github.requests) == 1


@pytest.mark.parametrize("failure", ["server_error", "drop"])
def test_the_slot_is_given_back_when_a_request_fails(github, clock, failure):
    budget = budget_of(clock, concurrency=1)
    client = client_with(github, budget)
    github.fail_next(1, failure)
    with pytest.raises(Exception):  # noqa: B017 - a 5xx error or a connection error
        client.get_repository("octo", "hello")
    assert budget.stats().in_flight == 0
    assert client.get_repository("octo", "hello").full_name == "octo/hello"


def test_many_threads_on_one_budget_never_meet_githubs_secondary_limit(github):
    """The fake enforces the same numbers as the budget: not one 403."""
    github.limits = GitHubLimits(points=20, window=0.5, concurrency=3, writes=2, writes_long=100)
    limits = BudgetLimits(
        points_per_minute=20, writes_per_minute=2, writes_per_hour=100, window=0.5, margin=0.25
    )
    client = client_with(github, RequestBudget(MemoryLedger(limits), concurrency=3))
    github.slow(0.01, path_prefix=REPO)  # requests overlap, so the concurrency cap matters
    errors: list[BaseException] = []
    refused = [0]

    def call(request) -> None:
        while True:  # a request the budget refused was not sent: retry, as the runtime would
            try:
                return request()
            except RateLimitError as error:
                if error.status is not None:
                    raise
                refused[0] += 1

    def work(i: int) -> None:
        try:
            for n in range(4):
                if (i + n) % 8 == 0:
                    call(lambda: client.create_comment("octo", "hello", 1, "a comment"))
                else:
                    call(lambda: client.list_issues("octo", "hello", since=None))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert github.limits.rejected == []
    assert errors == []
    assert github.limits.admitted == 48
    assert github.limits.peak_in_flight <= 3


@pytest.mark.parametrize(("header", "expected"), [("60", 60.0), ("0", None), ("soon", None)])
def test_a_listing_carries_githubs_poll_interval(github, header, expected):
    github.fail_next(1, "status", f"{REPO}/issues", status=200, body=[],
                     headers={"X-Poll-Interval": header})  # fmt: skip
    page = GitHubClient(github.url, TOKEN, timeout=5).list_issues("octo", "hello", since=None)
    assert page.poll_interval == expected
    assert (
        GitHubClient(github.url, TOKEN, timeout=5)
        .list_issues("octo", "hello", since=None)
        .poll_interval
        is None
    )
