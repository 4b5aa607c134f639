"""Versioned schema migrations, tracked with ``PRAGMA user_version``.

Migrations are append-only: never edit a released one, add the next version.
Each runs in its own ``BEGIN IMMEDIATE`` transaction together with the version
bump, and the version is re-read inside that transaction, so two processes
migrating the same file at once apply every migration exactly once.

Timestamps written by the store (``created_at``, ``visible_at``, ...) are REAL
epoch seconds; GitHub's own timestamps are kept as the ISO text GitHub sends.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from .errors import SchemaVersionError, StoreError

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "Migration", "apply_migrations", "schema_version"]


@dataclass(frozen=True, slots=True)
class Migration:
    """One schema step: its version, what it is for, and its statements."""

    version: int
    description: str
    statements: tuple[str, ...]


_V1 = Migration(
    version=1,
    description="repositories, issues, sync cursors, outbox, job queue and dead letters",
    statements=(
        # Owner and name compare case-insensitively, as GitHub does.
        """
        CREATE TABLE repositories (
            id          INTEGER PRIMARY KEY,
            github_id   INTEGER NOT NULL,
            owner       TEXT NOT NULL COLLATE NOCASE CHECK (owner <> ''),
            name        TEXT NOT NULL COLLATE NOCASE CHECK (name <> ''),
            created_at  REAL NOT NULL,
            updated_at  REAL NOT NULL,
            UNIQUE (owner, name)
        )
        """,
        """
        CREATE TABLE issues (
            id                INTEGER PRIMARY KEY,
            repository_id     INTEGER NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
            github_id         INTEGER NOT NULL,
            number            INTEGER NOT NULL CHECK (number > 0),
            title             TEXT NOT NULL,
            body              TEXT,
            state             TEXT NOT NULL CHECK (state IN ('open', 'closed')),
            is_pull_request   INTEGER NOT NULL CHECK (is_pull_request IN (0, 1)),
            github_updated_at TEXT NOT NULL,
            labels            TEXT NOT NULL DEFAULT '[]',
            created_at        REAL NOT NULL,
            updated_at        REAL NOT NULL,
            UNIQUE (repository_id, number)
        )
        """,
        """
        CREATE TABLE sync_cursors (
            repository_id INTEGER PRIMARY KEY REFERENCES repositories (id) ON DELETE CASCADE,
            since         TEXT,
            etag          TEXT,
            next_url      TEXT,
            updated_at    REAL NOT NULL
        )
        """,
        """
        CREATE TABLE outbox_events (
            id            INTEGER PRIMARY KEY AUTOINCREMENT,
            repository_id INTEGER NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
            issue_id      INTEGER NOT NULL REFERENCES issues (id) ON DELETE CASCADE,
            number        INTEGER NOT NULL,
            kind          TEXT NOT NULL,
            payload       TEXT NOT NULL,
            created_at    REAL NOT NULL,
            relayed_at    REAL
        )
        """,
        """
        CREATE INDEX outbox_events_pending
            ON outbox_events (repository_id, id) WHERE relayed_at IS NULL
        """,
        # AUTOINCREMENT: a job id is never reused, so dead_jobs.job_id and log
        # lines keep pointing at one job only.
        """
        CREATE TABLE jobs (
            id            INTEGER PRIMARY KEY AUTOINCREMENT,
            payload       TEXT NOT NULL,
            enqueued_at   REAL NOT NULL,
            visible_at    REAL NOT NULL,
            leased_until  REAL,
            receive_count INTEGER NOT NULL DEFAULT 0,
            last_error    TEXT
        )
        """,
        "CREATE INDEX jobs_visible ON jobs (visible_at, id)",
        "CREATE INDEX jobs_payload ON jobs (payload)",
        """
        CREATE TABLE dead_jobs (
            id            INTEGER PRIMARY KEY AUTOINCREMENT,
            job_id        INTEGER NOT NULL,
            payload       TEXT NOT NULL,
            enqueued_at   REAL NOT NULL,
            receive_count INTEGER NOT NULL,
            last_error    TEXT,
            reason        TEXT NOT NULL,
            dead_at       REAL NOT NULL
        )
        """,
    ),
)

_V2 = Migration(
    version=2,
    description="analysis gate and history: issue authors and creation times, watch starts, "
    "job attempts, analyses",
    statements=(
        # `issues.created_at` now means what users expect: when the issue was
        # opened on GitHub (ISO text as GitHub sends it). The store's own
        # insert time, which it held so far, moves to `stored_at`.
        "ALTER TABLE issues RENAME COLUMN created_at TO stored_at",
        "ALTER TABLE issues ADD COLUMN created_at TEXT",
        "ALTER TABLE issues ADD COLUMN author_login TEXT",
        "ALTER TABLE issues ADD COLUMN author_type TEXT",
        # The moment autosolve first validated the repository on this database
        # (ISO 8601 UTC, whole seconds), written once and never moved. For
        # repositories validated before it existed, that moment is their row's
        # creation.
        "ALTER TABLE repositories ADD COLUMN watch_since TEXT",
        """
        UPDATE repositories
        SET watch_since = strftime('%Y-%m-%dT%H:%M:%SZ', CAST(created_at AS INTEGER), 'unixepoch')
        """,
        # Attempts spent by failures the job itself caused; outages give theirs
        # back. Until now every receive counted.
        "ALTER TABLE jobs ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0",
        "UPDATE jobs SET attempts = receive_count",
        """
        CREATE TABLE analyses (
            id             INTEGER PRIMARY KEY AUTOINCREMENT,
            issue_id       INTEGER NOT NULL REFERENCES issues (id) ON DELETE CASCADE,
            model          TEXT NOT NULL,
            prompt_sha256  TEXT NOT NULL,
            content_sha256 TEXT NOT NULL,
            body           TEXT NOT NULL,
            comment_id     INTEGER,
            created_at     REAL NOT NULL,
            posted_at      REAL
        )
        """,
        "CREATE INDEX analyses_issue ON analyses (issue_id, id)",
    ),
)

MIGRATIONS: tuple[Migration, ...] = (_V1, _V2)
"""Every migration, in version order (1, 2, ...)."""

SCHEMA_VERSION = MIGRATIONS[-1].version
"""The version a fully migrated database has."""


def schema_version(connection: sqlite3.Connection) -> int:
    """The ``user_version`` of the database (0 for a new file)."""
    return int(connection.execute("PRAGMA user_version").fetchone()[0])


def apply_migrations(
    connection: sqlite3.Connection,
    migrations: tuple[Migration, ...] = MIGRATIONS,
    *,
    database: str = "",
) -> int:
    """Bring the schema up to the last of ``migrations``; return the final version.

    The connection must be in autocommit mode and outside any transaction.

    Raises:
        SchemaVersionError: the database is newer than the code.
        StoreError: a migration failed (it was rolled back entirely).
    """
    latest = migrations[-1].version if migrations else 0
    for migration in migrations:
        connection.execute("BEGIN IMMEDIATE")
        try:
            current = schema_version(connection)
            if current > latest:
                raise SchemaVersionError(
                    f"database {database} has schema version {current}, newer than the "
                    f"{latest} this autosolve knows; upgrade autosolve"
                )
            if current >= migration.version:
                connection.execute("COMMIT")
                continue
            if current != migration.version - 1:
                raise StoreError(
                    f"database {database} has schema version {current}, cannot apply "
                    f"migration {migration.version} ({migration.description})"
                )
            for statement in migration.statements:
                connection.execute(statement)
            # PRAGMA takes no parameters; the version is an int we own.
            connection.execute(f"PRAGMA user_version = {int(migration.version)}")
            connection.execute("COMMIT")
        except sqlite3.Error as exc:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise StoreError(
                f"migration {migration.version} ({migration.description}) of database "
                f"{database} failed: {exc}"
            ) from exc
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
    return schema_version(connection)
