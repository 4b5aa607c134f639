"""The :class:`Store` facade: every operation the daemon needs, one transaction each."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from autosolve.infra.issue import Issue

from . import analyses, cursors, outbox, queue, repositories
from . import issues as issue_rows
from .connection import Database
from .errors import StoreError, UnknownIssueError
from .interface import DEFAULT_RELAY_BATCH
from .lifecycle import OwnsDatabase
from .migrations import apply_migrations
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
from .rows import encode_payload, issue_counts

__all__ = ["TABLES", "SQLiteStore"]

TABLES = (
    "repositories",
    "issues",
    "sync_cursors",
    "outbox_events",
    "jobs",
    "dead_jobs",
    "analyses",
)
"""Tables :meth:`Store.count` accepts."""


class SQLiteStore(OwnsDatabase[Database]):
    """The SQLite store and job queue, safe to share between threads and greenlets.

    Each public method is one short transaction (see
    :mod:`autosolve.infra.store.connection` for why a single lock-guarded
    connection is used). Call :meth:`migrate` once before anything else.

    Args:
        path: the database file; created, with its parent directories, if missing.
        now: clock returning epoch seconds; tests inject one to move time without sleeping.

    Raises:
        StoreError: the database cannot be opened.
    """

    def __init__(
        self, path: str | os.PathLike[str], *, now: Callable[[], float] = time.time
    ) -> None:
        self._database = Database(path)
        self._now = now

    @property
    def path(self) -> str:
        """The database file."""
        return self._database.path

    # -- lifecycle -----------------------------------------------------------------

    def migrate(self) -> int:
        """Apply pending migrations; return the schema version. Harmless when up to date.

        Raises:
            SchemaVersionError: the database was written by a newer autosolve.
            StoreError: a migration failed; it was rolled back.
        """
        with self._database.raw() as connection:
            return apply_migrations(connection, database=self.path)

    # -- repositories ----------------------------------------------------------------

    def upsert_repository(self, github_id: int, owner: str, name: str) -> int:
        """Store or refresh ``owner/name``; return its local id, stable across runs.

        The first call for a repository records its watch start
        (``repositories.watch_since``, now); no later call moves it.
        """
        with self._write() as connection:
            return repositories.upsert_repository(connection, self._now(), github_id, owner, name)

    def repository(self, owner: str, name: str) -> RepositoryRef:
        """The stored repository ``owner/name`` (case-insensitive), with its watch start.

        Raises:
            UnknownRepositoryError: the repository was never upserted.
        """
        with self._read() as connection:
            return repositories.find_repository(connection, owner, name)

    def repository_id(self, owner: str, name: str) -> int:
        """The local id of ``owner/name`` (case-insensitive).

        Raises:
            UnknownRepositoryError: the repository was never upserted.
        """
        with self._read() as connection:
            return repositories.repository_id(connection, owner, name)

    # -- issue sync --------------------------------------------------------------------

    def save_issue_page(
        self, repository_id: int, issues: Sequence[Issue], cursor: SyncCursor
    ) -> int:
        """Store one page of issues, their outbox events and the new cursor, all or nothing.

        Re-saving a page is harmless: only issues that are new or whose
        ``updated_at`` changed get an outbox event.

        Returns:
            How many issues were new or changed.

        Raises:
            UnknownRepositoryError: ``repository_id`` does not exist.
            InvalidIssueError: an issue violates the schema; nothing was written.
        """
        with self._write() as connection:
            full_name = repositories.require_repository(connection, repository_id)
            now = self._now()
            changed = issue_rows.save_issues(connection, now, repository_id, issues, full_name)
            cursors.save_cursor(connection, now, repository_id, cursor)
            return changed

    def load_cursor(self, repository_id: int) -> SyncCursor:
        """The poller's saved position; an empty cursor when it never saved one.

        Raises:
            UnknownRepositoryError: ``repository_id`` does not exist.
        """
        with self._read() as connection:
            repositories.require_repository(connection, repository_id)
            return cursors.load_cursor(connection, repository_id)

    def save_cursor(self, repository_id: int, cursor: SyncCursor) -> None:
        """Replace the cursor alone, e.g. to remember a new ETag.

        Raises:
            UnknownRepositoryError: ``repository_id`` does not exist.
        """
        with self._write() as connection:
            repositories.require_repository(connection, repository_id)
            cursors.save_cursor(connection, self._now(), repository_id, cursor)

    def get_issue(self, repository_id: int, number: int) -> StoredIssue | None:
        """Issue ``number`` of ``repository_id`` with its repository; None if not mirrored."""
        with self._read() as connection:
            return issue_rows.get_issue(connection, repository_id, number)

    def issue_counts(self) -> dict[str, int]:
        """Mirrored issues per repository (``owner/name`` → count), for status and metrics."""
        with self._read() as connection:
            return issue_counts(connection)

    def find_issue(self, owner: str, name: str, number: int) -> StoredIssue:
        """Issue ``number`` of the repository ``owner/name`` (case-insensitive).

        Raises:
            UnknownRepositoryError: the repository is not in the store.
            UnknownIssueError: the repository is, the issue is not (yet) mirrored.
        """
        with self._read() as connection:
            repository = repositories.find_repository(connection, owner, name)
            found = issue_rows.get_issue(connection, repository.id, number)
        if found is None:
            raise UnknownIssueError(repository.full_name, number)
        return found

    # -- analyses ----------------------------------------------------------------------

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

        ``posted`` stamps ``posted_at`` (a comment already on GitHub); leave it
        False for a dry run, a preview, or an analysis about to be posted (then
        call :meth:`mark_analysis_posted`). Recording and deleting the job are
        one transaction: the job is never gone without its analysis stored.
        """
        with self._write() as connection:
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
        """Record that analysis ``analysis_id`` is comment ``comment_id``; delete the job too.

        Returns:
            False if there is no such analysis (the job is deleted all the same).
        """
        with self._write() as connection:
            found = analyses.mark_posted(connection, self._now(), analysis_id, comment_id)
            if done_job_id is not None:
                queue.delete_job(connection, done_job_id)
            return found

    def latest_analysis(self, issue_id: int, *, posted_only: bool = False) -> Analysis | None:
        """The most recent analysis of ``issue_id`` (posted or not, or posted only), or None."""
        with self._read() as connection:
            return analyses.latest_analysis(connection, issue_id, posted_only)

    def recent_analyses(self, limit: int = 20) -> list[RecentAnalysis]:
        """The ``limit`` newest analyses of every repository, newest first."""
        _require(limit >= 1, f"`limit` must be at least 1, got {limit!r}")
        with self._read() as connection:
            return analyses.recent_analyses(connection, limit)

    # -- outbox ------------------------------------------------------------------------

    def relay_outbox(self, repository_id: int, batch_size: int = DEFAULT_RELAY_BATCH) -> int:
        """Move up to ``batch_size`` pending events of one repository into the job queue.

        Enqueueing and acknowledging are one transaction. An event whose job
        is already waiting is acknowledged without a second job.

        Returns:
            How many events were acknowledged; 0 when none were pending.
        """
        _require(batch_size >= 1, f"`batch_size` must be at least 1, got {batch_size!r}")
        with self._write() as connection:
            return outbox.relay_events(connection, self._now(), repository_id, batch_size)

    def pending_outbox(self, repository_id: int | None = None) -> int:
        """Events not yet relayed, of one repository or of all."""
        with self._read() as connection:
            return outbox.pending_events(connection, repository_id)

    # -- job queue ---------------------------------------------------------------------

    def enqueue_job(self, payload: Mapping[str, Any] | str, *, delay: float = 0.0) -> int:
        """Add a job; a mapping is JSON-encoded canonically, a string is stored verbatim.

        Returns:
            The new job's id.
        """
        _require(delay >= 0, f"`delay` must be non-negative, got {delay!r}")
        text = payload if isinstance(payload, str) else encode_payload(payload)
        with self._write() as connection:
            return queue.enqueue_job(connection, self._now(), text, delay)

    def receive_job(self, visibility_timeout: float, max_attempts: int) -> Job | None:
        """Lease the oldest visible job for ``visibility_timeout`` seconds.

        Jobs already received ``max_attempts`` times are moved to ``dead_jobs``
        on the way instead of being returned. A payload that is not a JSON
        object comes back as ``Job.payload = None`` for the caller to dead-letter.

        Returns:
            The job, or ``None`` when no job is visible.
        """
        _require(
            visibility_timeout > 0,
            f"`visibility_timeout` must be greater than 0, got {visibility_timeout!r}",
        )
        _require(max_attempts >= 1, f"`max_attempts` must be at least 1, got {max_attempts!r}")
        with self._write() as connection:
            return queue.receive_job(connection, self._now(), visibility_timeout, max_attempts)

    def delete_job(self, job_id: int) -> bool:
        """Remove a job whose work is done; False if it was already gone."""
        with self._write() as connection:
            return queue.delete_job(connection, job_id)

    def release_job(
        self, job_id: int, error: str, delay: float = 0.0, *, spend_attempt: bool = True
    ) -> bool:
        """Give a failed job back: record ``error``, visible again after ``delay`` seconds.

        Args:
            spend_attempt: False when the failure was not the job's fault (an
                outage): the attempt the receive spent is given back, so the
                job never reaches ``max_attempts`` that way.

        Returns:
            False if the job was already gone (deleted or dead-lettered).
        """
        _require(delay >= 0, f"`delay` must be non-negative, got {delay!r}")
        with self._write() as connection:
            return queue.release_job(connection, self._now(), job_id, error, delay, spend_attempt)

    def dead_letter(self, job_id: int, reason: str) -> bool:
        """Move a job to ``dead_jobs`` at once (malformed payloads, permanent failures).

        Returns:
            False if the job was already gone.
        """
        with self._write() as connection:
            return queue.dead_letter_job(connection, self._now(), job_id, reason)

    def pending_jobs(self) -> int:
        """Jobs not yet done (waiting, leased, or waiting for a retry)."""
        with self._read() as connection:
            return queue.count_jobs(connection)

    def dead_jobs(self) -> list[DeadJob]:
        """Every dead-lettered job, oldest first."""
        with self._read() as connection:
            return queue.list_dead_jobs(connection)

    def jobs_summary(self, recent: int = 20) -> JobsSummary:
        """Counts of ready, in-flight (leased) and dead jobs, and the newest dead ones."""
        _require(recent >= 0, f"`recent` must be non-negative, got {recent!r}")
        with self._read() as connection:
            return queue.jobs_summary(connection, self._now(), recent)

    def retry_dead_jobs(self, job_id: int | None = None) -> list[int]:
        """Move dead job ``job_id`` (None: all of them) back to the queue, attempts reset.

        Returns:
            The ids of the jobs given another chance, oldest first.

        Raises:
            UnknownJobError: ``job_id`` is not a dead job.
        """
        with self._write() as connection:
            return queue.retry_dead_jobs(connection, self._now(), job_id)

    # -- status ------------------------------------------------------------------------

    def count(self, table: str) -> int:
        """Row count of one of :data:`TABLES`, for status and tests.

        Raises:
            ValueError: ``table`` is not one of the store's tables.
        """
        _require(table in TABLES, f"`table` must be one of {', '.join(TABLES)}; got {table!r}")
        with self._read() as connection:
            # Safe: ``table`` was checked against a fixed list of names.
            return int(connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0])

    # -- plumbing ----------------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with _translated(self.path), self._database.write() as connection:
            yield connection

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        with _translated(self.path), self._database.read() as connection:
            yield connection


@contextmanager
def _translated(path: str) -> Iterator[None]:
    """Turn SQLite's bare errors into ``StoreError`` naming the database."""
    try:
        yield
    except sqlite3.Error as exc:
        hint = " (was Store.migrate() called?)" if "no such table" in str(exc) else ""
        raise StoreError(f"database {path}: {exc}{hint}") from exc


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)
