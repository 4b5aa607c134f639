"""The PostgreSQL engine under the store: the pool's transactions, ``?`` placeholders."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from autosolve.infra.store.engine import Connection, DriverConnection
from autosolve.infra.store.schema import SCHEMA_VERSION

from .dialect import POSTGRES
from .migrations import apply_migrations

if TYPE_CHECKING:
    from .connection import PostgresDatabase

__all__ = ["PostgresEngine"]


class PostgresEngine:
    """A PostgreSQL database, through a :class:`PostgresDatabase` pool shared with the cluster."""

    def __init__(self, database: PostgresDatabase) -> None:
        self.database = database
        """The pool, shared with the cluster's lease table and the budget's ledger."""
        self.name = database.name
        """The database, named without its password."""

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
            yield DriverConnection(connection, POSTGRES, _format_style)

    def close(self) -> None:
        self.database.close()


@functools.lru_cache(maxsize=512)
def _format_style(sql: str) -> str:
    """``sql`` with psycopg's placeholders: ``?`` → ``%s``, a literal ``%`` doubled."""
    return sql.replace("%", "%%").replace("?", "%s")
