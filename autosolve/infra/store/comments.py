"""The ``comments`` table: the repository's issue comments, as GitHub last described them.

Saved like issues: a comment new to the mirror is inserted, one updated at a
later instant rewritten, an older copy (a stale page) ignored. Which
comments were new is what the caller learns, so a command in a new comment
is announced exactly once, in the transaction that stores it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from autosolve.infra.comment import Comment

from .engine import Connection, insert_rows
from .issues import EVENT_ISSUE_CREATED, REFRESHED, REWRITTEN, STALE, change_of, locked_rows

__all__ = ["check_comment", "issue_comments", "save_comments"]

_FIELDS = (
    "issue_number", "author_login", "author_type", "author_association", "body", "created_at",
    "updated_at",
)  # fmt: skip
"""The columns that copy GitHub's comment, in :func:`_fields`' order."""


def save_comments(
    connection: Connection, now: float, repository_id: int, comments: Sequence[Comment]
) -> tuple[int, list[Comment]]:
    """Upsert ``comments`` (checked with :func:`check_comment`).

    Returns:
        How many were new or changed, and the new ones, in page order.
    """
    latest = {comment.github_id: comment for comment in comments}
    stored = _stored_versions(connection, repository_id, list(latest))
    change = {key: change_of(_updated(c), stored.get(key)) for key, c in latest.items()}
    new = [c for key, c in latest.items() if change[key] == EVENT_ISSUE_CREATED]
    insert_rows(
        connection,
        "comments",
        (*_FIELDS, "repository_id", "github_id", "stored_at"),
        [(*_fields(comment), repository_id, comment.github_id, now) for comment in new],
    )
    rewritten = [c for key, c in latest.items() if change[key] in REWRITTEN]
    if rewritten:
        assignments = ", ".join(f"{column} = ?" for column in (*_FIELDS, "stored_at"))
        connection.executemany(
            f"UPDATE comments SET {assignments} WHERE repository_id = ? AND github_id = ?",
            [(*_fields(c), now, repository_id, c.github_id) for c in rewritten],
        )
    changed = sum(1 for key in latest if change[key] not in (REFRESHED, STALE))
    return changed, new


def _updated(comment: Comment) -> str:
    assert comment.updated_at is not None, "check_comment() refuses a comment without it"
    return comment.updated_at


def _stored_versions(
    connection: Connection, repository_id: int, github_ids: list[int]
) -> dict[int, str]:
    """``github_id → updated_at`` of the comments already stored, locked until commit."""
    rows = locked_rows(connection, "comments", "github_id", "updated_at", repository_id,
                       github_ids)  # fmt: skip
    return {github_id: updated_at for github_id, (updated_at,) in rows.items()}


def _fields(comment: Comment) -> tuple[Any, ...]:
    return (
        comment.issue_number, comment.author_login, comment.author_type,
        comment.author_association, comment.body, comment.created_at, comment.updated_at,
    )  # fmt: skip


def check_comment(comment: Comment) -> None:
    """Refuse what the ``comments`` columns would refuse, before anything is written.

    Raises:
        TypeError, ValueError: what is wrong with the comment.
    """
    for field in ("github_id", "issue_number"):
        value = getattr(comment, field)
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise ValueError(f"{field} must be a positive integer, got {value!r}")
    for field in ("body", "author_association", "created_at", "updated_at"):
        if not isinstance(getattr(comment, field), str):
            raise TypeError(f"{field} must be text, got {getattr(comment, field)!r}")
    for field in ("author_login", "author_type"):
        value = getattr(comment, field)
        if value is not None and not isinstance(value, str):
            raise TypeError(f"{field} must be text or null, got {value!r}")


def issue_comments(connection: Connection, repository_id: int, number: int) -> list[Comment]:
    """The mirrored comments of issue ``number``, oldest first."""
    rows = connection.execute(
        f"SELECT github_id, {', '.join(_FIELDS)} FROM comments "
        "WHERE repository_id = ? AND issue_number = ? ORDER BY github_id",
        (repository_id, number),
    ).fetchall()
    return [_comment(row) for row in rows]


def _comment(row: tuple[Any, ...]) -> Comment:
    (github_id, number, login, author_type, association, body, created, updated) = row
    return Comment(
        github_id=github_id, body=body, issue_number=number, author_login=login,
        author_type=author_type, author_association=association, created_at=created,
        updated_at=updated,
    )  # fmt: skip
