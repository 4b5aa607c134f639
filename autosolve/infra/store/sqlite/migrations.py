"""The store's migrations (:mod:`autosolve.infra.store.schema`) on SQLite: ``PRAGMA user_version``.

Each migration runs in its own ``BEGIN IMMEDIATE`` transaction together with
the version bump, and the version is re-read inside that transaction, so two
processes migrating the same file at once apply every migration exactly once.
"""

from __future__ import annotations

import sqlite3

from ..errors import StoreError
from ..schema import Migration, refuse_newer, store_migrations
from .dialect import SQLITE

__all__ = ["MIGRATIONS", "apply_migrations", "schema_version"]


MIGRATIONS: tuple[Migration, ...] = store_migrations(SQLITE)
"""Every migration, in version order (1, 2, ...), in SQLite's types."""


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
            refuse_newer(database, "", current, latest)
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
