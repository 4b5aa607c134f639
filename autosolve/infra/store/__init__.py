"""SQLite store: repositories, issues, sync cursors, the outbox and the job queue.

Stdlib :mod:`sqlite3` only, WAL mode, versioned migrations. :class:`Store` is
the facade the domain uses; :class:`InstanceLock` keeps a second daemon off
the same database.

Tables (users may query them directly; store-written times are epoch seconds):

``repositories(id, github_id, owner, name, created_at, updated_at, watch_since)``
    UNIQUE(owner, name), compared case-insensitively. ``watch_since`` (ISO 8601
    UTC) is when autosolve first validated it here: the default watch start.
``issues(id, repository_id, github_id, number, title, body, state, is_pull_request,
github_updated_at, labels, created_at, author_login, author_type, stored_at, updated_at)``
    UNIQUE(repository_id, number); ``labels`` is a JSON array of names;
    ``created_at`` and ``github_updated_at`` are GitHub's ISO text;
    ``stored_at``/``updated_at`` are the store's own times.
``sync_cursors(repository_id, since, etag, next_url, updated_at)``
    One row per repository.
``outbox_events(id, repository_id, issue_id, number, kind, payload, created_at, relayed_at)``
    ``relayed_at`` is NULL while the event is pending.
``jobs(id, payload, enqueued_at, visible_at, leased_until, receive_count, attempts,
last_error)``
    ``attempts`` counts failures the job caused; outages do not spend them.
``dead_jobs(id, job_id, payload, enqueued_at, receive_count, last_error, reason, dead_at)``
``analyses(id, issue_id, model, prompt_sha256, content_sha256, body, comment_id,
created_at, posted_at)``
    Every analysis made; ``posted_at`` is NULL when it was not posted.
"""

from __future__ import annotations

from .errors import (
    DatabaseInUseError,
    InvalidIssueError,
    SchemaVersionError,
    StoreClosedError,
    StoreError,
    UnknownIssueError,
    UnknownJobError,
    UnknownRepositoryError,
)
from .lock import InstanceLock
from .migrations import SCHEMA_VERSION
from .records import (
    Analysis,
    DeadJob,
    Job,
    JobsSummary,
    RecentAnalysis,
    RepositoryRef,
    StoredIssue,
    SyncCursor,
)
from .store import TABLES, Store

__all__ = [
    "SCHEMA_VERSION",
    "TABLES",
    "Analysis",
    "DatabaseInUseError",
    "DeadJob",
    "InstanceLock",
    "InvalidIssueError",
    "Job",
    "JobsSummary",
    "RecentAnalysis",
    "RepositoryRef",
    "SchemaVersionError",
    "Store",
    "StoreClosedError",
    "StoreError",
    "StoredIssue",
    "SyncCursor",
    "UnknownIssueError",
    "UnknownJobError",
    "UnknownRepositoryError",
]
