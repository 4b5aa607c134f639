"""What an engine (SQLite, PostgreSQL) supplies to the store.

The store (:class:`autosolve.infra.store.Store`) holds every operation once, in
SQL both engines run. An :class:`Engine` gives it short transactions on its
database, each a :class:`Connection` that takes ``?`` placeholders whatever
the engine's own style, and carries the engine's :class:`Dialect`: the few
things the two spell differently (row locks, how repository names compare
case-insensitively, column types). Adding a query is one function in the
table's module; only where the engines disagree does it read a field of the
dialect, which each engine then fills in once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = [
    "Connection",
    "Cursor",
    "Dialect",
    "DriverConnection",
    "Engine",
    "insert_rows",
    "placeholders",
]


@dataclass(frozen=True, slots=True)
class Dialect:
    """How one engine spells what the engines say differently; all else is shared SQL.

    Repository names compare case-insensitively, as on GitHub: SQLite by the
    columns' ``NOCASE`` collation, PostgreSQL by a unique index on ``lower()``.
    """

    repository_match: str
    """``WHERE`` condition on ``owner`` and ``name`` (two ``?``), case-insensitive, indexed."""
    repository_key: str
    """The ``ON CONFLICT`` target of the unique ``(owner, name)``."""
    lock_rows: str
    """Appended to a ``SELECT`` of rows the transaction goes on to write."""
    skip_locked: str
    """Appended to a ``SELECT`` that takes rows no other transaction is taking."""
    row_id: str
    """Column type of a table's own id."""
    serial_id: str
    """Column type of an id that is never handed out twice (jobs, events, analyses)."""
    bigint: str
    """Column type of another table's id or a GitHub id."""
    time: str
    """Column type of the store's own times, epoch seconds."""
    nocase: str
    """Appended to the type of ``repositories.owner`` and ``name``."""
    repository_unique: str
    """Appended to the columns of ``repositories``: a table constraint, or nothing."""
    repository_index: tuple[str, ...]
    """Statements that follow the creation of ``repositories``."""
    watch_since_backfill: str
    """ISO 8601 UTC text, whole seconds, of ``repositories.created_at``."""


class Cursor(Protocol):
    """The result of one statement."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class Connection(Protocol):
    """One transaction on an engine: statements with ``?`` placeholders.

    The store's statements have no ``?`` inside a literal, so an engine may
    translate placeholders by rewriting the text.
    """

    @property
    def dialect(self) -> Dialect: ...

    def execute(self, sql: str, params: Sequence[Any] = (), /) -> Cursor: ...

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]], /) -> None: ...


class _Driver(Protocol):
    """A connection of a DB-API driver (:mod:`sqlite3`, psycopg) inside a transaction."""

    def execute(self, sql: str, params: Sequence[Any], /) -> Cursor: ...

    def cursor(self) -> _DriverCursor: ...


class _DriverCursor(Protocol):
    def executemany(self, sql: str, rows: Iterable[Sequence[Any]], /) -> object: ...


class DriverConnection:
    """A driver's connection as the store's :class:`Connection`.

    Args:
        connection: the driver's connection, inside a transaction.
        dialect: the engine's dialect.
        style: rewrites a statement's ``?`` into the driver's own placeholders;
            by default the statement goes as written (SQLite's are ``?``).
    """

    def __init__(
        self,
        connection: _Driver,
        dialect: Dialect,
        style: Callable[[str], str] | None = None,
    ) -> None:
        self._connection = connection
        self.dialect = dialect
        self._style = style or _as_written

    def execute(self, sql: str, params: Sequence[Any] = (), /) -> Cursor:
        return self._connection.execute(self._style(sql), params)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]], /) -> None:
        """Every row of ``rows`` through one statement (psycopg pipelines them: one round trip)."""
        self._connection.cursor().executemany(self._style(sql), rows)


def _as_written(sql: str) -> str:
    return sql


class Engine(Protocol):
    """A database the store runs on."""

    @property
    def name(self) -> str:
        """The database, for messages: a file path, or a URL without its password."""
        ...

    @property
    def closed(self) -> bool: ...

    def migrate(self) -> int:
        """Open if needed and apply pending migrations; the schema version."""
        ...

    def transaction(self, *, write: bool) -> AbstractContextManager[Connection]:
        """One short transaction, committed on success and rolled back on error.

        ``write=False`` promises only reads (SQLite then need not take the
        write lock). Errors of the engine come out as ``StoreError`` naming
        the database.
        """
        ...

    def close(self) -> None:
        """Release the database; idempotent. Later transactions raise ``StoreClosedError``."""
        ...


MAX_PARAMETERS = 32_766
"""Parameters per statement: SQLite's limit, the lower of the two engines'."""


def placeholders(count: int) -> str:
    """``(?, ?, …)`` with ``count`` placeholders: a row of ``VALUES``, or an ``IN`` list."""
    return f"({', '.join('?' * count)})"


def insert_rows(
    connection: Connection,
    table: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    returning: str = "",
) -> list[Any]:
    """Insert ``rows`` in as few statements as both engines accept, in order.

    One statement for a page of issues or a batch of jobs, not one per row:
    on PostgreSQL each statement is a round trip to the server. Ids are
    handed out in the order of ``rows``.

    Returns:
        The ``returning`` columns of every row inserted (empty without them).
    """
    per_statement = max(1, MAX_PARAMETERS // len(columns))
    returned: list[Any] = []
    for start in range(0, len(rows), per_statement):
        chunk = rows[start : start + per_statement]
        values = ", ".join([placeholders(len(columns))] * len(chunk))
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES {values}"
        cursor = connection.execute(
            sql + (f" RETURNING {returning}" if returning else ""),
            [value for row in chunk for value in row],
        )
        if returning:
            returned += cursor.fetchall()
    return returned
