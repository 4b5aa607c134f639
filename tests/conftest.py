"""Fixtures shared by every test package: a real PostgreSQL on demand."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.postgres.server import PostgresServer
from tests.stores import PostgresBackend, SQLiteBackend, StoreBackend


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the session, started on first use."""
    server = PostgresServer()
    yield server
    server.stop()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh, empty database for one test, dropped after it."""
    url = postgres_server.create_database()
    yield url
    postgres_server.drop_database(url)


@pytest.fixture(params=["sqlite", "postgres"])
def store_backend(request: pytest.FixtureRequest, tmp_path: Path) -> StoreBackend:
    """Each store in turn, on a fresh database: the store contract suite runs on both."""
    if request.param == "sqlite":
        return SQLiteBackend(tmp_path / "autosolve.db")
    # Asked for lazily, so a run of SQLite tests alone never starts PostgreSQL.
    return PostgresBackend(request.getfixturevalue("postgres_url"))
