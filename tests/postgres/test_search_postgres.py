"""What only PostgreSQL's issue search index does: a short list of pending GIN entries.

The search behaviour both engines share is specified in tests/infra/test_search_index.py.
"""

from __future__ import annotations

import pytest

from autosolve.infra.postgres.dialect import POSTGRES
from autosolve.infra.search.postgres import PENDING_LIST_KB, TUNING
from autosolve.infra.store import SCHEMA_VERSION
from autosolve.infra.store.schema import store_migrations
from tests.stores import PostgresBackend

TUNING_VERSION = next(m.version for m in store_migrations(POSTGRES) if m.statements == TUNING)
"""The store migration that tunes the index an earlier one created."""
SEARCH_VERSION = next(m.version for m in store_migrations(POSTGRES) if m.data is not None)
"""The store migration that creates the index and fills it from the stored issues."""
ISSUES = 50
"""Issues stored before the index existed: its migration puts their entries in the pending list."""


@pytest.fixture
def backend(postgres_url: str) -> PostgresBackend:
    """A fresh PostgreSQL database, migrated by each test as far as it needs."""
    return PostgresBackend(postgres_url)


def term_index_options(backend: PostgresBackend) -> list[str]:
    """The storage parameters set on the GIN index of the issues' terms."""
    rows = backend.sql("SELECT reloptions FROM pg_class WHERE relname = 'issue_search_terms'")
    return list(rows[0][0] or [])


def migrate(backend: PostgresBackend) -> int:
    """Migrate the database as a starting autosolve does; the store's version."""
    with backend.open() as store:
        return store.migrate()


def test_the_term_index_merges_its_pending_entries_once_they_pass_the_bound(
    backend: PostgresBackend,
) -> None:
    assert migrate(backend) == SCHEMA_VERSION
    assert term_index_options(backend) == [f"gin_pending_list_limit={PENDING_LIST_KB}"]


def test_an_index_created_by_an_older_autosolve_gets_the_bound_when_migrated(
    backend: PostgresBackend,
) -> None:
    backend.migrate_to(TUNING_VERSION - 1)
    assert term_index_options(backend) == []

    migrate(backend)
    assert term_index_options(backend) == [f"gin_pending_list_limit={PENDING_LIST_KB}"]


def test_the_entries_pending_when_the_bound_comes_are_merged_by_its_migration(
    backend: PostgresBackend,
) -> None:
    backend.migrate_to(SEARCH_VERSION - 1)
    backend.sql(
        "INSERT INTO repositories (github_id, owner, name, created_at, updated_at) "
        "VALUES (1, 'mine', 'repo', 1.0, 1.0)"
    )
    for number in range(1, ISSUES + 1):
        backend.sql(
            "INSERT INTO issues (repository_id, github_id, number, title, body, state, "
            "is_pull_request, github_updated_at, labels, stored_at, updated_at) "
            "VALUES (1, ?, ?, ?, ?, 'open', 0, '2024-01-01T00:00:00Z', '[]', 1.0, 1.0)",
            (number, number, f"crash number {number}", f"panic word{number} at main.rs"),
        )
    backend.migrate_to(TUNING_VERSION - 1)  # the index, filled from them: all pending

    migrate(backend)
    assert backend.sql("SELECT gin_clean_pending_list('issue_search_terms'::regclass)") == [(0,)]
