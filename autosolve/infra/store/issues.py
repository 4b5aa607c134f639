"""The ``issues`` table and the outbox events that announce changes to it.

Writing an issue and its outbox event in the same transaction is the point of
the outbox pattern: a crash can never store an issue without the event that
gets it analysed, nor announce an issue that was not stored.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from autosolve.infra.issue import Issue
from autosolve.infra.timestamps import is_earlier, same_instant

from .errors import InvalidIssueError
from .records import StoredIssue
from .rows import SELECT_ISSUE, event_payload, labels_json, stored_issue

__all__ = [
    "EVENT_ISSUE_CREATED",
    "EVENT_ISSUE_UPDATED",
    "get_issue",
    "save_issues",
]

EVENT_ISSUE_CREATED = "issue.created"
"""Outbox event kind for an issue stored for the first time."""
EVENT_ISSUE_UPDATED = "issue.updated"
"""Outbox event kind for an issue whose ``updated_at`` changed."""


def save_issues(
    connection: sqlite3.Connection,
    now: float,
    repository_id: int,
    issues: Sequence[Issue],
    repository: str = "",
) -> int:
    """Upsert ``issues`` and write one outbox event per new or changed issue.

    An issue counts as changed when GitHub's ``updated_at`` names another
    instant than the stored one; re-saving the same issue refreshes its fields but adds no
    event. An issue *older* than the stored copy (a stale page) is ignored, so
    newer data is never overwritten by older data.

    ``repository`` (``owner/name``) only serves error messages.

    Returns:
        How many issues were new or changed (= outbox events written).

    Raises:
        InvalidIssueError: an issue violates the schema; the caller's
            transaction must be rolled back (the facade does).
    """
    events = 0
    for issue in issues:
        try:
            events += _save_issue(connection, now, repository_id, issue)
        except (
            sqlite3.IntegrityError,  # NOT NULL, CHECK
            sqlite3.InterfaceError,
            sqlite3.ProgrammingError,  # a value of a type SQLite cannot store
            TypeError,
            ValueError,
        ) as exc:
            number = getattr(issue, "number", "?")
            name = repository or f"repository id {repository_id}"
            raise InvalidIssueError(name, number, str(exc)) from exc
    return events


def _save_issue(
    connection: sqlite3.Connection, now: float, repository_id: int, issue: Issue
) -> int:
    labels = labels_json(issue.labels)
    row = connection.execute(
        "SELECT id, github_updated_at FROM issues WHERE repository_id = ? AND number = ?",
        (repository_id, issue.number),
    ).fetchone()
    fields = (
        issue.github_id,
        issue.title,
        issue.body,
        issue.state,
        issue.is_pull_request,
        issue.updated_at,
        labels,
        issue.created_at,
        issue.author_login,
        issue.author_type,
    )
    if row is None:
        issue_id = connection.execute(
            """
            INSERT INTO issues (
                github_id, title, body, state, is_pull_request, github_updated_at, labels,
                created_at, author_login, author_type, repository_id, number, stored_at,
                updated_at
            ) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            RETURNING id
            """,
            (*fields, repository_id, issue.number, now, now),
        ).fetchone()[0]
        _add_event(connection, now, repository_id, issue_id, issue, EVENT_ISSUE_CREATED)
        return 1

    issue_id, stored_updated_at = row
    if is_earlier(issue.updated_at, stored_updated_at):
        return 0
    connection.execute(
        """
        UPDATE issues SET
            github_id = ?, title = ?, body = ?, state = ?, is_pull_request = ?,
            github_updated_at = ?, labels = ?, created_at = ?, author_login = ?,
            author_type = ?, updated_at = ?
        WHERE id = ?
        """,
        (*fields, now, issue_id),
    )
    if same_instant(issue.updated_at, stored_updated_at):
        return 0
    _add_event(connection, now, repository_id, issue_id, issue, EVENT_ISSUE_UPDATED)
    return 1


def _add_event(
    connection: sqlite3.Connection,
    now: float,
    repository_id: int,
    issue_id: int,
    issue: Issue,
    kind: str,
) -> None:
    payload = event_payload(repository_id, issue)
    connection.execute(
        """
        INSERT INTO outbox_events (repository_id, issue_id, number, kind, payload, created_at)
        VALUES (?, ?, ?, ?, ?, ?)
        """,
        (repository_id, issue_id, issue.number, kind, payload, now),
    )


def get_issue(
    connection: sqlite3.Connection, repository_id: int, number: int
) -> StoredIssue | None:
    """The stored issue ``number`` of ``repository_id``, with its repository."""
    row = connection.execute(
        SELECT_ISSUE + " WHERE i.repository_id = ? AND i.number = ?", (repository_id, number)
    ).fetchone()
    return None if row is None else stored_issue(row)
