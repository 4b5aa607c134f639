"""The ``analyses`` table: every analysis made, posted or not.

An operator reads what autosolve said without asking GitHub, and the
explainer compares an issue's current content hash with the last analysed
one to decide whether an edit deserves a new analysis.
"""

from __future__ import annotations

from .engine import Connection
from .records import Analysis, RecentAnalysis

__all__ = ["add_analysis", "find_analysis", "latest_analysis", "mark_posted", "recent_analyses"]

_COLUMNS = (
    "id, issue_id, model, prompt_sha256, content_sha256, body, comment_id, created_at, posted_at"
)
"""Columns in :class:`Analysis`'s field order."""


def add_analysis(
    connection: Connection,
    now: float,
    issue_id: int,
    *,
    model: str,
    prompt_sha256: str,
    content_sha256: str,
    body: str,
    comment_id: int | None,
    posted: bool,
) -> Analysis:
    """Insert one analysis; ``posted`` stamps ``posted_at`` with ``now``."""
    row = connection.execute(
        f"""
        INSERT INTO analyses (issue_id, model, prompt_sha256, content_sha256, body, comment_id,
                              created_at, posted_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?)
        RETURNING {_COLUMNS}
        """,
        (issue_id, model, prompt_sha256, content_sha256, body, comment_id, now,
         now if posted else None),
    ).fetchone()  # fmt: skip
    return Analysis(*row)


def mark_posted(connection: Connection, now: float, analysis_id: int, comment_id: int) -> bool:
    """Record that analysis ``analysis_id`` is on GitHub as comment ``comment_id``."""
    cursor = connection.execute(
        "UPDATE analyses SET comment_id = ?, posted_at = ? WHERE id = ?",
        (comment_id, now, analysis_id),
    )
    return cursor.rowcount > 0


def latest_analysis(
    connection: Connection, issue_id: int, posted_only: bool = False
) -> Analysis | None:
    """The most recent analysis of ``issue_id``; with ``posted_only``, the latest posted one."""
    posted = " AND posted_at IS NOT NULL" if posted_only else ""
    row = connection.execute(
        f"SELECT {_COLUMNS} FROM analyses WHERE issue_id = ?{posted} ORDER BY id DESC LIMIT 1",
        (issue_id,),
    ).fetchone()
    return None if row is None else Analysis(*row)


_RECENT = """
    SELECT a.id, r.owner || '/' || r.name, i.number, i.title, a.model, a.comment_id,
           a.created_at, a.posted_at, a.body
    FROM analyses AS a
    JOIN issues AS i ON i.id = a.issue_id
    JOIN repositories AS r ON r.id = i.repository_id
"""
"""An analysis with its issue, as :class:`RecentAnalysis` holds it; add the ``WHERE``."""


def recent_analyses(
    connection: Connection, limit: int, repository_id: int | None = None
) -> list[RecentAnalysis]:
    """The ``limit`` newest analyses (of ``repository_id`` only, if given), newest first."""
    where, params = ("", ()) if repository_id is None else (
        "WHERE i.repository_id = ?", (repository_id,)
    )  # fmt: skip
    rows = connection.execute(
        f"{_RECENT} {where} ORDER BY a.id DESC LIMIT ?", (*params, limit)
    ).fetchall()
    return [RecentAnalysis(*row) for row in rows]


def find_analysis(connection: Connection, analysis_id: int) -> RecentAnalysis | None:
    """Analysis ``analysis_id`` with its issue; None if there is none."""
    row = connection.execute(f"{_RECENT} WHERE a.id = ?", (analysis_id,)).fetchone()
    return None if row is None else RecentAnalysis(*row)
