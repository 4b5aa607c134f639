"""A real database of either engine with the store's tables and the issue search index.

Issues are written the way the store's upsert will write them once it calls
the index: the store saves the page, then the page is indexed in a
transaction of the store. Tests read the index through the same
:class:`SearchIndex` the ranking uses, in the store's transactions.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from autosolve.infra.issue import Issue
from autosolve.infra.search import SearchIndex, postgres, sqlite, stored_texts
from autosolve.infra.store import SQLiteStore, Store, SyncCursor

__all__ = ["SearchDatabase", "issue", "open_search_database"]

T0 = "2024-01-01T00:00:00Z"


def issue(number: int, title: str, body: str = "", **changes: Any) -> Issue:
    """An open issue of the given text; ``changes`` override any other field."""
    fields: dict[str, Any] = {
        "github_id": 10_000 + number,
        "number": number,
        "title": title,
        "body": body,
        "state": "open",
        "is_pull_request": False,
        "updated_at": T0,
        "created_at": T0,
        "labels": (),
    }
    fields.update(changes)
    return Issue(**fields)


class SearchDatabase:
    """One migrated store of engine ``kind`` with the search index created."""

    def __init__(self, kind: str, store: Store) -> None:
        self.kind = kind
        self.store = store
        self._engine: Any = sqlite if kind == "sqlite" else postgres
        store.migrate()
        with self._transaction() as connection:
            for statement in self._engine.SCHEMA:
                connection.execute(statement)

    def repository(self, owner: str, name: str = "repo") -> int:
        return self.store.upsert_repository(len(owner) * 1000 + len(name), owner, name)

    def save(self, repository_id: int, *issues: Issue) -> None:
        """Store ``issues`` and (re)index the ones that are not pull requests."""
        self.store.save_issue_page(repository_id, list(issues), SyncCursor())
        with self._transaction() as connection:
            numbers = [item.number for item in issues]
            self._engine.index_issues(connection, stored_texts(connection, repository_id, numbers))

    def store_without_index(self, repository_id: int, *issues: Issue) -> None:
        """Store ``issues`` as a store without the index did."""
        self.store.save_issue_page(repository_id, list(issues), SyncCursor())

    def backfill(self) -> int:
        with self._transaction() as connection:
            return int(self._engine.backfill(connection))

    def execute(self, statement: str, params: tuple[Any, ...] = ()) -> None:
        """Run one statement (``?`` placeholders) in a transaction of its own."""
        with self._transaction() as connection:
            connection.execute(statement, params)

    def rows(self, query: str, params: tuple[Any, ...] = ()) -> list[Any]:
        """The rows of one query (``?`` placeholders), as tuples."""
        with self._transaction() as connection:
            return [tuple(row) for row in connection.execute(query, params).fetchall()]

    @contextmanager
    def index(self) -> Iterator[SearchIndex]:
        """The search index, read inside one transaction."""
        with self.store.engine.transaction(write=False) as connection:
            if self.kind == "sqlite":
                yield sqlite.SQLiteSearchIndex(connection)
            else:
                yield postgres.PostgresSearchIndex(connection)

    def _transaction(self) -> Any:
        return self.store.engine.transaction(write=True)

    def close(self) -> None:
        self.store.close()


def open_search_database(kind: str, tmp_path: Path, postgres_url: str | None) -> SearchDatabase:
    """A fresh database of engine ``kind`` (``sqlite`` or ``postgres``)."""
    if kind == "sqlite":
        tmp_path.mkdir(parents=True, exist_ok=True)
        return SearchDatabase(kind, SQLiteStore(tmp_path / "autosolve.db"))
    from autosolve.infra.postgres.store import PostgresStore

    assert postgres_url is not None
    return SearchDatabase(kind, PostgresStore(postgres_url, pool_size=2))
