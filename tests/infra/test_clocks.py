"""Time that a wrong or stepped local clock cannot fool.

The watch start comes from GitHub's clock (the ``Date`` of the validator's
answer); a local clock far off GitHub's is reported once; the request budget
measures its windows on a monotonic clock, and a shared ledger on the
database server's. The clocks stepped here are the machine's wall clock
(injected, or ``time.time`` itself), never the monotonic one: no real clock
steps that.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from autosolve.daemon.dependencies import AppDependencies
from autosolve.domain.gate import AnalysisGate
from autosolve.domain.preflights.repository_validator import RepositoryValidator
from autosolve.domain.spec import RepoTenant
from autosolve.infra.github import GitHubClient
from autosolve.infra.store import SQLiteStore, SyncCursor
from autosolve.infra.timestamps import CLOCK_TOLERANCE, parse_timestamp
from autosolve.settings import settings_from_mapping
from tests.fakes.github import FakeGitHub
from tests.stores import ManualClock, repository

TOKEN = "test-token"
YEAR_2001 = 978_307_200.0
"""2001-01-01T00:00:00Z: where a machine without a battery-backed clock may wake up."""


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub(token=TOKEN) as fake:
        fake.add_repo("octo", "hello")
        for n in range(3):
            fake.add_issue("octo", "hello", title=f"old {n}")
        yield fake


@pytest.fixture
def local() -> ManualClock:
    """The machine's wall clock, woken up in 2001."""
    return ManualClock(YEAR_2001)


@pytest.fixture
def client(github: FakeGitHub, local: ManualClock) -> GitHubClient:
    return GitHubClient(github.url, TOKEN, timeout=5, now=local)


@pytest.fixture
def store(tmp_path: Path, local: ManualClock) -> Iterator[SQLiteStore]:
    store = SQLiteStore(tmp_path / "autosolve.db", now=local)
    store.migrate()
    yield store
    store.close()


def validate(client: GitHubClient, store: SQLiteStore) -> None:
    validator = RepositoryValidator(client, store)
    validator.validate(None, RepoTenant("octo", "hello"))  # type: ignore[arg-type]


def test_a_first_start_with_the_clock_at_2001_watches_from_githubs_time_not_2001(
    client: GitHubClient, store: SQLiteStore
) -> None:
    before = time.time()

    validate(client, store)

    watch_since = parse_timestamp(repository(store, "octo", "hello").watch_since or "")
    assert before - 1 <= watch_since.timestamp() <= time.time()  # GitHub's Date: now


def test_every_existing_issue_stays_before_a_watch_start_taken_with_a_wrong_clock(
    client: GitHubClient, store: SQLiteStore
) -> None:
    validate(client, store)
    page = client.list_issues("octo", "hello", since=None)
    repository_id = store.repository_id("octo", "hello")
    store.save_issue_page(repository_id, page.issues, SyncCursor())

    gate = AnalysisGate(since="first-start")
    verdicts = [gate.check(store.get_issue(repository_id, issue.number)) for issue in page.issues]

    assert [v.code if v else None for v in verdicts] == ["before_watch_start"] * len(page.issues)


@pytest.mark.parametrize("offset", [-3600.0, 3600.0])
def test_a_local_clock_off_githubs_by_more_than_a_minute_is_warned_about_once(
    github: FakeGitHub, caplog: pytest.LogCaptureFixture, offset: float
) -> None:
    caplog.set_level(logging.WARNING, logger="autosolve.github")
    client = GitHubClient(github.url, TOKEN, timeout=5, now=lambda: time.time() + offset)

    for _ in range(3):
        client.get_repository("octo", "hello")

    [warning] = [r.getMessage() for r in caplog.records if "local clock" in r.getMessage()]
    side = "ahead of" if offset > 0 else "behind"
    # GitHub's Date has whole seconds: the offset may read one off.
    assert re.search(f"the local clock is (3599|3600|3601) s {side} GitHub.s", warning), warning


def test_a_local_clock_within_a_minute_of_githubs_is_not_warned_about(
    github: FakeGitHub, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="autosolve.github")
    github.date_offset = CLOCK_TOLERANCE - 5.0
    client = GitHubClient(github.url, TOKEN, timeout=5)

    client.get_repository("octo", "hello")

    assert [r for r in caplog.records if "local clock" in r.getMessage()] == []


def test_the_daemons_budget_is_not_fooled_by_the_wall_clock_stepping_back_an_hour(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    limits: dict[str, Any] = {"points_per_minute": 5, "window": 0.2}
    budget = AppDependencies(settings_from_mapping({"github": {"budget": limits}})).budget
    for _ in range(limits["points_per_minute"]):
        budget.release(budget.acquire("GET"))
    wall = time.time
    monkeypatch.setattr(time, "time", lambda: wall() - 3600)  # NTP steps the clock back

    # The window frees the points after its span, as if nothing had happened.
    permit = budget.acquire("GET", max_wait=10 * budget.ledger.limits.span)

    assert 0 < permit.waited <= 10 * budget.ledger.limits.span
    budget.release(permit)
    budget.close()
