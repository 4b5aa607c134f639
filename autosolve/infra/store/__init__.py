"""SQLite store: repositories, issues, sync cursors, the outbox and the job queue.

Stdlib :mod:`sqlite3` only, WAL mode, versioned migrations. :class:`Store` is
the facade the domain uses; :class:`InstanceLock` keeps a second daemon off
the same database.

Tables (users may query them directly; store-written times are epoch seconds):

``repositories(id, github_id, owner, name, created_at, updated_at)``
    UNIQUE(owner, name), compared case-insensitively.
``issues(id, repository_id, github_id, number, title, body, state, is_pull_request,
github_updated_at, labels, created_at, updated_at)``
    UNIQUE(repository_id, number); ``labels`` is a JSON array of names.
``sync_cursors(repository_id, since, etag, next_url, updated_at)``
    One row per repository.
``outbox_events(id, repository_id, issue_id, number, kind, payload, created_at, relayed_at)``
    ``relayed_at`` is NULL while the event is pending.
``jobs(id, payload, enqueued_at, visible_at, leased_until, receive_count, last_error)``
``dead_jobs(id, job_id, payload, enqueued_at, receive_count, last_error, reason, dead_at)``
"""

from __future__ import annotations

from .errors import (
    DatabaseInUseError,
    InvalidIssueError,
    SchemaVersionError,
    StoreClosedError,
    StoreError,
    UnknownRepositoryError,
)
from .lock import InstanceLock
from .migrations import SCHEMA_VERSION
from .records import DeadJob, IssueRecord, Job, StoredIssue, SyncCursor
from .store import TABLES, Store

__all__ = [
    "SCHEMA_VERSION",
    "TABLES",
    "DatabaseInUseError",
    "DeadJob",
    "InstanceLock",
    "InvalidIssueError",
    "IssueRecord",
    "Job",
    "SchemaVersionError",
    "Store",
    "StoreClosedError",
    "StoreError",
    "StoredIssue",
    "SyncCursor",
    "UnknownRepositoryError",
]
