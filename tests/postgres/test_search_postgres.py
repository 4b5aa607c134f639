"""What only PostgreSQL's issue search index does: a short list of pending GIN entries.

The search behaviour both engines share is specified in tests/infra/test_search_index.py.
"""

from __future__ import annotations

from autosolve.infra.postgres.dialect import POSTGRES
from autosolve.infra.search.postgres import PENDING_LIST_KB, TUNING
from autosolve.infra.store import SCHEMA_VERSION
from autosolve.infra.store.schema import store_migrations
from tests.stores import PostgresBackend

TUNING_VERSION = next(m.version for m in store_migrations(POSTGRES) if m.statements == TUNING)
"""The store migration that tunes the index an earlier one created."""


def term_index_options(backend: PostgresBackend) -> list[str]:
    """The storage parameters set on the GIN index of the issues' terms."""
    rows = backend.sql("SELECT reloptions FROM pg_class WHERE relname = 'issue_search_terms'")
    return list(rows[0][0] or [])


def test_the_term_index_merges_its_pending_entries_once_they_pass_the_bound(
    postgres_url: str,
) -> None:
    backend = PostgresBackend(postgres_url)
    with backend.open() as store:
        assert store.migrate() == SCHEMA_VERSION
    assert term_index_options(backend) == [f"gin_pending_list_limit={PENDING_LIST_KB}"]


def test_an_index_created_by_an_older_autosolve_gets_the_bound_when_migrated(
    postgres_url: str,
) -> None:
    backend = PostgresBackend(postgres_url)
    backend.migrate_to(TUNING_VERSION - 1)
    assert term_index_options(backend) == []

    with backend.open() as store:
        store.migrate()
    assert term_index_options(backend) == [f"gin_pending_list_limit={PENDING_LIST_KB}"]
