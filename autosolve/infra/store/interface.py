"""The store interface: what the domain may ask of a store, whichever engine is behind it.

:class:`Store` is a :class:`typing.Protocol`; the domain types against it.
Two implementations satisfy it: :class:`autosolve.infra.store.SQLiteStore`
(one daemon, one file) and :class:`autosolve.infra.postgres.PostgresStore`
(several daemons, one shared database). The store contract suite
(``tests/infra/test_store.py``) runs every behaviour against both.

Every method is one short transaction; errors are :class:`StoreError`s that
name the database (never its password).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from autosolve.infra.issue import Issue

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

__all__ = ["DEFAULT_RELAY_BATCH", "Store"]

DEFAULT_RELAY_BATCH = 20
"""Events moved per :meth:`Store.relay_outbox` call: small, to keep transactions short."""


class Store(Protocol):
    """Repositories, the issue mirror, sync cursors, the outbox, the job queue, analyses."""

    @property
    def path(self) -> str:
        """The database, for messages: a file path, or a URL without its password."""
        ...

    # -- lifecycle
    def migrate(self) -> int:
        """Open if needed and apply pending migrations; return the schema version."""
        ...

    def close(self) -> None:
        """Release the database; idempotent. Later calls raise ``StoreClosedError``."""
        ...

    def __enter__(self) -> Store: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...

    # -- repositories
    def upsert_repository(self, github_id: int, owner: str, name: str) -> int:
        """Store or refresh ``owner/name``; its local id. The first call records ``watch_since``."""
        ...

    def repository(self, owner: str, name: str) -> RepositoryRef:
        """The stored repository (case-insensitive); ``UnknownRepositoryError`` if absent."""
        ...

    def repository_id(self, owner: str, name: str) -> int:
        """The local id of ``owner/name``; ``UnknownRepositoryError`` if absent."""
        ...

    # -- issue sync
    def save_issue_page(
        self, repository_id: int, issues: Sequence[Issue], cursor: SyncCursor
    ) -> int:
        """Issues, their outbox events and the cursor in one transaction; how many changed."""
        ...

    def load_cursor(self, repository_id: int) -> SyncCursor:
        """The poller's saved position (empty when none)."""
        ...

    def save_cursor(self, repository_id: int, cursor: SyncCursor) -> None:
        """Replace the cursor alone."""
        ...

    def get_issue(self, repository_id: int, number: int) -> StoredIssue | None:
        """Issue ``number`` of ``repository_id``, or None."""
        ...

    def issue_counts(self) -> dict[str, int]:
        """Mirrored issues per repository (``owner/name`` → count)."""
        ...

    def find_issue(self, owner: str, name: str, number: int) -> StoredIssue:
        """Issue ``number`` of ``owner/name``; ``UnknownRepositoryError``/``UnknownIssueError``."""
        ...

    # -- analyses
    def add_analysis(
        self,
        issue_id: int,
        *,
        model: str,
        prompt_sha256: str,
        content_sha256: str,
        body: str,
        comment_id: int | None = None,
        posted: bool = False,
        done_job_id: int | None = None,
    ) -> Analysis:
        """Record an analysis; with ``done_job_id`` delete that job in the same transaction."""
        ...

    def mark_analysis_posted(
        self, analysis_id: int, comment_id: int, *, done_job_id: int | None = None
    ) -> bool:
        """Record the comment an analysis became; delete ``done_job_id`` with it."""
        ...

    def latest_analysis(self, issue_id: int, *, posted_only: bool = False) -> Analysis | None:
        """The newest analysis of an issue (or the newest posted one)."""
        ...

    def recent_analyses(self, limit: int = 20) -> list[RecentAnalysis]:
        """The newest analyses of every repository, newest first."""
        ...

    # -- outbox
    def relay_outbox(self, repository_id: int, batch_size: int = DEFAULT_RELAY_BATCH) -> int:
        """Move up to ``batch_size`` pending events into the queue; how many were moved."""
        ...

    def pending_outbox(self, repository_id: int | None = None) -> int:
        """Events not yet relayed."""
        ...

    # -- job queue
    def enqueue_job(self, payload: Mapping[str, Any] | str, *, delay: float = 0.0) -> int:
        """Add a job; its id."""
        ...

    def receive_job(self, visibility_timeout: float, max_attempts: int) -> Job | None:
        """Lease the oldest visible job (dead-lettering exhausted ones), or None."""
        ...

    def delete_job(self, job_id: int) -> bool:
        """Remove a finished job."""
        ...

    def release_job(
        self, job_id: int, error: str, delay: float = 0.0, *, spend_attempt: bool = True
    ) -> bool:
        """Give a failed job back, visible after ``delay``; an outage spends no attempt."""
        ...

    def dead_letter(self, job_id: int, reason: str) -> bool:
        """Move a job to ``dead_jobs`` at once."""
        ...

    def pending_jobs(self) -> int:
        """Jobs not yet done."""
        ...

    def dead_jobs(self) -> list[DeadJob]:
        """Every dead job, oldest first."""
        ...

    def jobs_summary(self, recent: int = 20) -> JobsSummary:
        """Ready, in-flight and dead counts and the newest dead jobs."""
        ...

    def retry_dead_jobs(self, job_id: int | None = None) -> list[int]:
        """Dead job ``job_id`` (None: all) back to the queue."""
        ...

    # -- status
    def count(self, table: str) -> int:
        """Row count of one of the store's tables."""
        ...
