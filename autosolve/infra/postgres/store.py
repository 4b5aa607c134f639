"""The :class:`PostgresStore` facade: the SQLite store's operations on a shared database."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol

from autosolve.infra.store.errors import InvalidIssueError
from autosolve.infra.store.records import DeadJob, IssueRecord, Job, StoredIssue, SyncCursor
from autosolve.infra.store.store import DEFAULT_RELAY_BATCH, TABLES

from . import queue, sync
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


class PostgresStore:
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

    def close(self) -> None:
        """Close the pool. Idempotent; any later call raises ``StoreClosedError``."""
        self._database.close()

    def __enter__(self) -> PostgresStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<PostgresStore {self.path}{' closed' if self._database.closed else ''}>"

    # -- repositories ----------------------------------------------------------------

    def upsert_repository(self, github_id: int, owner: str, name: str) -> int:
        """Store or refresh ``owner/name``; return its local id, stable across runs.

        Not fenced: every daemon of a cluster validates every repository at
        start, and refreshing its name and id is the same write from any node.
        """
        with self._database.transaction() as connection:
            return sync.upsert_repository(connection, self._now(), github_id, owner, name)

    def repository_id(self, owner: str, name: str) -> int:
        """The local id of ``owner/name`` (case-insensitive).

        Raises:
            UnknownRepositoryError: the repository was never upserted.
        """
        with self._database.transaction() as connection:
            return sync.repository_id(connection, owner, name)

    # -- issue sync ------------------------------------------------------------------

    def save_issue_page(
        self, repository_id: int, issues: Sequence[IssueRecord], cursor: SyncCursor
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
        text = payload if isinstance(payload, str) else json.dumps(dict(payload), sort_keys=True)
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

    def release_job(self, job_id: int, error: str, delay: float = 0.0) -> bool:
        """Give a failed job back: record ``error``, visible again after ``delay`` seconds."""
        _require(delay >= 0, f"`delay` must be non-negative, got {delay!r}")
        with self._database.transaction() as connection:
            return queue.release_job(connection, self._now(), job_id, error, delay)

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

    # -- status ----------------------------------------------------------------------

    def count(self, table: str) -> int:
        """Row count of one of :data:`TABLES`.

        Raises:
            ValueError: ``table`` is not one of the store's tables.
        """
        _require(table in TABLES, f"`table` must be one of {', '.join(TABLES)}; got {table!r}")
        with self._database.transaction() as connection:
            # Safe: ``table`` was checked against a fixed list of names.
            row = connection.execute(f"SELECT count(*) FROM {table}").fetchone()  # type: ignore[arg-type]
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
