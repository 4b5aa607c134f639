"""A SQLite store notices when its database file is deleted or replaced under it.

SQLite itself does not: an open connection goes on reading and writing the
unlinked inode, and whatever it writes is gone at the next start. Hard links
made before the deletion keep that inode reachable, so the tests can look
at what the store wrote after all.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from autosolve.infra.store import DatabaseReplacedError, SQLiteStore, StoreError
from autosolve.runtime import classify
from autosolve.schedule.classifier import infra_classifier
from tests.stores import enqueue_job

SUFFIXES = ("", "-wal", "-shm")
"""The files of a WAL-mode database."""


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "autosolve.db"


@pytest.fixture
def store(db: Path) -> Iterator[SQLiteStore]:
    store = SQLiteStore(db)
    store.migrate()
    store.upsert_repository(1, "octo", "hello")
    yield store
    store.close()


def remove_keeping_a_link(db: Path) -> Path:
    """``rm db*`` as an operator would, with hard links left to read the old files by."""
    kept = db.with_name("kept.db")
    for suffix in SUFFIXES:
        if Path(f"{db}{suffix}").exists():
            os.link(f"{db}{suffix}", f"{kept}{suffix}")
            os.unlink(f"{db}{suffix}")
    return kept


def repositories_in(path: Path) -> list[str]:
    connection = sqlite3.connect(path)
    try:
        return [row[0] for row in connection.execute("SELECT name FROM repositories ORDER BY id")]
    finally:
        connection.close()


def test_a_write_after_the_file_was_deleted_fails_naming_the_file_and_writes_nothing(
    store: SQLiteStore, db: Path
) -> None:
    kept = remove_keeping_a_link(db)

    with pytest.raises(DatabaseReplacedError) as raised:
        store.upsert_repository(2, "octo", "world")

    assert f"database file {db} was removed or replaced" in str(raised.value)
    assert repositories_in(kept) == ["hello"]  # rolled back, not written into the old inode


def test_a_read_after_the_file_was_deleted_fails_too(store: SQLiteStore, db: Path) -> None:
    remove_keeping_a_link(db)

    with pytest.raises(DatabaseReplacedError):
        store.issue_counts()


def test_a_file_copied_over_the_database_is_a_replacement(
    store: SQLiteStore, db: Path, tmp_path: Path
) -> None:
    other = SQLiteStore(tmp_path / "backup.db")
    other.migrate()
    other.close()
    os.replace(tmp_path / "backup.db", db)

    with pytest.raises(DatabaseReplacedError):
        store.receive_job(visibility_timeout=60, max_attempts=5)


def test_once_replaced_the_store_stays_refused_even_if_the_file_comes_back(
    store: SQLiteStore, db: Path
) -> None:
    kept = remove_keeping_a_link(db)
    with pytest.raises(DatabaseReplacedError):
        store.issue_counts()
    for suffix in SUFFIXES:
        if Path(f"{kept}{suffix}").exists():
            os.link(f"{kept}{suffix}", f"{db}{suffix}")

    with pytest.raises(DatabaseReplacedError):
        store.issue_counts()


def test_the_file_left_in_place_keeps_working(store: SQLiteStore) -> None:
    enqueue_job(store, {"repository_id": 1, "number": 1})
    assert store.receive_job(visibility_timeout=60, max_attempts=5) is not None
    assert store.issue_counts() == {"octo/hello": 0}


def test_a_replaced_database_is_fatal_to_the_daemon_not_a_failure_to_retry(db: Path) -> None:
    error = DatabaseReplacedError(str(db))

    assert isinstance(error, StoreError) and error.is_fatal()
    assert classify(error, infra_classifier).permanent
