"""Repositories, issues, sync cursors and the outbox on PostgreSQL.

The PostgreSQL twins of :mod:`autosolve.infra.store.repositories`,
``issues``, ``cursors`` and ``outbox``: the same rules (case-insensitive
repository names, newer data never overwritten by older, one outbox event per
new or changed issue, enqueue-and-acknowledge in one transaction), in
PostgreSQL's SQL. Each function runs inside the caller's transaction.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING

from autosolve.infra.store.errors import UnknownRepositoryError
from autosolve.infra.store.issues import EVENT_ISSUE_CREATED, EVENT_ISSUE_UPDATED
from autosolve.infra.store.outbox import job_payload
from autosolve.infra.store.records import IssueRecord, StoredIssue, SyncCursor

from .queue import enqueue_job, find_waiting_job

if TYPE_CHECKING:
    import psycopg

__all__ = [
    "get_issue",
    "load_cursor",
    "pending_events",
    "relay_events",
    "repository_id",
    "require_repository",
    "save_cursor",
    "save_issue",
    "upsert_repository",
]


def upsert_repository(
    connection: psycopg.Connection, now: float, github_id: int, owner: str, name: str
) -> int:
    """Insert or refresh ``owner/name`` (case-insensitive key); return its local id."""
    row = connection.execute(
        """
        INSERT INTO repositories (github_id, owner, name, created_at, updated_at)
        VALUES (%s, %s, %s, %s, %s)
        ON CONFLICT ((lower(owner)), (lower(name))) DO UPDATE SET
            github_id = excluded.github_id,
            owner = excluded.owner,
            name = excluded.name,
            updated_at = excluded.updated_at
        RETURNING id
        """,
        (github_id, owner, name, now, now),
    ).fetchone()
    assert row is not None
    return int(row[0])


def repository_id(connection: psycopg.Connection, owner: str, name: str) -> int:
    """The local id of ``owner/name``.

    Raises:
        UnknownRepositoryError: the repository was never upserted.
    """
    row = connection.execute(
        "SELECT id FROM repositories WHERE lower(owner) = lower(%s) AND lower(name) = lower(%s)",
        (owner, name),
    ).fetchone()
    if row is None:
        raise UnknownRepositoryError(f"{owner}/{name}")
    return int(row[0])


def require_repository(connection: psycopg.Connection, repository_id: int) -> str:
    """``owner/name`` of ``repository_id``.

    Raises:
        UnknownRepositoryError: no repository has that id.
    """
    row = connection.execute(
        "SELECT owner, name FROM repositories WHERE id = %s", (repository_id,)
    ).fetchone()
    if row is None:
        raise UnknownRepositoryError(f"with id {repository_id}")
    return f"{row[0]}/{row[1]}"


def save_issue(
    connection: psycopg.Connection, now: float, repository_id: int, issue: IssueRecord
) -> int:
    """Upsert one issue; write its outbox event when it is new or changed. Returns 0 or 1.

    Raises:
        TypeError: a field has a type the column cannot hold as such.
    """
    _require_types(issue)
    labels = _labels_json(issue.labels)
    row = connection.execute(
        "SELECT id, github_updated_at FROM issues WHERE repository_id = %s AND number = %s "
        "FOR UPDATE",
        (repository_id, issue.number),
    ).fetchone()
    fields = (
        issue.github_id,
        issue.title,
        issue.body,
        issue.state,
        int(_require_bool(issue.is_pull_request)),
        issue.updated_at,
        labels,
    )
    if row is None:
        inserted = connection.execute(
            """
            INSERT INTO issues (
                github_id, title, body, state, is_pull_request, github_updated_at, labels,
                repository_id, number, created_at, updated_at
            ) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
            RETURNING id
            """,
            (*fields, repository_id, issue.number, now, now),
        ).fetchone()
        assert inserted is not None
        _add_event(connection, now, repository_id, int(inserted[0]), issue, EVENT_ISSUE_CREATED)
        return 1
    issue_id, stored_updated_at = row
    if _is_older(issue.updated_at, stored_updated_at):
        return 0
    connection.execute(
        """
        UPDATE issues SET
            github_id = %s, title = %s, body = %s, state = %s, is_pull_request = %s,
            github_updated_at = %s, labels = %s, updated_at = %s
        WHERE id = %s
        """,
        (*fields, now, issue_id),
    )
    if issue.updated_at == stored_updated_at:
        return 0
    _add_event(connection, now, repository_id, issue_id, issue, EVENT_ISSUE_UPDATED)
    return 1


def get_issue(
    connection: psycopg.Connection, repository_id: int, number: int
) -> StoredIssue | None:
    """The stored issue ``number`` of ``repository_id``, with its repository's name."""
    row = connection.execute(
        """
        SELECT i.id, i.repository_id, r.owner, r.name, i.github_id, i.number, i.title,
               i.body, i.state, i.is_pull_request, i.github_updated_at, i.labels
        FROM issues AS i JOIN repositories AS r ON r.id = i.repository_id
        WHERE i.repository_id = %s AND i.number = %s
        """,
        (repository_id, number),
    ).fetchone()
    if row is None:
        return None
    return StoredIssue(
        id=row[0],
        repository_id=row[1],
        owner=row[2],
        name=row[3],
        github_id=row[4],
        number=row[5],
        title=row[6],
        body=row[7],
        state=row[8],
        is_pull_request=bool(row[9]),
        updated_at=row[10],
        labels=tuple(json.loads(row[11])),
    )


def load_cursor(connection: psycopg.Connection, repository_id: int) -> SyncCursor:
    """The saved cursor, or an empty one when none was saved."""
    row = connection.execute(
        "SELECT since, etag, next_url FROM sync_cursors WHERE repository_id = %s",
        (repository_id,),
    ).fetchone()
    return SyncCursor() if row is None else SyncCursor(since=row[0], etag=row[1], next_url=row[2])


def save_cursor(
    connection: psycopg.Connection, now: float, repository_id: int, cursor: SyncCursor
) -> None:
    """Replace the cursor of ``repository_id``, field for field."""
    connection.execute(
        """
        INSERT INTO sync_cursors (repository_id, since, etag, next_url, updated_at)
        VALUES (%s, %s, %s, %s, %s)
        ON CONFLICT (repository_id) DO UPDATE SET
            since = excluded.since, etag = excluded.etag, next_url = excluded.next_url,
            updated_at = excluded.updated_at
        """,
        (repository_id, cursor.since, cursor.etag, cursor.next_url, now),
    )


def relay_events(
    connection: psycopg.Connection, now: float, repository_id: int, batch_size: int
) -> int:
    """Move up to ``batch_size`` pending events of ``repository_id`` into ``jobs``."""
    events = connection.execute(
        """
        SELECT id, number FROM outbox_events
        WHERE repository_id = %s AND relayed_at IS NULL
        ORDER BY id
        LIMIT %s
        FOR UPDATE SKIP LOCKED
        """,
        (repository_id, batch_size),
    ).fetchall()
    for event_id, number in events:
        payload = job_payload(repository_id, number)
        if find_waiting_job(connection, now, payload) is None:
            enqueue_job(connection, now, payload)
        connection.execute(
            "UPDATE outbox_events SET relayed_at = %s WHERE id = %s", (now, event_id)
        )
    return len(events)


def pending_events(connection: psycopg.Connection, repository_id: int | None = None) -> int:
    """Events waiting to be relayed, of one repository or all."""
    row = connection.execute(
        "SELECT count(*) FROM outbox_events WHERE relayed_at IS NULL "
        "AND (%(rid)s::bigint IS NULL OR repository_id = %(rid)s)",
        {"rid": repository_id},
    ).fetchone()
    return int(row[0]) if row else 0


def _add_event(
    connection: psycopg.Connection,
    now: float,
    repository_id: int,
    issue_id: int,
    issue: IssueRecord,
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
        VALUES (%s, %s, %s, %s, %s, %s)
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


def _require_types(issue: IssueRecord) -> None:
    # PostgreSQL would quietly turn a list into its text form ('{a,b}'), where
    # SQLite refuses it; refuse it here, as SQLite does.
    for field in ("title", "body", "state", "updated_at"):
        value = getattr(issue, field)
        if value is not None and not isinstance(value, str):
            raise TypeError(f"{field} must be text, got {value!r}")


def _require_bool(value: object) -> bool:
    # SQLite's CHECK (is_pull_request IN (0, 1)) rejects anything else; so do we.
    if value not in (0, 1):
        raise ValueError(f"is_pull_request must be a boolean, got {value!r}")
    return bool(value)


def _is_older(incoming: str, stored: str) -> bool:
    """True when ``incoming`` is a strictly earlier instant than ``stored``."""
    try:
        return datetime.fromisoformat(incoming) < datetime.fromisoformat(stored)
    except (TypeError, ValueError):
        return False
