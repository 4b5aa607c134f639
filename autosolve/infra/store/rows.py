"""The text of the JSON columns (labels, outbox and job payloads) and the issue row.

JSON is kept as text, the same on either engine, so a user's query reads
it alike on both.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from autosolve.infra.issue import Issue

from .records import RepositoryRef, StoredIssue

__all__ = [
    "SELECT_ISSUE",
    "decode_payload",
    "encode_payload",
    "event_payload",
    "labels_json",
    "stored_issue",
]


def labels_json(labels: object) -> str:
    """The ``issues.labels`` text: a JSON list of label names.

    Raises:
        TypeError: ``labels`` is not a sequence of strings.
    """
    if isinstance(labels, str | bytes) or labels is None:
        raise TypeError(f"labels must be a sequence of label names, got {labels!r}")
    names = list(labels)  # type: ignore[call-overload]
    for label in names:
        if not isinstance(label, str):
            raise TypeError(f"label names must be strings, got {label!r}")
    return json.dumps(names)


def event_payload(repository_id: int, issue: Issue) -> str:
    """The ``outbox_events.payload`` text announcing ``issue``'s new or changed copy."""
    return encode_payload(
        {
            "repository_id": repository_id,
            "number": issue.number,
            "github_updated_at": issue.updated_at,
        }
    )


def encode_payload(payload: Mapping[str, Any]) -> str:
    """A payload as canonical JSON text: identical content, identical text."""
    return json.dumps(dict(payload), sort_keys=True)


def decode_payload(raw_payload: str) -> dict[str, Any] | None:
    """A job's payload text as a JSON object; None when it is not one."""
    try:
        value = json.loads(raw_payload)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


SELECT_ISSUE = """
    SELECT i.id, r.id, r.owner, r.name, r.watch_since,
           i.github_id, i.number, i.title, i.body, i.state, i.is_pull_request,
           i.github_updated_at, i.created_at, i.labels, i.author_login, i.author_type
    FROM issues AS i JOIN repositories AS r ON r.id = i.repository_id
"""
"""An issue with its repository, as :func:`stored_issue` reads it; add the ``WHERE``."""


def stored_issue(row: tuple[Any, ...]) -> StoredIssue:
    """The record of one row selected by :data:`SELECT_ISSUE`."""
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
