"""Repositories, issues, sync cursors and the outbox on PostgreSQL.

The PostgreSQL twins of :mod:`autosolve.infra.store.repositories`,
``issues``, ``cursors`` and ``outbox``: the same rules (case-insensitive
repository names, newer data never overwritten by older, one outbox event per
new or changed issue, enqueue-and-acknowledge in one transaction), in
PostgreSQL's SQL. Each function runs inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from autosolve.infra.issue import Issue
from autosolve.infra.store.errors import UnknownRepositoryError
from autosolve.infra.store.issues import EVENT_ISSUE_CREATED, EVENT_ISSUE_UPDATED
from autosolve.infra.store.outbox import job_payload
from autosolve.infra.store.records import RepositoryRef, StoredIssue, SyncCursor
from autosolve.infra.store.rows import SELECT_ISSUE, event_payload, labels_json, stored_issue
from autosolve.infra.timestamps import format_epoch, is_earlier, same_instant

from .queue import enqueue_jobs, waiting_payloads

if TYPE_CHECKING:
    import psycopg

__all__ = [
    "check_issue",
    "find_repository",
    "get_issue",
    "load_cursor",
    "pending_events",
    "relay_events",
    "repository_id",
    "require_repository",
    "save_cursor",
    "save_page",
    "upsert_repository",
]


def upsert_repository(
    connection: psycopg.Connection, now: float, github_id: int, owner: str, name: str
) -> int:
    """Insert or refresh ``owner/name`` (case-insensitive key); return its local id.

    The first upsert records ``watch_since`` (``now``, whole seconds); later
    ones never move it.
    """
    watch_since = format_epoch(now)
    row = connection.execute(
        """
        INSERT INTO repositories (github_id, owner, name, created_at, updated_at, watch_since)
        VALUES (%s, %s, %s, %s, %s, %s)
        ON CONFLICT ((lower(owner)), (lower(name))) DO UPDATE SET
            github_id = excluded.github_id,
            owner = excluded.owner,
            name = excluded.name,
            updated_at = excluded.updated_at,
            watch_since = COALESCE(repositories.watch_since, excluded.watch_since)
        RETURNING id
        """,
        (github_id, owner, name, now, now, watch_since),
    ).fetchone()
    assert row is not None
    return int(row[0])


def find_repository(connection: psycopg.Connection, owner: str, name: str) -> RepositoryRef:
    """The stored repository ``owner/name`` (case-insensitive).

    Raises:
        UnknownRepositoryError: the repository was never upserted.
    """
    row = connection.execute(
        "SELECT id, owner, name, watch_since FROM repositories "
        "WHERE lower(owner) = lower(%s) AND lower(name) = lower(%s)",
        (owner, name),
    ).fetchone()
    if row is None:
        raise UnknownRepositoryError(f"{owner}/{name}")
    return RepositoryRef(*row)


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


def save_page(
    connection: psycopg.Connection, now: float, repository_id: int, issues: Sequence[Issue]
) -> int:
    """Upsert a page of issues and write one outbox event per new or changed issue.

    A handful of statements per page, whatever its size (a statement per
    issue would be a round trip per issue to the server). Issues must have
    passed :func:`check_issue`. An issue older than the stored copy is skipped;
    one with the same ``updated_at`` is refreshed without an event.

    Returns:
        How many issues were new or changed (= outbox events written).
    """
    latest = {issue.number: issue for issue in issues}  # a repeated number: the last wins
    stored = {
        number: (issue_id, updated_at)
        for number, issue_id, updated_at in connection.execute(
            "SELECT number, id, github_updated_at FROM issues "
            "WHERE repository_id = %s AND number = ANY(%s) FOR UPDATE",
            (repository_id, list(latest)),
        ).fetchall()
    }
    new = [issue for number, issue in latest.items() if number not in stored]
    refreshed = [
        (stored[number][0], issue)
        for number, issue in latest.items()
        if number in stored and not is_earlier(issue.updated_at, stored[number][1])
    ]
    ids = _insert_issues(connection, now, repository_id, new)
    _update_issues(connection, now, refreshed)
    events = [(ids[issue.number], issue, EVENT_ISSUE_CREATED) for issue in new] + [
        (issue_id, issue, EVENT_ISSUE_UPDATED)
        for issue_id, issue in refreshed
        if not same_instant(issue.updated_at, stored[issue.number][1])
    ]
    _add_events(connection, now, repository_id, events)
    return len(events)


def check_issue(issue: Issue) -> None:
    """Refuse what the ``issues`` columns would refuse, before anything is written.

    The table's constraints say the same (NOT NULL, CHECK); checking here lets
    a page be written in a few statements and still name the offending issue.

    Raises:
        TypeError, ValueError: what is wrong with the issue.
    """
    for field in ("github_id", "number"):
        value = getattr(issue, field)
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"{field} must be an integer, got {value!r}")
    if issue.number <= 0:
        raise ValueError(f"number must be positive, got {issue.number!r}")
    # PostgreSQL would quietly turn a list into its text form ('{a,b}'), where
    # SQLite refuses it; refuse it here, as SQLite does.
    for field in ("title", "state", "updated_at"):
        value = getattr(issue, field)
        if not isinstance(value, str):
            raise TypeError(f"{field} must be text, got {value!r}")
    for field in ("body", "created_at", "author_login", "author_type"):
        value = getattr(issue, field)
        if value is not None and not isinstance(value, str):
            raise TypeError(f"{field} must be text or null, got {value!r}")
    if issue.state not in ("open", "closed"):
        raise ValueError(f"state must be open or closed, got {issue.state!r}")
    if issue.is_pull_request not in (0, 1):
        raise ValueError(f"is_pull_request must be a boolean, got {issue.is_pull_request!r}")
    labels_json(issue.labels)


def _insert_issues(
    connection: psycopg.Connection, now: float, repository_id: int, issues: list[Issue]
) -> dict[int, int]:
    """Insert ``issues`` in one statement; their ids by number."""
    if not issues:
        return {}
    columns = _columns(issues)
    rows = connection.execute(
        """
        INSERT INTO issues (
            github_id, title, body, state, is_pull_request, github_updated_at, labels,
            created_at, author_login, author_type, number, repository_id, stored_at, updated_at
        )
        SELECT u.github_id, u.title, u.body, u.state, u.is_pull_request, u.github_updated_at,
               u.labels, u.created_at, u.author_login, u.author_type, u.number, %s, %s, %s
        FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::text[], %s::int[], %s::text[],
                    %s::text[], %s::text[], %s::text[], %s::text[], %s::int[])
             WITH ORDINALITY AS u (github_id, title, body, state, is_pull_request,
                                   github_updated_at, labels, created_at, author_login,
                                   author_type, number, position)
        ORDER BY u.position
        RETURNING number, id
        """,
        (repository_id, now, now, *columns),
    ).fetchall()
    return {number: issue_id for number, issue_id in rows}


def _update_issues(
    connection: psycopg.Connection, now: float, issues: list[tuple[int, Issue]]
) -> None:
    """Rewrite the fields of already stored ``(id, issue)`` pairs in one statement."""
    if not issues:
        return
    connection.execute(
        """
        UPDATE issues AS i SET
            github_id = u.github_id, title = u.title, body = u.body, state = u.state,
            is_pull_request = u.is_pull_request, github_updated_at = u.github_updated_at,
            labels = u.labels, created_at = u.created_at, author_login = u.author_login,
            author_type = u.author_type, updated_at = %s
        FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::text[], %s::int[], %s::text[],
                    %s::text[], %s::text[], %s::text[], %s::text[], %s::int[], %s::bigint[])
             AS u (github_id, title, body, state, is_pull_request, github_updated_at, labels,
                   created_at, author_login, author_type, number, id)
        WHERE i.id = u.id
        """,
        (now, *_columns([issue for _, issue in issues]), [issue_id for issue_id, _ in issues]),
    )


def _columns(issues: list[Issue]) -> tuple[list[Any], ...]:
    return (
        [i.github_id for i in issues],
        [i.title for i in issues],
        [i.body for i in issues],
        [i.state for i in issues],
        [int(i.is_pull_request) for i in issues],
        [i.updated_at for i in issues],
        [labels_json(i.labels) for i in issues],
        [i.created_at for i in issues],
        [i.author_login for i in issues],
        [i.author_type for i in issues],
        [i.number for i in issues],
    )


def get_issue(
    connection: psycopg.Connection, repository_id: int, number: int
) -> StoredIssue | None:
    """The stored issue ``number`` of ``repository_id``, with its repository."""
    row = connection.execute(
        SELECT_ISSUE + " WHERE i.repository_id = %s AND i.number = %s",
        (repository_id, number),
    ).fetchone()
    return None if row is None else stored_issue(row)


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
    """Move up to ``batch_size`` pending events of ``repository_id`` into ``jobs``.

    An event whose job already waits in the queue (or that repeats an issue of
    the same batch) is acknowledged without a second job. Four statements per
    batch, whatever its size.
    """
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
    if not events:
        return 0
    payloads = list(dict.fromkeys(job_payload(repository_id, number) for _, number in events))
    waiting = waiting_payloads(connection, now, payloads)
    enqueue_jobs(connection, now, [p for p in payloads if p not in waiting])
    connection.execute(
        "UPDATE outbox_events SET relayed_at = %s WHERE id = ANY(%s)",
        (now, [event_id for event_id, _ in events]),
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


def _add_events(
    connection: psycopg.Connection,
    now: float,
    repository_id: int,
    events: list[tuple[int, Issue, str]],
) -> None:
    """One outbox event per ``(issue id, issue, kind)``, in one statement."""
    if not events:
        return
    payloads = [event_payload(repository_id, issue) for _, issue, _ in events]
    connection.execute(
        """
        INSERT INTO outbox_events (repository_id, created_at, issue_id, number, kind, payload)
        SELECT %s, %s, u.issue_id, u.number, u.kind, u.payload
        FROM unnest(%s::bigint[], %s::int[], %s::text[], %s::text[])
             WITH ORDINALITY AS u (issue_id, number, kind, payload, position)
        ORDER BY u.position
        """,
        (
            repository_id,
            now,
            [issue_id for issue_id, _, _ in events],
            [issue.number for _, issue, _ in events],
            [kind for _, _, kind in events],
            payloads,
        ),
    )
