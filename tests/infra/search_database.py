"""A real database of either engine with the store's tables and the issue search index.

Issues are written the way the store's upsert will write them once it calls
the index: the row, then its index entry, in one transaction. Tests read the
index through the same :class:`SearchIndex` the ranking uses.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from autosolve.infra.issue import Issue
from autosolve.infra.search import SearchIndex, postgres, sqlite
from autosolve.infra.store import SQLiteStore, SyncCursor

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
    """One migrated database, its index created, and a connection to read and write it."""

    def __init__(self, kind: str, store: Any, connection: Any) -> None:
        self.kind = kind
        self._store = store
        self._connection = connection
        self._engine: Any = sqlite if kind == "sqlite" else postgres
        with self._transaction():
            for statement in self._engine.SCHEMA:
                connection.execute(statement)

    def repository(self, owner: str, name: str = "repo") -> int:
        return int(self._store.upsert_repository(len(owner) * 1000 + len(name), owner, name))

    def save(self, repository_id: int, *issues: Issue) -> None:
        """Store ``issues`` and (re)index the ones that are not pull requests."""
        self._store.save_issue_page(repository_id, list(issues), SyncCursor())
        with self._transaction():
            numbers = [item.number for item in issues]
            self._engine.index_stored(self._connection, repository_id, numbers)

    def store_without_index(self, repository_id: int, *issues: Issue) -> None:
        """Store ``issues`` as a store without the index did."""
        self._store.save_issue_page(repository_id, list(issues), SyncCursor())

    def backfill(self) -> int:
        with self._transaction():
            return int(self._engine.backfill(self._connection))

    def sql(self, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Run one statement (``?`` placeholders) in its own transaction."""
        if self.kind == "postgres":
            statement = statement.replace("?", "%s")
        with self._transaction():
            cursor = self._connection.execute(statement, params)
            return list(cursor.fetchall()) if cursor.description else []

    @contextmanager
    def index(self) -> Iterator[SearchIndex]:
        """The search index, read inside one transaction."""
        with self._transaction():
            if self.kind == "sqlite":
                yield sqlite.SQLiteSearchIndex(self._connection)
            else:
                yield postgres.PostgresSearchIndex(self._connection)

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        if self.kind == "sqlite":
            with self._connection:
                yield
        else:
            with self._connection.transaction():
                yield

    def close(self) -> None:
        self._connection.close()
        self._store.close()


def open_search_database(kind: str, tmp_path: Path, postgres_url: str | None) -> SearchDatabase:
    """A fresh database of engine ``kind`` (``sqlite`` or ``postgres``)."""
    if kind == "sqlite":
        path = tmp_path / "autosolve.db"
        store: Any = SQLiteStore(path)
        store.migrate()
        return SearchDatabase(kind, store, sqlite3.connect(path))
    import psycopg

    from autosolve.infra.postgres.store import PostgresStore

    assert postgres_url is not None
    store = PostgresStore(postgres_url, pool_size=2)
    store.migrate()
    return SearchDatabase(kind, store, psycopg.connect(postgres_url, autocommit=True))
