"""PostgreSQL migrations: the SQLite store's tables, versions, and migrating once."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from autosolve.infra.postgres import PostgresDatabase
from autosolve.infra.postgres.migrations import (
    CLUSTER_SCHEMA_VERSION,
    MIGRATION_LOCK,
    SCHEMA_VERSION,
    Migration,
    apply_migrations,
)
from autosolve.infra.store import SCHEMA_VERSION as SQLITE_SCHEMA_VERSION
from autosolve.infra.store import TABLES, SchemaVersionError, SQLiteStore, StoreError


@pytest.fixture
def database(postgres_url: str) -> Iterator[PostgresDatabase]:
    database = PostgresDatabase(postgres_url, timeout=10)
    database.open()
    yield database
    database.close()


def postgres_columns(url: str) -> dict[str, set[str]]:
    with psycopg.connect(url) as connection:
        rows = connection.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = 'public'"
        ).fetchall()
    columns: dict[str, set[str]] = {}
    for table, column in rows:
        columns.setdefault(table, set()).add(column)
    return columns


def sqlite_columns(path: Path) -> dict[str, set[str]]:
    with SQLiteStore(path) as store:
        store.migrate()
    connection = sqlite3.connect(path)
    try:
        tables = [
            row[0]
            for row in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        return {t: {r[1] for r in connection.execute(f"PRAGMA table_info({t})")} for t in tables}
    finally:
        connection.close()


def test_the_store_track_has_the_sqlite_version() -> None:
    assert SCHEMA_VERSION == SQLITE_SCHEMA_VERSION


def test_both_stores_have_the_same_tables_and_columns(
    database: PostgresDatabase, postgres_url: str, tmp_path: Path
) -> None:
    apply_migrations(database)
    on_postgres = postgres_columns(postgres_url)
    on_sqlite = sqlite_columns(tmp_path / "autosolve.db")
    assert set(TABLES) <= set(on_sqlite)
    for table, columns in on_sqlite.items():
        assert on_postgres.get(table) == columns, table


def test_a_new_database_gets_every_track_at_its_latest_version(
    database: PostgresDatabase,
) -> None:
    assert apply_migrations(database) == {
        "store": SCHEMA_VERSION,
        "cluster": CLUSTER_SCHEMA_VERSION,
    }


def test_migrating_again_changes_nothing(database: PostgresDatabase, postgres_url: str) -> None:
    first = apply_migrations(database)
    assert apply_migrations(database) == first
    with psycopg.connect(postgres_url) as connection:
        count = connection.execute("SELECT count(*) FROM schema_migrations").fetchone()
    assert count == (SCHEMA_VERSION + CLUSTER_SCHEMA_VERSION,)


def test_a_newer_database_is_refused(database: PostgresDatabase) -> None:
    apply_migrations(database)
    with database.transaction() as connection:
        connection.execute(
            "INSERT INTO schema_migrations (track, version, description) "
            "VALUES ('store', %s, 'from the future')",
            (SCHEMA_VERSION + 1,),
        )
    with pytest.raises(SchemaVersionError, match="upgrade autosolve"):
        apply_migrations(database)


def test_a_failing_migration_leaves_the_database_untouched(
    database: PostgresDatabase, postgres_url: str
) -> None:
    broken = (
        Migration("extra", 1, "fine", ("CREATE TABLE fine (x int)",)),
        Migration("extra", 2, "broken", ("CREATE TABLE broken (x no_such_type)",)),
    )
    with pytest.raises(StoreError, match="migration extra 2 \\(broken\\)"):
        apply_migrations(database, (broken,))
    assert "fine" not in postgres_columns(postgres_url)


def test_a_migration_waits_for_the_advisory_lock(
    database: PostgresDatabase, postgres_url: str
) -> None:
    done = threading.Event()
    with psycopg.connect(postgres_url, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
        migrating = threading.Thread(target=lambda: (apply_migrations(database), done.set()))
        migrating.start()
        wait_until(lambda: advisory_waiters(holder) == 1)
        assert not done.is_set()
        assert "repositories" not in postgres_columns(postgres_url)
        holder.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))
        migrating.join(timeout=30)
    assert done.is_set()
    assert "repositories" in postgres_columns(postgres_url)


@pytest.mark.parametrize("round_", range(3))
def test_daemons_starting_together_migrate_once(postgres_url: str, round_: int) -> None:
    racers = 4
    barrier = threading.Barrier(racers)
    results: list[object] = []

    def migrate() -> None:
        database = PostgresDatabase(postgres_url, pool_size=1, timeout=30)
        database.open()
        try:
            barrier.wait(timeout=30)
            results.append(apply_migrations(database))
        except Exception as exc:  # collected, asserted below
            results.append(exc)
        finally:
            database.close()

    threads = [threading.Thread(target=migrate) for _ in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=45)
    expected = {"store": SCHEMA_VERSION, "cluster": CLUSTER_SCHEMA_VERSION}
    assert results == [expected] * racers
    with psycopg.connect(postgres_url) as connection:
        rows = connection.execute(
            "SELECT track, version, count(*) FROM schema_migrations GROUP BY track, version"
        ).fetchall()
    assert all(count == 1 for _, _, count in rows)


def advisory_waiters(connection: psycopg.Connection) -> int:
    row = connection.execute(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
    ).fetchone()
    return int(row[0]) if row else 0


def wait_until(condition: object, timeout: float = 20.0) -> None:
    """Poll ``condition`` until true; fail after ``timeout`` seconds."""
    deadline = threading.Event()
    timer = threading.Timer(timeout, deadline.set)
    timer.start()
    try:
        while not condition():  # type: ignore[operator]
            if deadline.wait(0.02):
                pytest.fail(f"condition not met within {timeout} s")
    finally:
        timer.cancel()
