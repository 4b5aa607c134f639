"""Fixtures shared by every test package: a real PostgreSQL on demand."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.postgres.server import PostgresServer
from tests.stores import PostgresBackend, SQLiteBackend, StoreBackend

# Every xdist worker imports every test module, rewriting its asserts: about 6 s
# of CPU per worker, unless the rewritten modules are kept in __pycache__
# (git-ignored), which PYTHONDONTWRITEBYTECODE (set in some shells and CI
# images) forbids. Kept, a later run (or worker) collects in a third of the time.
sys.dont_write_bytecode = False


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


# Under pytest-xdist (the README's test command runs `-n 6`; pyproject adds `--dist loadgroup`)
# every worker is a process of its own: a session fixture (PostgreSQL) starts
# once per worker, in a directory of its own.


def _shared_scope(item: pytest.Item) -> str | None:
    """The package or module whose fixture ``item`` shares with its neighbours, if any.

    A package- or module-scoped fixture (a daemon, a browser) is set up once per
    process that runs a test needing it: its tests stay on one worker, or each
    worker would start its own.
    """
    fixtureinfo = getattr(item, "_fixtureinfo", None)
    definitions = fixtureinfo.name2fixturedefs.values() if fixtureinfo else ()
    scopes = {definition.scope for chain in definitions for definition in chain}
    path = Path(str(item.path)).relative_to(item.config.rootpath)
    if "package" in scopes:
        return str(path.parent)
    return str(path) if "module" in scopes else None


def _expected_length(item: pytest.Item) -> float:
    """The test's own timeout (``pytest.mark.timeout``), the best word on how long it runs."""
    marker = item.get_closest_marker("timeout")
    if marker and marker.args:
        return float(marker.args[0])
    return float(item.config.getini("timeout") or 0)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Longest tests first, and tests sharing a fixture on one worker.

    The suite's wall time is the longest worker's: a test of minutes started last
    would run on alone. Sorting is stable, so neighbours stay neighbours.
    """
    items.sort(key=lambda item: (-_expected_length(item), item.get_closest_marker("slow") is None))
    for item in items:
        scope = _shared_scope(item)
        if scope is not None:
            item.add_marker(pytest.mark.xdist_group(scope))
