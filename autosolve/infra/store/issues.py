"""The ``issues`` table and the outbox events that announce changes to it.

Writing an issue and its outbox event in the same transaction is the point of
the outbox pattern: a crash can never store an issue without the event that
gets it analysed, nor announce an issue that was not stored.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from autosolve.infra.issue import Issue
from autosolve.infra.timestamps import is_earlier, same_instant

from .engine import Connection, insert_rows, placeholders
from .outbox import add_events
from .records import IssueSummary, StoredIssue
from .rows import SELECT_ISSUE, event_payload, labels_json, stored_issue

__all__ = [
    "EVENT_ISSUE_CREATED",
    "EVENT_ISSUE_UPDATED",
    "REFRESHED",
    "REWRITTEN",
    "STALE",
    "change_of",
    "check_issue",
    "get_issue",
    "issue_counts",
    "issue_ids",
    "issue_states",
    "latest_issues",
    "locked_rows",
    "save_issues",
    "without_nul",
]

EVENT_ISSUE_CREATED = "issue.created"
"""Outbox event kind for an issue stored for the first time."""
EVENT_ISSUE_UPDATED = "issue.updated"
"""Outbox event kind for an issue whose ``updated_at`` changed."""

REFRESHED = "refreshed"
"""An issue stored already at the same instant: its fields are rewritten, no event."""
STALE = "stale"
"""An issue older than the stored copy: left alone."""
_EVENTS = (EVENT_ISSUE_CREATED, EVENT_ISSUE_UPDATED)
"""Changes that write an outbox event."""
REWRITTEN = (EVENT_ISSUE_UPDATED, REFRESHED)
"""Changes that rewrite a stored issue."""

_StoredVersion = tuple[int, str, str, str | None]
"""``(id, updated_at, title, body)`` of a stored issue, as a page's upsert compares it."""

_FIELDS = (
    "github_id", "title", "body", "state", "is_pull_request", "github_updated_at", "labels",
    "created_at", "author_login", "author_type",
)  # fmt: skip
"""The ``issues`` columns that copy GitHub's issue, in :func:`_fields`' order."""


def save_issues(
    connection: Connection, now: float, repository_id: int, issues: Sequence[Issue]
) -> int:
    """Upsert ``issues`` and write one outbox event per new or changed issue.

    An issue counts as changed when GitHub's ``updated_at`` names another
    instant than the stored one; re-saving the same issue refreshes its fields
    but adds no event. An issue *older* than the stored copy (a stale page) is
    ignored, so newer data is never overwritten by older data. An issue given
    twice counts once, as its last copy. A handful of statements per page,
    whatever its size. Issues must have passed :func:`check_issue`.

    Returns:
        How many issues were new or changed (= outbox events written).
    """
    latest = {issue.number: issue for issue in issues}
    stored = _stored_versions(connection, repository_id, list(latest))
    change = {n: _change(issue, stored.get(n)) for n, issue in latest.items()}
    created = [issue for n, issue in latest.items() if change[n] == EVENT_ISSUE_CREATED]
    ids = {n: row[0] for n, row in stored.items()}
    ids.update(_insert_issues(connection, now, repository_id, created))
    rewritten = [(ids[n], issue) for n, issue in latest.items() if change[n] in REWRITTEN]
    _update_issues(connection, now, rewritten)
    _index(connection, [(ids[issue.number], issue) for issue in created], new=True)
    _index(connection, [(i, issue) for i, issue in rewritten if _new_text(issue, stored)])
    events = [(ids[n], issue, change[n]) for n, issue in latest.items() if change[n] in _EVENTS]
    _add_events(connection, now, repository_id, events)
    return len(events)


def _change(issue: Issue, stored: _StoredVersion | None) -> str:
    """What saving ``issue`` over its stored copy amounts to."""
    return change_of(issue.updated_at, None if stored is None else stored[1])


def _new_text(issue: Issue, stored: dict[int, _StoredVersion]) -> bool:
    """Whether rewriting the stored copy of ``issue`` changes its title or body: most
    rewrites do not (a comment, a label or the state moves ``updated_at``; a poll reads
    its last issue again), and re-indexing the same text costs as much as indexing it."""
    return (without_nul(issue.title), without_nul(issue.body)) != stored[issue.number][2:]


def change_of(updated_at: str, stored_updated_at: str | None) -> str:
    """What saving a copy updated at ``updated_at`` over the stored one amounts to.

    :data:`EVENT_ISSUE_CREATED` (nothing stored), :data:`EVENT_ISSUE_UPDATED`
    (a later instant), ``"refreshed"`` (the same instant) or ``"stale"`` (an
    earlier one: left alone). Shared by every mirrored table kept by ``updated_at``.
    """
    if stored_updated_at is None:
        return EVENT_ISSUE_CREATED
    if is_earlier(updated_at, stored_updated_at):
        return STALE
    return REFRESHED if same_instant(updated_at, stored_updated_at) else EVENT_ISSUE_UPDATED


def _stored_versions(
    connection: Connection, repository_id: int, numbers: list[int]
) -> dict[int, _StoredVersion]:
    """``number →`` :data:`_StoredVersion` of the issues already stored, locked until commit."""
    return locked_rows(connection, "issues", "number", "id, github_updated_at, title, body",
                       repository_id, numbers)  # fmt: skip


def locked_rows(
    connection: Connection, table: str, key: str, columns: str, repository_id: int,
    keys: list[int],
) -> dict[int, tuple[Any, ...]]:  # fmt: skip
    """``key → (columns)`` of ``repository_id``'s rows of ``table`` among ``keys``, locked
    until commit (the rows a page goes on to rewrite)."""
    if not keys:
        return {}
    rows = connection.execute(
        f"SELECT {key}, {columns} FROM {table} "
        f"WHERE repository_id = ? AND {key} IN {placeholders(len(keys))} "
        + connection.dialect.lock_rows,
        (repository_id, *keys),
    ).fetchall()
    return {row[0]: tuple(row[1:]) for row in rows}


def _insert_issues(
    connection: Connection, now: float, repository_id: int, issues: list[Issue]
) -> dict[int, int]:
    """Insert ``issues``; their ids by number."""
    rows = insert_rows(
        connection,
        "issues",
        (*_FIELDS, "repository_id", "number", "stored_at", "updated_at"),
        [(*_fields(issue), repository_id, issue.number, now, now) for issue in issues],
        returning="number, id",
    )
    return {number: issue_id for number, issue_id in rows}


def _update_issues(connection: Connection, now: float, issues: list[tuple[int, Issue]]) -> None:
    """Rewrite the fields of already stored ``(id, issue)`` pairs."""
    if not issues:
        return
    assignments = ", ".join(f"{column} = ?" for column in (*_FIELDS, "updated_at"))
    connection.executemany(
        f"UPDATE issues SET {assignments} WHERE id = ?",
        [(*_fields(issue), now, issue_id) for issue_id, issue in issues],
    )


def _index(connection: Connection, written: list[tuple[int, Issue]], *, new: bool = False) -> None:
    """Index the text of the issues just written (not pull requests: never candidates),
    in their transaction, so the search index never disagrees with ``issues``."""
    texts = [(issue_id, issue.title, issue.body) for issue_id, issue in written
             if not issue.is_pull_request]  # fmt: skip
    if texts:
        connection.dialect.search.index_issues(connection, texts, new=new)


def without_nul(text: str | None) -> str | None:
    """``text`` without NUL characters: PostgreSQL's text cannot hold them (a few real
    issue bodies have one), and both stores keep the same text."""
    return text.replace("\x00", "") if text and "\x00" in text else text


def _fields(issue: Issue) -> tuple[Any, ...]:
    """The values of :data:`_FIELDS` for ``issue`` (its text :func:`without_nul`)."""
    return (
        issue.github_id, without_nul(issue.title), without_nul(issue.body), issue.state,
        int(issue.is_pull_request),
        issue.updated_at, labels_json(issue.labels), issue.created_at, issue.author_login,
        issue.author_type,
    )  # fmt: skip


def _add_events(
    connection: Connection, now: float, repository_id: int, events: list[tuple[int, Issue, str]]
) -> None:
    """One outbox event per ``(issue id, issue, kind)``, in order."""
    add_events(
        connection,
        now,
        repository_id,
        [(issue_id, issue.number, kind, event_payload(repository_id, issue))
         for issue_id, issue, kind in events],
    )  # fmt: skip


def check_issue(issue: Issue) -> None:
    """Refuse what the ``issues`` columns would refuse, before anything is written.

    The table's constraints say the same (NOT NULL, CHECK); checking here lets
    a page be written in a few statements and still name the offending issue,
    and refuses alike on both engines what one of them would quietly convert
    (PostgreSQL turns a list into its text form, ``'{a,b}'``).

    Raises:
        TypeError, ValueError: what is wrong with the issue.
    """
    for field in ("github_id", "number"):
        value = getattr(issue, field)
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"{field} must be an integer, got {value!r}")
    if issue.number <= 0:
        raise ValueError(f"number must be positive, got {issue.number!r}")
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


def issue_ids(connection: Connection, repository_id: int, numbers: list[int]) -> dict[int, int]:
    """``number → id`` of those of ``numbers`` the mirror has."""
    if not numbers:
        return {}
    rows = connection.execute(
        f"SELECT number, id FROM issues WHERE repository_id = ? "
        f"AND number IN {placeholders(len(numbers))}",
        (repository_id, *numbers),
    ).fetchall()
    return {number: issue_id for number, issue_id in rows}


def get_issue(connection: Connection, repository_id: int, number: int) -> StoredIssue | None:
    """The stored issue ``number`` of ``repository_id``, with its repository."""
    row = connection.execute(
        SELECT_ISSUE + " WHERE i.repository_id = ? AND i.number = ?", (repository_id, number)
    ).fetchone()
    return None if row is None else stored_issue(row)


def issue_counts(connection: Connection) -> dict[str, int]:
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


def latest_issues(connection: Connection, repository_id: int, limit: int) -> list[IssueSummary]:
    """The ``limit`` highest-numbered (newest) issues of ``repository_id``, with their
    latest analysis."""
    rows = connection.execute(
        """
        SELECT i.number, i.title, i.state, i.is_pull_request, i.labels, i.github_updated_at,
               (SELECT max(a.id) FROM analyses AS a WHERE a.issue_id = i.id)
        FROM issues AS i
        WHERE i.repository_id = ?
        ORDER BY i.number DESC
        LIMIT ?
        """,
        (repository_id, limit),
    ).fetchall()
    return [
        IssueSummary(number, title, state, bool(pull), tuple(json.loads(labels)), updated, latest)
        for number, title, state, pull, labels, updated, latest in rows
    ]


def issue_states(connection: Connection, repository_id: int) -> dict[str, int]:
    """Issues of ``repository_id`` per state (``open``, ``closed``; absent when none)."""
    rows = connection.execute(
        "SELECT state, count(*) FROM issues WHERE repository_id = ? GROUP BY state",
        (repository_id,),
    ).fetchall()
    return {str(state): int(count) for state, count in rows}
