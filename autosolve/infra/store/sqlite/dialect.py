"""How SQLite spells what the engines say differently (see :class:`~..engine.Dialect`)."""

from __future__ import annotations

from ..engine import Dialect

__all__ = ["SQLITE"]

SQLITE = Dialect(
    # The columns compare with NOCASE, so a plain comparison uses the unique index.
    repository_match="owner = ? AND name = ?",
    repository_key="(owner, name)",
    # A write transaction (BEGIN IMMEDIATE) holds the whole database: no row locks.
    lock_rows="",
    skip_locked="",
    row_id="INTEGER PRIMARY KEY",
    # AUTOINCREMENT: never reuse the id of a deleted row.
    serial_id="INTEGER PRIMARY KEY AUTOINCREMENT",
    bigint="INTEGER",
    time="REAL",
    # Owner and name compare case-insensitively, as GitHub does.
    nocase=" COLLATE NOCASE",
    repository_unique=",\n                UNIQUE (owner, name)",
    repository_index=(),
    watch_since_backfill="strftime('%Y-%m-%dT%H:%M:%SZ', CAST(created_at AS INTEGER), 'unixepoch')",
)
"""SQLite's dialect: the store's tables and queries as SQLite writes them."""
