"""The ``sync_cursors`` table: one poller position per repository."""

from __future__ import annotations

from .engine import Connection
from .records import SyncCursor

__all__ = ["load_cursor", "save_cursor"]


def load_cursor(connection: Connection, repository_id: int) -> SyncCursor:
    """The saved cursor, or an empty one (a full sync from the start) if none was saved."""
    row = connection.execute(
        "SELECT since, etag, next_url FROM sync_cursors WHERE repository_id = ?",
        (repository_id,),
    ).fetchone()
    return SyncCursor() if row is None else SyncCursor(*row)


def save_cursor(connection: Connection, now: float, repository_id: int, cursor: SyncCursor) -> None:
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
