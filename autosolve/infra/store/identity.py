"""The ``identity`` table: the account autosolve posts as, learned from GitHub at start.

One row. Only comments authored by this account are autosolve's own; users
read it to tell them apart (``comments.author_login``).
"""

from __future__ import annotations

from .engine import Connection

__all__ = ["load_identity", "save_identity"]


def save_identity(connection: Connection, now: float, login: str, source: str) -> None:
    """Record ``login`` (learned from ``source``, e.g. ``token``) as autosolve's account."""
    connection.execute(
        """
        INSERT INTO identity (id, login, source, learned_at) VALUES (1, ?, ?, ?)
        ON CONFLICT (id) DO UPDATE SET
            login = excluded.login, source = excluded.source, learned_at = excluded.learned_at
        """,
        (login, source, now),
    )


def load_identity(connection: Connection) -> str | None:
    """The recorded login, or None when none was learned yet."""
    row = connection.execute("SELECT login FROM identity WHERE id = 1").fetchone()
    return None if row is None else str(row[0])
