"""The store: repositories, issues, sync cursors, the outbox, the job queue, analyses.

:class:`Store` is the one store the domain types against: every operation
once, over an :class:`~.engine.Engine` that supplies transactions, ``?``
placeholders and its :class:`~.engine.Dialect`. :class:`SQLiteStore` is the
store on SQLite (:mod:`.sqlite`: stdlib :mod:`sqlite3`, WAL mode),
:class:`autosolve.infra.postgres.store.PostgresStore` on PostgreSQL.
:class:`InstanceLock` keeps a second daemon off a SQLite file. Both engines
create the same tables from :mod:`.schema`, version for version.

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

from .engine import Connection, Dialect, Engine
from .errors import (
    DatabaseInUseError,
    DatabaseReplacedError,
    InvalidIssueError,
    SchemaVersionError,
    StoreClosedError,
    StoreError,
    UnknownIssueError,
    UnknownJobError,
    UnknownRepositoryError,
)
from .records import (
    Analysis,
    DeadJob,
    IssueSummary,
    Job,
    JobsSummary,
    RecentAnalysis,
    RepositoryIssues,
    RepositoryRef,
    StoredIssue,
    SyncCursor,
)
from .schema import SCHEMA_VERSION, TABLES
from .sqlite import InstanceLock, SQLiteStore
from .store import DEFAULT_RELAY_BATCH, Fence, Store

__all__ = [
    "DEFAULT_RELAY_BATCH",
    "SCHEMA_VERSION",
    "TABLES",
    "Analysis",
    "Connection",
    "DatabaseInUseError",
    "DatabaseReplacedError",
    "DeadJob",
    "Dialect",
    "Engine",
    "Fence",
    "InstanceLock",
    "InvalidIssueError",
    "IssueSummary",
    "Job",
    "JobsSummary",
    "RecentAnalysis",
    "RepositoryIssues",
    "RepositoryRef",
    "SQLiteStore",
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
