"""The SQLite engine under the store, and :class:`SQLiteStore`: the store on a file."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from ..engine import Connection, DriverConnection
from ..errors import StoreError
from ..store import Store
from .connection import Database
from .dialect import SQLITE
from .migrations import apply_migrations

__all__ = ["SQLiteEngine", "SQLiteStore"]


class SQLiteEngine:
    """A SQLite file: one lock-guarded connection (see :mod:`.connection` for why).

    Raises:
        StoreError: the database cannot be opened.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._database = Database(path)
        self.name = self._database.path
        """The database file."""

    @property
    def closed(self) -> bool:
        return self._database.closed

    def migrate(self) -> int:
        """Apply pending migrations (``PRAGMA user_version``); the schema version."""
        with self._database.raw() as connection:
            return apply_migrations(connection, database=self.name)

    @contextmanager
    def transaction(self, *, write: bool) -> Iterator[Connection]:
        """``BEGIN IMMEDIATE`` to write (the write lock up front), a deferred one to read."""
        with _translated(self.name), self._database.transaction(write=write) as connection:
            yield DriverConnection(connection, SQLITE)

    def close(self) -> None:
        self._database.close()


@contextmanager
def _translated(path: str) -> Iterator[None]:
    """Turn SQLite's bare errors into ``StoreError`` naming the database."""
    try:
        yield
    except sqlite3.Error as exc:
        hint = " (was Store.migrate() called?)" if "no such table" in str(exc) else ""
        raise StoreError(f"database {path}: {exc}{hint}") from exc


class SQLiteStore(Store):
    """The :class:`Store` on a SQLite file: one daemon, one file (WAL, versioned migrations).

    Args:
        path: the database file; created, with its parent directories, if missing.
        now: clock returning epoch seconds; tests inject one to move time without sleeping.

    Raises:
        StoreError: the database cannot be opened.
    """

    def __init__(
        self, path: str | os.PathLike[str], *, now: Callable[[], float] = time.time
    ) -> None:
        super().__init__(SQLiteEngine(path), now=now)
