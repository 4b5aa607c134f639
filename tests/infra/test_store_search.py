"""The store keeps the issue search index with the issues, on both engines (contract suite)."""

from __future__ import annotations

import pytest

from autosolve.domain.related import IndexedHistory
from autosolve.infra.store import SCHEMA_VERSION, StoreError, SyncCursor
from autosolve.infra.store.schema import store_migrations
from autosolve.infra.store.sqlite.dialect import SQLITE
from tests.infra.search_database import issue
from tests.stores import StoreBackend

CRASH = "Borrow checker rejects a closure capturing self mutably"
SEARCH_VERSION = next(m.version for m in store_migrations(SQLITE) if m.data is not None)
"""The migration that creates the index and fills it from the stored issues."""


def similar_numbers(store: object, owner: str, number: int) -> list[int]:
    """The numbers the product's related-issues search ranks for ``owner/repo#number``."""
    stored = store.find_issue(owner, "repo", number)  # type: ignore[attr-defined]
    return [found.number for found in IndexedHistory(store).similar(stored).related.issues]  # type: ignore[arg-type]


def test_issues_stored_before_the_index_existed_are_indexed_by_its_migration(
    store_backend: StoreBackend,
):
    store_backend.migrate_to(SEARCH_VERSION - 1)
    store_backend.sql(
        "INSERT INTO repositories (github_id, owner, name, created_at, updated_at) "
        "VALUES (1, 'mine', 'repo', 1.0, 1.0)"
    )
    for number in (1, 2, 3):
        store_backend.sql(
            "INSERT INTO issues (repository_id, github_id, number, title, body, state, "
            "is_pull_request, github_updated_at, labels, stored_at, updated_at) "
            "VALUES (1, ?, ?, ?, '', 'open', ?, '2024-01-01T00:00:00Z', '[]', 1.0, 1.0)",
            (number, number, CRASH, int(number == 2)),
        )

    with store_backend.open() as store:
        assert store.migrate() == SCHEMA_VERSION
        assert similar_numbers(store, "mine", 3) == [1]  # the pull request is no candidate


def test_an_issue_page_and_its_index_entries_are_written_in_one_transaction(
    store_backend: StoreBackend,
):
    with store_backend.open() as store:
        store.migrate()
        repository = store.upsert_repository(1, "mine", "repo")
        store.save_issue_page(repository, [issue(1, CRASH)], SyncCursor())
        store_backend.sql("DROP TABLE issue_search")

        with pytest.raises(StoreError, match="issue_search"):
            store.save_issue_page(repository, [issue(2, CRASH)], SyncCursor())
        assert store.get_issue(repository, 2) is None


def test_an_edited_issue_is_found_by_its_new_text_only(store_backend: StoreBackend):
    with store_backend.open() as store:
        store.migrate()
        repository = store.upsert_repository(1, "mine", "repo")
        edited = issue(1, "Typo in the book", updated_at="2024-02-01T00:00:00Z")
        store.save_issue_page(repository, [issue(1, CRASH), issue(2, CRASH)], SyncCursor())
        store.save_issue_page(repository, [edited], SyncCursor())

        assert similar_numbers(store, "mine", 2) == []


def test_an_issue_rewritten_with_its_text_unchanged_keeps_its_index_entry(
    store_backend: StoreBackend,
):
    later = "2024-02-01T00:00:00Z"
    with store_backend.open() as store:
        store.migrate()
        repository = store.upsert_repository(1, "mine", "repo")
        store.save_issue_page(repository, [issue(1, CRASH), issue(2, CRASH)], SyncCursor())
        store_backend.sql("UPDATE issue_search SET title_terms = 'kept'")
        labelled = issue(1, CRASH, updated_at=later, labels=("bug",))
        body_edited = issue(2, CRASH, "now with a backtrace", updated_at=later)
        store.save_issue_page(repository, [labelled, body_edited], SyncCursor())

        entries = store_backend.sql("SELECT title_terms, body_terms FROM issue_search")
        assert sorted(entries) == [("borrow checker reject closure captur self mutably",
                                    "now backtrace"), ("kept", "")]  # fmt: skip


def test_an_issue_whose_text_has_no_terms_is_indexed_without_any(store_backend: StoreBackend):
    with store_backend.open() as store:
        store.migrate()
        repository = store.upsert_repository(1, "mine", "repo")
        page = [issue(1, "It is", "the 42"), issue(2, CRASH, "crash crash"), issue(3, CRASH)]
        store.save_issue_page(repository, page, SyncCursor())

        assert similar_numbers(store, "mine", 3) == [2]
        assert store_backend.sql("SELECT body_terms FROM issue_search WHERE title_terms = ''") == [
            ("",)
        ]


def test_nul_characters_are_left_out_of_the_stored_text_on_both_engines(
    store_backend: StoreBackend,
):
    with store_backend.open() as store:
        store.migrate()
        repository = store.upsert_repository(1, "mine", "repo")
        page = [issue(1, "Crash\x00 on start", "a panic\x00 in main"), issue(2, "crash on start")]
        store.save_issue_page(repository, page, SyncCursor())

        stored = store.get_issue(repository, 1)
        assert stored is not None
        assert (stored.issue.title, stored.issue.body) == ("Crash on start", "a panic in main")
        assert similar_numbers(store, "mine", 2) == [1]


def test_a_candidates_excerpt_is_the_start_of_its_stored_body(store_backend: StoreBackend):
    with store_backend.open() as store:
        store.migrate()
        repository = store.upsert_repository(1, "mine", "repo")
        page = [issue(1, CRASH, "It dies at boot. " * 100), issue(2, CRASH)]
        store.save_issue_page(repository, page, SyncCursor())

        history = IndexedHistory(store).history(store.find_issue("mine", "repo", 2), limit=5)
        [candidate] = history.candidates
        assert (candidate.number, candidate.state) == (1, "open")
        assert candidate.excerpt.startswith("It dies at boot. It dies")
        assert len(candidate.excerpt) < len(page[0].body or "")
