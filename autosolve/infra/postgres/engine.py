"""The PostgreSQL engine under the store: the pool's transactions, ``?`` placeholders."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from autosolve.infra.store.engine import Connection, Cursor, Dialect
from autosolve.infra.store.schema import SCHEMA_VERSION

from .dialect import POSTGRES
from .migrations import apply_migrations

if TYPE_CHECKING:
    import psycopg

    from .connection import PostgresDatabase

__all__ = ["PostgresConnection", "PostgresEngine"]


class PostgresEngine:
    """A PostgreSQL database, through a :class:`PostgresDatabase` pool shared with the cluster."""

    def __init__(self, database: PostgresDatabase) -> None:
        self.database = database
        """The pool, shared with the cluster's lease table and the budget's ledger."""

    @property
    def name(self) -> str:
        """The database, named without its password."""
        return self.database.name

    @property
    def closed(self) -> bool:
        return self.database.closed

    def migrate(self) -> int:
        """Connect, then apply pending migrations under the advisory lock; the store's version.

        Raises:
            DatabaseUnavailableError: the server cannot be reached.
        """
        self.database.open()
        return apply_migrations(self.database).get("store", SCHEMA_VERSION)

    @contextmanager
    def transaction(self, *, write: bool) -> Iterator[Connection]:
        """A pooled connection in one transaction (reads too: a consistent snapshot)."""
        with self.database.transaction() as connection:
            yield PostgresConnection(connection)

    def close(self) -> None:
        self.database.close()


class PostgresConnection:
    """A psycopg connection as the store's :class:`Connection`: ``?`` becomes ``%s``."""

    dialect: Dialect = POSTGRES

    def __init__(self, connection: psycopg.Connection) -> None:
        self._connection = connection

    def execute(self, sql: str, params: Sequence[Any] = (), /) -> Cursor:
        return self._connection.execute(_format_style(sql), params)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]], /) -> None:
        """All ``rows`` in one round trip (psycopg pipelines them)."""
        with self._connection.cursor() as cursor:
            cursor.executemany(_format_style(sql), rows)


@functools.lru_cache(maxsize=512)
def _format_style(sql: str) -> str:
    """``sql`` with psycopg's placeholders: ``?`` → ``%s``, a literal ``%`` doubled."""
    return sql.replace("%", "%%").replace("?", "%s")
