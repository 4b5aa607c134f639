"""Where each listing of a repository stands: ``sync_cursors`` (issues), ``listing_cursors``.

The issue listing's cursor has its own table (``sync_cursors``, one row per
repository); the others (the comments, the labels) share ``listing_cursors``,
one row per repository and listing. Both have the same fields, read and
written here once.
"""

from __future__ import annotations

from .engine import Connection
from .records import SyncCursor

__all__ = ["COMMENTS", "ISSUES", "LABELS", "LISTINGS", "load_cursor", "save_cursor"]

ISSUES = "issues"
"""The repository's issues and pull requests (the issue poller's cursor)."""
COMMENTS = "comments"
"""The repository's issue comments (the comment poller's cursor)."""
LABELS = "labels"
"""The repository's labels (only an ETag)."""
LISTINGS = (ISSUES, COMMENTS, LABELS)


def _table(listing: str) -> tuple[str, str, tuple[str, ...]]:
    """(table, key condition, key parameters beyond the repository) of ``listing``'s cursor."""
    if listing not in LISTINGS:
        raise ValueError(f"`listing` must be one of {', '.join(LISTINGS)}, got {listing!r}")
    if listing == ISSUES:
        return "sync_cursors", "repository_id = ?", ()
    return "listing_cursors", "repository_id = ? AND listing = ?", (listing,)


def load_cursor(connection: Connection, repository_id: int, listing: str = ISSUES) -> SyncCursor:
    """The saved cursor, or an empty one (a full sync from the start) if none was saved."""
    table, key, more = _table(listing)
    row = connection.execute(
        f"SELECT since, etag, next_url FROM {table} WHERE {key}", (repository_id, *more)
    ).fetchone()
    return SyncCursor() if row is None else SyncCursor(*row)


def save_cursor(
    connection: Connection, now: float, repository_id: int, cursor: SyncCursor,
    listing: str = ISSUES,
) -> None:  # fmt: skip
    """Replace the cursor of ``repository_id``'s ``listing`` with ``cursor``, field for field."""
    table, _key, more = _table(listing)
    columns = ("repository_id", "listing")[: 1 + len(more)]
    values = (repository_id, *more, cursor.since, cursor.etag, cursor.next_url, now)
    connection.execute(
        f"""
        INSERT INTO {table} ({", ".join(columns)}, since, etag, next_url, updated_at)
        VALUES ({", ".join("?" * len(values))})
        ON CONFLICT ({", ".join(columns)}) DO UPDATE SET
            since = excluded.since,
            etag = excluded.etag,
            next_url = excluded.next_url,
            updated_at = excluded.updated_at
        """,
        values,
    )
