"""Both engines behind one test interface, and what only tests ask of a store.

A contract test asks for ``store_backend`` (parametrised over ``sqlite`` and
``postgres`` in ``tests/conftest.py``) and gets a :class:`StoreBackend`: it
opens stores on one database and reads that database as a user would, with
``?`` placeholders on both engines. Tests about one engine's own mechanics
(SQLite's WAL mode, PostgreSQL's fencing) live beside that engine's tests.

The functions below (:func:`pending_jobs`, :func:`dead_jobs`,
:func:`enqueue_job`, ...) read and write a store's tables through its engine:
the daemon never needs them, so the store does not offer them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from autosolve.infra.postgres import PostgresDatabase
from autosolve.infra.postgres.migrations import STORE_MIGRATIONS
from autosolve.infra.postgres.migrations import apply_migrations as apply_postgres_migrations
from autosolve.infra.postgres.store import PostgresStore
from autosolve.infra.store import DeadJob, RepositoryRef, SQLiteStore, Store
from autosolve.infra.store.queue import DEAD_JOB_COLUMNS
from autosolve.infra.store.repositories import find_repository
from autosolve.infra.store.rows import encode_payload
from autosolve.infra.store.sqlite.migrations import MIGRATIONS as SQLITE_MIGRATIONS
from autosolve.infra.store.sqlite.migrations import apply_migrations as apply_sqlite_migrations

__all__ = [
    "ManualClock",
    "PostgresBackend",
    "SQLiteBackend",
    "StoreBackend",
    "count",
    "dead_jobs",
    "enqueue_job",
    "pending_jobs",
    "pending_outbox",
    "repository",
    "rows",
]

Clock = Callable[[], float]


class ManualClock:
    """Epoch seconds that move only when the test says so: a store's or a cluster's ``now``."""

    def __init__(self, start: float = 1_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class StoreBackend(Protocol):
    """One database of one engine, as the contract suite sees it."""

    kind: str
    """``sqlite`` or ``postgres``."""

    def open(self, now: Clock | None = None) -> Any:
        """A new store object on the database (not migrated yet)."""

    def sql(self, query: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run ``query`` (``?`` placeholders) in its own committed transaction."""

    def columns(self, table: str) -> set[str]:
        """The column names of ``table``."""

    def unique_keys(self, table: str) -> list[list[str]]:
        """Column lists of ``table``'s unique constraints and indexes (expressions unwrapped)."""

    def fail_job_insert(self, number: int, message: str) -> None:
        """From now on, inserting the job of issue ``number`` aborts with ``message``."""

    def migrate_to(self, version: int) -> None:
        """Apply the store's migrations up to ``version`` only, as an older autosolve did."""


class SQLiteBackend:
    kind = "sqlite"

    def __init__(self, path: Path) -> None:
        self.path = path

    def open(self, now: Clock | None = None) -> SQLiteStore:
        return SQLiteStore(self.path) if now is None else SQLiteStore(self.path, now=now)

    def sql(self, query: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        connection = sqlite3.connect(self.path)
        try:
            with connection:
                return connection.execute(query, tuple(params)).fetchall()
        finally:
            connection.close()

    def columns(self, table: str) -> set[str]:
        return {row[1] for row in self.sql(f"PRAGMA table_info({table})")}

    def unique_keys(self, table: str) -> list[list[str]]:
        return [
            [info[2] for info in self.sql(f"PRAGMA index_info('{index[1]}')")]
            for index in self.sql(f"PRAGMA index_list({table})")
            if index[2]
        ]

    def fail_job_insert(self, number: int, message: str) -> None:
        self.sql(
            f"""
            CREATE TRIGGER fail_job_{number} BEFORE INSERT ON jobs
            WHEN json_extract(NEW.payload, '$.number') = {int(number)}
            BEGIN SELECT RAISE(ABORT, '{message}'); END
            """
        )

    def migrate_to(self, version: int) -> None:
        connection = sqlite3.connect(self.path, isolation_level=None)
        try:
            apply_sqlite_migrations(connection, SQLITE_MIGRATIONS[:version])
        finally:
            connection.close()


class PostgresBackend:
    kind = "postgres"

    def __init__(self, url: str) -> None:
        self.url = url

    def open(self, now: Clock | None = None) -> PostgresStore:
        if now is None:
            return PostgresStore(self.url, pool_size=2)
        return PostgresStore(self.url, now=now, pool_size=2)

    def sql(self, query: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        import psycopg

        with psycopg.connect(self.url) as connection:
            cursor = connection.execute(query.replace("?", "%s"), tuple(params))  # type: ignore[arg-type]
            return cursor.fetchall() if cursor.description else []

    def columns(self, table: str) -> set[str]:
        rows = self.sql(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = 'public' AND table_name = ?",
            (table,),
        )
        return {row[0] for row in rows}

    def unique_keys(self, table: str) -> list[list[str]]:
        rows = self.sql(
            """
            SELECT array_agg(pg_get_indexdef(i.indexrelid, k.n, true) ORDER BY k.n)
            FROM pg_index AS i
            CROSS JOIN LATERAL generate_series(1, i.indnkeyatts) AS k (n)
            WHERE i.indrelid = ?::regclass AND i.indisunique AND NOT i.indisprimary
            GROUP BY i.indexrelid
            """,
            (table,),
        )
        return [[_unwrap(column) for column in row[0]] for row in rows]

    def fail_job_insert(self, number: int, message: str) -> None:
        self.sql(
            f"""
            CREATE FUNCTION fail_job_{number}() RETURNS trigger AS $$
            BEGIN
                IF (NEW.payload::json ->> 'number')::int = {int(number)} THEN
                    RAISE EXCEPTION '{message}';
                END IF;
                RETURN NEW;
            END $$ LANGUAGE plpgsql
            """
        )
        self.sql(
            f"CREATE TRIGGER fail_job_{number} BEFORE INSERT ON jobs "
            f"FOR EACH ROW EXECUTE FUNCTION fail_job_{number}()"
        )

    def migrate_to(self, version: int) -> None:
        database = PostgresDatabase(self.url, pool_size=1)
        database.open()
        try:
            apply_postgres_migrations(database, (STORE_MIGRATIONS[:version],))
        finally:
            database.close()


def _unwrap(expression: str) -> str:
    """``lower(owner)`` → ``owner``: a case-insensitive key is still a key on the column."""
    if expression.startswith("lower(") and expression.endswith(")"):
        return expression[len("lower(") : -1]
    return expression


# -- what only tests ask of a store ----------------------------------------------------


def rows(store: Store, query: str, params: Sequence[Any] = ()) -> list[Any]:
    """The rows ``query`` (``?`` placeholders) returns, in a transaction of ``store``'s engine."""
    with store.engine.transaction(write=True) as connection:
        return connection.execute(query, params).fetchall()


def count(store: Store, table: str) -> int:
    """Rows in ``table``."""
    return int(rows(store, f"SELECT count(*) FROM {table}")[0][0])


def pending_jobs(store: Store) -> int:
    """Jobs not yet done: waiting, leased, or waiting for a retry."""
    return count(store, "jobs")


def pending_outbox(store: Store, repository_id: int | None = None) -> int:
    """Outbox events not yet relayed, of one repository or of all."""
    query = "SELECT count(*) FROM outbox_events WHERE relayed_at IS NULL"
    if repository_id is None:
        return int(rows(store, query)[0][0])
    return int(rows(store, query + " AND repository_id = ?", (repository_id,))[0][0])


def dead_jobs(store: Store) -> list[DeadJob]:
    """Every dead-lettered job, oldest first."""
    return [
        DeadJob(*row)
        for row in rows(store, f"SELECT {DEAD_JOB_COLUMNS} FROM dead_jobs ORDER BY id")
    ]


def enqueue_job(store: Store, payload: Mapping[str, Any] | str, *, at: float = 0.0) -> int:
    """Add a job visible from ``at`` (epoch seconds: by default, always); its id.

    A mapping is stored as the canonical JSON the relay writes, a string verbatim
    (a malformed payload, say).
    """
    text = payload if isinstance(payload, str) else encode_payload(payload)
    [(job_id,)] = rows(
        store,
        "INSERT INTO jobs (payload, enqueued_at, visible_at) VALUES (?, ?, ?) RETURNING id",
        (text, at, at),
    )
    return int(job_id)


def repository(store: Store, owner: str, name: str) -> RepositoryRef:
    """The stored repository ``owner/name`` (case-insensitive), with its watch start."""
    with store.engine.transaction(write=False) as connection:
        return find_repository(connection, owner, name)
