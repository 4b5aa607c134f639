"""The ``issues`` table and the outbox events that announce changes to it.

Writing an issue and its outbox event in the same transaction is the point of
the outbox pattern: a crash can never store an issue without the event that
gets it analysed, nor announce an issue that was not stored.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any

from autosolve.infra.issue import Issue
from autosolve.infra.timestamps import parse_timestamp, same_instant

from .errors import InvalidIssueError
from .records import RepositoryRef, StoredIssue

__all__ = [
    "EVENT_ISSUE_CREATED",
    "EVENT_ISSUE_UPDATED",
    "get_issue",
    "issue_counts",
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
    labels = _labels_json(issue.labels)
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
    if _is_older(issue.updated_at, stored_updated_at):
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
    payload = json.dumps(
        {
            "repository_id": repository_id,
            "number": issue.number,
            "github_updated_at": issue.updated_at,
        },
        sort_keys=True,
    )
    connection.execute(
        """
        INSERT INTO outbox_events (repository_id, issue_id, number, kind, payload, created_at)
        VALUES (?, ?, ?, ?, ?, ?)
        """,
        (repository_id, issue_id, issue.number, kind, payload, now),
    )


def _labels_json(labels: object) -> str:
    if isinstance(labels, str | bytes) or labels is None:
        raise TypeError(f"labels must be a sequence of label names, got {labels!r}")
    names = list(labels)  # type: ignore[call-overload]
    for label in names:
        if not isinstance(label, str):
            raise TypeError(f"label names must be strings, got {label!r}")
    return json.dumps(names)


def _is_older(incoming: str, stored: str) -> bool:
    """True when ``incoming`` is a strictly earlier instant than ``stored``.

    Unparseable timestamps are never considered older: storing them is better
    than silently dropping an update.
    """
    try:
        return parse_timestamp(incoming) < parse_timestamp(stored)
    except (TypeError, ValueError):
        return False


_SELECT_ISSUE = """
    SELECT i.id, r.id, r.owner, r.name, r.watch_since,
           i.github_id, i.number, i.title, i.body, i.state, i.is_pull_request,
           i.github_updated_at, i.created_at, i.labels, i.author_login, i.author_type
    FROM issues AS i JOIN repositories AS r ON r.id = i.repository_id
"""


def get_issue(
    connection: sqlite3.Connection, repository_id: int, number: int
) -> StoredIssue | None:
    """The stored issue ``number`` of ``repository_id``, with its repository."""
    row = connection.execute(
        _SELECT_ISSUE + " WHERE i.repository_id = ? AND i.number = ?", (repository_id, number)
    ).fetchone()
    return None if row is None else _stored_issue(row)


def _stored_issue(row: tuple[Any, ...]) -> StoredIssue:
    (issue_id, repository_id, owner, name, watch_since, github_id, number, title, body, state,
     is_pull_request, updated_at, created_at, labels, author_login, author_type) = row  # fmt: skip
    return StoredIssue(
        id=issue_id,
        repository=RepositoryRef(repository_id, owner, name, watch_since),
        issue=Issue(
            github_id=github_id,
            number=number,
            title=title,
            body=body,
            state=state,
            is_pull_request=bool(is_pull_request),
            updated_at=updated_at,
            created_at=created_at,
            labels=tuple(json.loads(labels)),
            author_login=author_login,
            author_type=author_type,
        ),
    )


def issue_counts(connection: sqlite3.Connection) -> dict[str, int]:
    """Mirrored issues (pull requests included) per repository, ``owner/name`` → count."""
    rows = connection.execute(
        """
        SELECT r.owner || '/' || r.name, count(i.id)
        FROM repositories AS r LEFT JOIN issues AS i ON i.repository_id = r.id
        GROUP BY r.id
        ORDER BY r.owner, r.name
        """
    ).fetchall()
    return {name: int(count) for name, count in rows}
