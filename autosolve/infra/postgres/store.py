"""The :class:`PostgresStore` facade: the SQLite store's operations on a shared database."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol

from autosolve.infra.issue import Issue
from autosolve.infra.store.errors import InvalidIssueError, UnknownIssueError
from autosolve.infra.store.interface import DEFAULT_RELAY_BATCH
from autosolve.infra.store.lifecycle import OwnsDatabase
from autosolve.infra.store.records import (
    Analysis,
    DeadJob,
    Job,
    JobsSummary,
    RecentAnalysis,
    RepositoryRef,
    StoredIssue,
    SyncCursor,
)
from autosolve.infra.store.rows import encode_payload, issue_counts
from autosolve.infra.store.store import TABLES

from . import analyses, queue, sync
from .connection import DEFAULT_IDLE_TRANSACTION_TIMEOUT, DEFAULT_POOL_SIZE, PostgresDatabase
from .migrations import SCHEMA_VERSION, apply_migrations

if TYPE_CHECKING:
    import psycopg

__all__ = ["Fence", "PostgresStore"]


class Fence(Protocol):
    """Checks, inside a write transaction, that this node may write for a repository.

    :class:`~autosolve.infra.postgres.cluster.Cluster` is one; without a
    fence (one daemon on the database) every write is allowed.
    """

    def fence(self, connection: psycopg.Connection, repository: str) -> None: ...

    def fence_repository_id(self, connection: psycopg.Connection, repository_id: int) -> None: ...


class PostgresStore(OwnsDatabase[PostgresDatabase]):
    """The store and job queue on PostgreSQL, shared by every daemon of a cluster.

    Same operations, arguments, results and errors as
    :class:`autosolve.infra.store.Store`; each public method is one short
    transaction on a pooled connection. Writes for a repository's data
    (saving issues and cursors, relaying its outbox) first pass the
    ``fence``, in the same transaction.

    Args:
        url: ``postgresql://…`` (``database.url``).
        now: epoch-seconds clock for the store's own timestamps.
        fence: the cluster's lease check; ``None`` on a single daemon.
        pool_size: connections at most.
        application_name: the connections' name in ``pg_stat_activity``.
        idle_transaction_timeout: see :class:`PostgresDatabase`.

    Raises:
        StoreError: the URL is not a PostgreSQL URL.
    """

    def __init__(
        self,
        url: str,
        *,
        now: Callable[[], float] = time.time,
        fence: Fence | None = None,
        pool_size: int = DEFAULT_POOL_SIZE,
        application_name: str = "autosolve",
        idle_transaction_timeout: float = DEFAULT_IDLE_TRANSACTION_TIMEOUT,
    ) -> None:
        self._database = PostgresDatabase(
            url,
            pool_size=pool_size,
            application_name=application_name,
            idle_transaction_timeout=idle_transaction_timeout,
        )
        self._now = now
        self._fence = fence

    @property
    def database(self) -> PostgresDatabase:
        """The connection pool, shared with the cluster's lease table."""
        return self._database

    @property
    def path(self) -> str:
        """The database, named without its password (for messages, like ``Store.path``)."""
        return self._database.name

    def set_fence(self, fence: Fence | None) -> None:
        """Fence every later repository write with ``fence`` (set once the node joined)."""
        self._fence = fence

    # -- lifecycle -------------------------------------------------------------------

    def migrate(self) -> int:
        """Connect, then apply pending migrations under the advisory lock; return the version.

        Raises:
            DatabaseUnavailableError: the server cannot be reached.
            SchemaVersionError: the database was written by a newer autosolve.
            StoreError: a migration failed; nothing was changed.
        """
        self._database.open()
        return apply_migrations(self._database).get("store", SCHEMA_VERSION)

    # -- repositories ----------------------------------------------------------------

    def upsert_repository(self, github_id: int, owner: str, name: str) -> int:
        """Store or refresh ``owner/name``; return its local id, stable across runs.

        Not fenced: every daemon of a cluster validates every repository at
        start, and refreshing its name and id is the same write from any node.
        """
        with self._database.transaction() as connection:
            return sync.upsert_repository(connection, self._now(), github_id, owner, name)

    def repository(self, owner: str, name: str) -> RepositoryRef:
        """The stored repository ``owner/name`` (case-insensitive), with its watch start.

        Raises:
            UnknownRepositoryError: the repository was never upserted.
        """
        with self._database.transaction() as connection:
            return sync.find_repository(connection, owner, name)

    def repository_id(self, owner: str, name: str) -> int:
        """The local id of ``owner/name`` (case-insensitive).

        Raises:
            UnknownRepositoryError: the repository was never upserted.
        """
        with self._database.transaction() as connection:
            return sync.repository_id(connection, owner, name)

    # -- issue sync ------------------------------------------------------------------

    def save_issue_page(
        self, repository_id: int, issues: Sequence[Issue], cursor: SyncCursor
    ) -> int:
        """Store one page of issues, their outbox events and the new cursor, all or nothing.

        Returns:
            How many issues were new or changed.

        Raises:
            UnknownRepositoryError: ``repository_id`` does not exist.
            InvalidIssueError: an issue violates the schema; nothing was written.
            LeaseLostError: fenced; nothing was written.
        """
        with self._repository_write(repository_id) as (connection, full_name):
            for issue in issues:
                try:
                    sync.check_issue(issue)
                except (AttributeError, TypeError, ValueError) as exc:
                    number = getattr(issue, "number", "?")
                    raise InvalidIssueError(full_name, number, str(exc)) from None
            now = self._now()
            changed = sync.save_page(connection, now, repository_id, issues)
            sync.save_cursor(connection, now, repository_id, cursor)
            return changed

    def load_cursor(self, repository_id: int) -> SyncCursor:
        """The poller's saved position; an empty cursor when it never saved one.

        Raises:
            UnknownRepositoryError: ``repository_id`` does not exist.
        """
        with self._database.transaction() as connection:
            sync.require_repository(connection, repository_id)
            return sync.load_cursor(connection, repository_id)

    def save_cursor(self, repository_id: int, cursor: SyncCursor) -> None:
        """Replace the cursor alone, e.g. to remember a new ETag.

        Raises:
            UnknownRepositoryError: ``repository_id`` does not exist.
            LeaseLostError: fenced; nothing was written.
        """
        with self._repository_write(repository_id) as (connection, _):
            sync.save_cursor(connection, self._now(), repository_id, cursor)

    def get_issue(self, repository_id: int, number: int) -> StoredIssue | None:
        """Issue ``number`` of ``repository_id`` with its repository's owner and name."""
        with self._database.transaction() as connection:
            return sync.get_issue(connection, repository_id, number)

    def issue_counts(self) -> dict[str, int]:
        """Mirrored issues per repository (``owner/name`` → count), for status and metrics."""
        with self._database.transaction() as connection:
            return issue_counts(connection)

    def find_issue(self, owner: str, name: str, number: int) -> StoredIssue:
        """Issue ``number`` of the repository ``owner/name`` (case-insensitive).

        Raises:
            UnknownRepositoryError: the repository is not in the store.
            UnknownIssueError: the repository is, the issue is not (yet) mirrored.
        """
        with self._database.transaction() as connection:
            repository = sync.find_repository(connection, owner, name)
            found = sync.get_issue(connection, repository.id, number)
        if found is None:
            raise UnknownIssueError(repository.full_name, number)
        return found

    # -- analyses --------------------------------------------------------------------

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
        """Record an analysis of ``issue_id``; with ``done_job_id``, delete that job too.

        Not fenced: analysis runs on every daemon (jobs are not per node).
        """
        with self._database.transaction() as connection:
            analysis = analyses.add_analysis(
                connection,
                self._now(),
                issue_id,
                model=model,
                prompt_sha256=prompt_sha256,
                content_sha256=content_sha256,
                body=body,
                comment_id=comment_id,
                posted=posted,
            )
            if done_job_id is not None:
                queue.delete_job(connection, done_job_id)
            return analysis

    def mark_analysis_posted(
        self, analysis_id: int, comment_id: int, *, done_job_id: int | None = None
    ) -> bool:
        """Record that analysis ``analysis_id`` is comment ``comment_id``; delete the job too."""
        with self._database.transaction() as connection:
            found = analyses.mark_posted(connection, self._now(), analysis_id, comment_id)
            if done_job_id is not None:
                queue.delete_job(connection, done_job_id)
            return found

    def latest_analysis(self, issue_id: int, *, posted_only: bool = False) -> Analysis | None:
        """The most recent analysis of ``issue_id`` (posted or not, or posted only), or None."""
        with self._database.transaction() as connection:
            return analyses.latest_analysis(connection, issue_id, posted_only)

    def recent_analyses(self, limit: int = 20) -> list[RecentAnalysis]:
        """The ``limit`` newest analyses of every repository, newest first."""
        _require(limit >= 1, f"`limit` must be at least 1, got {limit!r}")
        with self._database.transaction() as connection:
            return analyses.recent_analyses(connection, limit)

    # -- outbox ----------------------------------------------------------------------

    def relay_outbox(self, repository_id: int, batch_size: int = DEFAULT_RELAY_BATCH) -> int:
        """Move up to ``batch_size`` pending events of one repository into the job queue.

        Returns:
            How many events were acknowledged; 0 when none were pending.

        Raises:
            LeaseLostError: fenced; nothing was moved.
        """
        _require(batch_size >= 1, f"`batch_size` must be at least 1, got {batch_size!r}")
        with self._database.transaction() as connection:
            if self._fence is not None:
                self._fence.fence_repository_id(connection, repository_id)
            return sync.relay_events(connection, self._now(), repository_id, batch_size)

    def pending_outbox(self, repository_id: int | None = None) -> int:
        """Events not yet relayed, of one repository or of all."""
        with self._database.transaction() as connection:
            return sync.pending_events(connection, repository_id)

    # -- job queue -------------------------------------------------------------------

    def enqueue_job(self, payload: Mapping[str, Any] | str, *, delay: float = 0.0) -> int:
        """Add a job; a mapping is JSON-encoded canonically, a string is stored verbatim."""
        _require(delay >= 0, f"`delay` must be non-negative, got {delay!r}")
        text = payload if isinstance(payload, str) else encode_payload(payload)
        with self._database.transaction() as connection:
            return queue.enqueue_job(connection, self._now(), text, delay)

    def receive_job(self, visibility_timeout: float, max_attempts: int) -> Job | None:
        """Lease the oldest visible job for ``visibility_timeout`` seconds (skipping locked ones).

        Returns:
            The job, or ``None`` when no job is visible.
        """
        _require(
            visibility_timeout > 0,
            f"`visibility_timeout` must be greater than 0, got {visibility_timeout!r}",
        )
        _require(max_attempts >= 1, f"`max_attempts` must be at least 1, got {max_attempts!r}")
        with self._database.transaction() as connection:
            return queue.receive_job(connection, self._now(), visibility_timeout, max_attempts)

    def delete_job(self, job_id: int) -> bool:
        """Remove a job whose work is done; False if it was already gone."""
        with self._database.transaction() as connection:
            return queue.delete_job(connection, job_id)

    def release_job(
        self, job_id: int, error: str, delay: float = 0.0, *, spend_attempt: bool = True
    ) -> bool:
        """Give a failed job back: record ``error``, visible again after ``delay`` seconds.

        ``spend_attempt=False`` (an outage, not the job's fault) gives back the
        attempt the receive spent.
        """
        _require(delay >= 0, f"`delay` must be non-negative, got {delay!r}")
        with self._database.transaction() as connection:
            return queue.release_job(connection, self._now(), job_id, error, delay, spend_attempt)

    def dead_letter(self, job_id: int, reason: str) -> bool:
        """Move a job to ``dead_jobs`` at once; False if it was already gone."""
        with self._database.transaction() as connection:
            return queue.dead_letter_job(connection, self._now(), job_id, reason)

    def pending_jobs(self) -> int:
        """Jobs not yet done (waiting, leased, or waiting for a retry)."""
        with self._database.transaction() as connection:
            return queue.count_jobs(connection)

    def dead_jobs(self) -> list[DeadJob]:
        """Every dead-lettered job, oldest first."""
        with self._database.transaction() as connection:
            return queue.list_dead_jobs(connection)

    def jobs_summary(self, recent: int = 20) -> JobsSummary:
        """Counts of ready, in-flight (leased) and dead jobs, and the newest dead ones."""
        _require(recent >= 0, f"`recent` must be non-negative, got {recent!r}")
        with self._database.transaction() as connection:
            return queue.jobs_summary(connection, self._now(), recent)

    def retry_dead_jobs(self, job_id: int | None = None) -> list[int]:
        """Move dead job ``job_id`` (None: all of them) back to the queue, attempts reset.

        Raises:
            UnknownJobError: ``job_id`` is not a dead job.
        """
        with self._database.transaction() as connection:
            return queue.retry_dead_jobs(connection, self._now(), job_id)

    # -- status ----------------------------------------------------------------------

    def count(self, table: str) -> int:
        """Row count of one of :data:`TABLES`.

        Raises:
            ValueError: ``table`` is not one of the store's tables.
        """
        _require(table in TABLES, f"`table` must be one of {', '.join(TABLES)}; got {table!r}")
        with self._database.transaction() as connection:
            # Safe: ``table`` was checked against a fixed list of names.
            row = connection.execute(f"SELECT count(*) FROM {table}").fetchone()
        return int(row[0]) if row else 0

    # -- plumbing --------------------------------------------------------------------

    @contextmanager
    def _repository_write(self, repository_id: int) -> Iterator[tuple[psycopg.Connection, str]]:
        """A transaction for a write to one repository: it exists, and the fence passes."""
        with self._database.transaction() as connection:
            full_name = sync.require_repository(connection, repository_id)
            if self._fence is not None:
                self._fence.fence(connection, full_name)
            yield connection, full_name


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)
