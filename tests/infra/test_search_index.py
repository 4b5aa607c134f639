"""The issue search index on both engines, read through the shared ranking."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from autosolve.domain.related import (
    Related,
    StatisticsCache,
    find_related,
    repository_counts,
)
from tests.infra.search_database import SearchDatabase, issue, open_search_database

CRASH = "Borrow checker rejects a closure capturing self mutably"


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SearchDatabase]:
    url = request.getfixturevalue("postgres_url") if request.param == "postgres" else None
    opened = open_search_database(request.param, tmp_path, url)
    yield opened
    opened.close()


def related(
    database: SearchDatabase, repository_id: int, number: int, title: str, body: str = "", **kw: Any
) -> Related:
    """What the product answers for issue ``number`` of this text, its counts taken afresh."""
    with database.index() as index:
        counts = repository_counts(index, repository_id)
        return find_related(
            index, repository_id, number, title, body, counts.statistics,
            profiles=counts.profiles, **kw,
        )  # fmt: skip


def numbers(found: Related) -> list[int]:
    return [candidate.number for candidate in found.issues]


def test_candidates_are_earlier_issues_of_the_same_repository_never_the_query_itself(
    database: SearchDatabase,
) -> None:
    mine, other = database.repository("mine"), database.repository("other")
    database.save(mine, *(issue(number, CRASH) for number in (1, 2, 3, 4)))
    database.save(other, issue(1, CRASH))
    assert numbers(related(database, mine, 3, CRASH)) == [2, 1]


def test_pull_requests_are_never_candidates(database: SearchDatabase) -> None:
    repository = database.repository("mine")
    database.save(repository, issue(1, CRASH), issue(2, CRASH, is_pull_request=True))
    assert numbers(related(database, repository, 3, CRASH)) == [1]


def test_the_index_follows_an_updated_title_and_body(database: SearchDatabase) -> None:
    repository = database.repository("mine")
    database.save(repository, issue(1, "Segfault in the allocator", "jemalloc aborts"))
    database.save(
        repository,
        issue(1, "Typo in the book", "chapter three", updated_at="2024-02-01T00:00:00Z"),
    )
    assert numbers(related(database, repository, 2, "allocator segfault", "jemalloc")) == []
    assert numbers(related(database, repository, 2, "book typo", "chapter")) == [1]


def test_a_deleted_issue_leaves_the_index(database: SearchDatabase) -> None:
    repository = database.repository("mine")
    database.save(repository, issue(1, CRASH), issue(2, "Unrelated words entirely"))
    database.execute("DELETE FROM issues WHERE repository_id = ? AND number = 1", (repository,))
    assert numbers(related(database, repository, 3, CRASH)) == []
    assert database.rows("SELECT count(*) FROM issue_search") == [(1,)]


def test_an_error_code_or_identifier_finds_the_issue_that_mentions_it(
    database: SearchDatabase,
) -> None:
    repository = database.repository("mine")
    database.save(
        repository,
        issue(1, "Method lookup fails", "error[E0599]: no method `with_capacity_and_hasher`"),
        issue(2, "Method lookup fails", "error: mismatched types"),
    )
    assert numbers(related(database, repository, 3, "E0599")) == [1]
    assert numbers(related(database, repository, 3, "with_capacity_and_hasher")) == [1]


def test_an_open_candidate_goes_first_by_the_state_the_caller_gives(
    database: SearchDatabase,
) -> None:
    repository = database.repository("mine")
    database.save(repository, issue(1, CRASH, state="closed"), issue(2, CRASH))
    assert numbers(related(database, repository, 3, CRASH)) == [2, 1]
    back_then = related(database, repository, 3, CRASH, is_open=lambda number, _: number == 1)
    assert [(found.number, found.open) for found in back_then.issues] == [(1, True), (2, False)]


def test_candidates_have_the_state_stored_now_however_it_changed(
    database: SearchDatabase,
) -> None:
    repository = database.repository("mine")
    database.save(repository, issue(1, CRASH), issue(2, CRASH))
    database.save(repository, issue(1, CRASH, state="closed", updated_at="2024-02-01T00:00:00Z"))
    database.execute(
        "UPDATE issues SET state = 'closed' WHERE repository_id = ? AND number = 2", (repository,)
    )
    with database.index() as index:
        assert sorted(index.postings(repository, 3, ["borrow"])) == [
            (0, 1, "closed"),
            (0, 2, "closed"),
        ]
        assert {d.number: d.state for d in index.documents(repository, [1, 2])} == {
            1: "closed",
            2: "closed",
        }


def test_labels_are_voted_by_earlier_issues_only(database: SearchDatabase) -> None:
    repository = database.repository("mine")
    database.save(
        repository,
        issue(1, CRASH, labels=("A-borrow-checker",)),
        issue(3, CRASH, labels=("filed-later",)),
    )
    found = related(database, repository, 2, CRASH)
    assert [label.name for label in found.labels] == ["A-borrow-checker"]


def test_a_query_without_any_term_finds_nothing(database: SearchDatabase) -> None:
    repository = database.repository("mine")
    database.save(repository, issue(1, CRASH))
    assert related(database, repository, 2, "the", "1234 and 5678") == Related()


def test_sqlite_and_postgresql_rank_alike(tmp_path: Path, postgres_url: str) -> None:
    texts = [
        (CRASH, "error[E0502]: cannot borrow `self` as mutable"),
        ("Closure capturing self is rejected", "borrow of `self` in a closure"),
        ("ICE in trait selection", "thread 'rustc' panicked at 'assertion failed'"),
        ("Borrow checker too strict with closures", "self mutably borrowed twice"),
    ]
    answers = []
    for kind in ("sqlite", "postgres"):
        database = open_search_database(kind, tmp_path / kind, postgres_url)
        try:
            repository = database.repository("mine")
            database.save(
                repository,
                *(
                    issue(number, title, body, labels=(f"label-{number % 2}", f"n-{number}"))
                    for number, (title, body) in enumerate(texts, start=1)
                ),
            )
            answers.append(related(database, repository, 9, CRASH, "closure borrows self"))
        finally:
            database.close()
    assert answers[0] == answers[1]
    assert numbers(answers[0])
    assert len(answers[0].labels) > 2


def test_term_statistics_and_label_profiles_are_counted_again_once_older_than_max_age(
    database: SearchDatabase,
) -> None:
    now = [0.0]
    cache = StatisticsCache(max_age=60.0, clock=lambda: now[0])
    repository = database.repository("mine")

    def counted() -> tuple[int, int]:
        with database.index() as index:
            counts = cache.counts(index, repository)
        return counts.statistics.documents, counts.profiles.labels

    database.save(repository, issue(1, CRASH, labels=("A-borrow-checker",)))
    assert counted() == (1, 1)
    database.save(repository, issue(2, CRASH, labels=("I-ICE",)))
    now[0] = 59.0
    assert counted() == (1, 1)
    now[0] = 60.0
    assert counted() == (2, 2)
