"""The ``sync_cursors`` table: one poller position per repository."""

from __future__ import annotations

import sqlite3

from .records import SyncCursor

__all__ = ["load_cursor", "save_cursor"]


def load_cursor(connection: sqlite3.Connection, repository_id: int) -> SyncCursor:
    """The saved cursor, or an empty one (a full sync from the start) if none was saved."""
    row = connection.execute(
        "SELECT since, etag, next_url FROM sync_cursors WHERE repository_id = ?",
        (repository_id,),
    ).fetchone()
    if row is None:
        return SyncCursor()
    return SyncCursor(since=row[0], etag=row[1], next_url=row[2])


def save_cursor(
    connection: sqlite3.Connection, now: float, repository_id: int, cursor: SyncCursor
) -> None:
    """Replace the cursor of ``repository_id`` with ``cursor``, field for field."""
    connection.execute(
        """
        INSERT INTO sync_cursors (repository_id, since, etag, next_url, updated_at)
        VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (repository_id) DO UPDATE SET
            since = excluded.since,
            etag = excluded.etag,
            next_url = excluded.next_url,
            updated_at = excluded.updated_at
        """,
        (repository_id, cursor.since, cursor.etag, cursor.next_url, now),
    )
