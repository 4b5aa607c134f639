"""The :class:`Store`: every operation the daemon needs, once, over either engine."""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol, Self

from autosolve.infra.issue import Issue

from . import analyses, cursors, outbox, queue, repositories
from . import issues as issue_rows
from .engine import Connection, Engine
from .errors import InvalidIssueError, UnknownIssueError
from .records import (
    Analysis,
    Job,
    JobsSummary,
    RecentAnalysis,
    RepositoryIssues,
    StoredIssue,
    SyncCursor,
)

__all__ = ["DEFAULT_RELAY_BATCH", "Fence", "Liveness", "Store", "new_holder_id"]

logger = logging.getLogger("autosolve.store")

DEFAULT_RELAY_BATCH = 20
"""Events moved per :meth:`Store.relay_outbox` call: small, to keep transactions short."""


class Fence(Protocol):
    """Checks, inside a write transaction, that this node may write for a repository.

    :class:`~autosolve.infra.postgres.cluster.Cluster` is one; without a
    fence (one daemon on the database) every write is allowed.
    """

    def fence(self, connection: Connection, repository: str) -> None:
        """Go on only if this node holds ``repository`` (``owner/name``); else raise."""
        ...

    def fence_repository_id(self, connection: Connection, repository_id: int) -> None:
        """:meth:`fence` for a repository known by its local id."""
        ...


class Liveness(Protocol):
    """Which holders of job leases are alive: a cluster's node table.

    :class:`~autosolve.infra.postgres.cluster.Cluster` is one: a node is
    alive while its heartbeat row has not expired.
    """

    def holder_alive(self) -> tuple[str, Sequence[object]]:
        """A condition on a ``jobs`` row, true while its ``leased_by`` holder lives.

        Returns:
            The SQL (``?`` placeholders) and its parameters.
        """
        ...


def new_holder_id() -> str:
    """A fresh id for the leases of one process: ``hostname-pid.random``."""
    return f"{socket.gethostname()}-{os.getpid()}.{uuid.uuid4().hex[:12]}"


class Store:
    """Repositories, the issue mirror, sync cursors, the outbox, the job queue, analyses.

    The one type the domain works with, whichever engine is behind it
    (:class:`~autosolve.infra.store.SQLiteStore`: one daemon, one file;
    :class:`~autosolve.infra.postgres.store.PostgresStore`: several daemons,
    one shared database). Each public method is one short transaction, safe to
    call from any thread or greenlet; errors are :class:`StoreError` naming the
    database (never its password). Writes for a repository's data (its issues,
    cursor and outbox) pass the ``fence`` first, in the same transaction. Call
    :meth:`migrate` once before anything else.

    Args:
        engine: the database and how to speak to it.
        now: clock returning epoch seconds; tests inject one to move time without sleeping.
        fence: the cluster's lease check; ``None`` on a single daemon.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        now: Callable[[], float] = time.time,
        fence: Fence | None = None,
    ) -> None:
        self._engine = engine
        self._now = now
        self._fence = fence
        self._holder = new_holder_id()

    @property
    def engine(self) -> Engine:
        """The database the store runs on."""
        return self._engine

    @property
    def path(self) -> str:
        """The database, for messages: a file path, or a URL without its password."""
        return self._engine.name

    @property
    def holder(self) -> str:
        """Who holds the jobs this store leases (``jobs.leased_by``): this process.

        A fresh :func:`new_holder_id` until :meth:`set_holder` names it otherwise.
        """
        return self._holder

    def set_fence(self, fence: Fence | None) -> None:
        """Fence every later repository write with ``fence`` (set once the node joined)."""
        self._fence = fence

    def set_holder(self, holder: str) -> None:
        """Lease later jobs as ``holder`` (a cluster node's id, known once it joined)."""
        self._holder = holder

    # -- lifecycle ---------------------------------------------------------------------

    def migrate(self) -> int:
        """Open if needed and apply pending migrations; return the schema version.

        Harmless when up to date, and when several daemons migrate at once.

        Raises:
            SchemaVersionError: the database was written by a newer autosolve.
            DatabaseUnavailableError: the server cannot be reached (PostgreSQL).
            StoreError: a migration failed; it was rolled back.
        """
        return self._engine.migrate()

    def close(self) -> None:
        """Release the database (a PostgreSQL store's pool). Idempotent.

        Any later call raises ``StoreClosedError``.
        """
        self._engine.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        closed = " closed" if self._engine.closed else ""
        return f"<{type(self).__name__} {self.path}{closed}>"

    # -- repositories ------------------------------------------------------------------

    def upsert_repository(
        self, github_id: int, owner: str, name: str, *, watch_since: float | None = None
    ) -> int:
        """Store or refresh ``owner/name``; return its local id, stable across runs.

        The first call for a repository records its watch start
        (``repositories.watch_since``); no later call moves it. Not fenced:
        every daemon of a cluster validates every repository at start, and
        refreshing its name and id is the same write from any node.

        Args:
            watch_since: the watch start to record (epoch seconds), GitHub's
                time of the validation; None: the store's clock, now.
        """
        now = self._now()
        start = now if watch_since is None else watch_since
        with self._write() as connection:
            return repositories.upsert_repository(
                connection, now, github_id, owner, name, watch_since=start
            )

    def repository_id(self, owner: str, name: str) -> int:
        """The local id of ``owner/name`` (case-insensitive).

        Raises:
            UnknownRepositoryError: the repository was never upserted.
        """
        with self._read() as connection:
            return repositories.find_repository(connection, owner, name).id

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
            LeaseLostError: fenced; nothing was written.
        """
        with self._repository_write(repository_id) as (connection, full_name):
            _check_page(full_name, issues)
            now = self._now()
            changed = issue_rows.save_issues(connection, now, repository_id, issues)
            cursors.save_cursor(connection, now, repository_id, cursor)
            return changed

    def record_delivery(
        self,
        delivery_id: str,
        event: str,
        repository_id: int | None = None,
        issues: Sequence[Issue] = (),
    ) -> int | None:
        """Record a webhook delivery and store the issues its payload carries, all or nothing.

        The issues take the poller's path (:meth:`save_issue_page` without a
        cursor): an issue whose ``updated_at`` the mirror has already gets no
        outbox event, so a delivery and a poll of one change queue one analysis.
        The write is not fenced: in a cluster the delivery reaches whichever
        daemon the proxy chose, and storing a newer copy is safe anywhere.

        Returns:
            None for a delivery recorded before (nothing written); else how
            many issues were new or changed.

        Raises:
            UnknownRepositoryError: ``repository_id`` does not exist.
            InvalidIssueError: an issue violates the schema; nothing was written.
        """
        with self._write() as connection:
            now = self._now()
            recorded = connection.execute(
                "INSERT INTO webhook_deliveries (delivery_id, event, received_at) "
                "VALUES (?, ?, ?) ON CONFLICT (delivery_id) DO NOTHING",
                (delivery_id, event, now),
            ).rowcount
            if not recorded:
                return None
            if repository_id is None or not issues:
                return 0
            full_name = repositories.require_repository(connection, repository_id)
            _check_page(full_name, issues)
            return issue_rows.save_issues(connection, now, repository_id, issues)

    def load_cursor(self, repository_id: int) -> SyncCursor:
        """The poller's saved position; an empty cursor when it never saved one.

        Raises:
            UnknownRepositoryError: ``repository_id`` does not exist.
        """
        with self._read() as connection:
            repositories.require_repository(connection, repository_id)
            return cursors.load_cursor(connection, repository_id)

    def get_issue(self, repository_id: int, number: int) -> StoredIssue | None:
        """Issue ``number`` of ``repository_id`` with its repository; None if not mirrored."""
        with self._read() as connection:
            return issue_rows.get_issue(connection, repository_id, number)

    def issue_counts(self) -> dict[str, int]:
        """Mirrored issues per repository (``owner/name`` → count), for status and metrics."""
        with self._read() as connection:
            return issue_rows.issue_counts(connection)

    def repository_issues(self, repository: str, limit: int = 20) -> RepositoryIssues:
        """``repository`` (``owner/name``)'s issues per state and its ``limit`` newest ones.

        Raises:
            UnknownRepositoryError: ``repository`` is not in the store.
        """
        _require(limit >= 0, f"`limit` must be non-negative, got {limit!r}")
        with self._read() as connection:
            found = repositories.find_repository(connection, *_split(repository))
            return RepositoryIssues(
                found.full_name,
                issue_rows.issue_states(connection, found.id),
                issue_rows.latest_issues(connection, found.id, limit),
            )

    def repository_names(self) -> dict[int, str]:
        """``owner/name`` of every stored repository by local id (job payloads name ids)."""
        with self._read() as connection:
            return repositories.repository_names(connection)

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
        Not fenced: analysis runs on every daemon (jobs are not per node).
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
            _job_done(connection, done_job_id)
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
            _job_done(connection, done_job_id)
            return found

    def latest_analysis(self, issue_id: int, *, posted_only: bool = False) -> Analysis | None:
        """The most recent analysis of ``issue_id`` (posted or not, or posted only), or None."""
        with self._read() as connection:
            return analyses.latest_analysis(connection, issue_id, posted_only)

    def recent_analyses(
        self, limit: int = 20, *, repository: str | None = None
    ) -> list[RecentAnalysis]:
        """The ``limit`` newest analyses, newest first: of every repository, or of
        ``repository`` (``owner/name``) only.

        Raises:
            UnknownRepositoryError: ``repository`` is not in the store.
        """
        _require(limit >= 1, f"`limit` must be at least 1, got {limit!r}")
        with self._read() as connection:
            repository_id = None
            if repository is not None:
                repository_id = repositories.find_repository(connection, *_split(repository)).id
            return analyses.recent_analyses(connection, limit, repository_id)

    def find_analysis(self, analysis_id: int) -> RecentAnalysis | None:
        """Analysis ``analysis_id`` with its issue, body included; None if there is none."""
        with self._read() as connection:
            return analyses.find_analysis(connection, analysis_id)

    # -- outbox ------------------------------------------------------------------------

    def relay_outbox(self, repository_id: int, batch_size: int = DEFAULT_RELAY_BATCH) -> int:
        """Move up to ``batch_size`` pending events of one repository into the job queue.

        Enqueueing and acknowledging are one transaction. An event whose job
        is already waiting is acknowledged without a second job.

        Returns:
            How many events were acknowledged; 0 when none were pending.

        Raises:
            LeaseLostError: fenced; nothing was moved.
        """
        _require(batch_size >= 1, f"`batch_size` must be at least 1, got {batch_size!r}")
        with self._write() as connection:
            if self._fence is not None:
                self._fence.fence_repository_id(connection, repository_id)
            return outbox.relay_events(connection, self._now(), repository_id, batch_size)

    # -- job queue ---------------------------------------------------------------------

    def receive_job(self, visibility_timeout: float, max_attempts: int) -> Job | None:
        """Lease the oldest visible job for ``visibility_timeout`` seconds.

        Jobs that already spent ``max_attempts`` attempts are moved to
        ``dead_jobs`` on the way instead of being returned. A payload that is
        not a JSON object comes back as ``Job.payload = None`` for the caller
        to dead-letter. On PostgreSQL a job another daemon is taking is skipped.

        Returns:
            The job, or ``None`` when no job is visible.
        """
        _require(
            visibility_timeout > 0,
            f"`visibility_timeout` must be greater than 0, got {visibility_timeout!r}",
        )
        _require(max_attempts >= 1, f"`max_attempts` must be at least 1, got {max_attempts!r}")
        with self._write() as connection:
            return queue.receive_job(
                connection, self._now(), visibility_timeout, max_attempts, self._holder
            )

    def release_orphaned_jobs(self, liveness: Liveness | None = None) -> list[int]:
        """Show at once the jobs leased by a holder that is gone; their ids, oldest first.

        A process killed in the middle of a job leaves it leased: without this
        it would wait out its whole visibility timeout. The attempt it spent
        stays spent; ``last_error`` names the holder that went away.

        Args:
            liveness: tells live holders from dead ones (a cluster's node
                table). ``None``: the caller alone uses the database and has
                not received a job yet (a SQLite daemon at start, under its
                instance lock), so every leased job is orphaned.
        """
        params: Sequence[object] = ()
        if liveness is None:
            gone = "1 = 1"
        else:
            alive, params = liveness.holder_alive()
            gone = f"NOT ({alive})"
        with self._write() as connection:
            released = queue.release_orphans(connection, self._now(), gone, params)
        if released:
            logger.warning(
                "released %d jobs left in flight by a holder that is gone (killed, crashed, "
                "or cut off): %s",
                len(released), ", ".join(map(str, released)),
            )  # fmt: skip
        return released

    def delete_job(self, job_id: int) -> bool:
        """Remove a job whose work is done; False if it was already gone."""
        with self._write() as connection:
            return queue.delete_job(connection, job_id)

    def release_job(
        self, job_id: int, error: str, delay: float = 0.0, *, spend_attempt: bool = True
    ) -> bool:
        """Give a failed job back: record ``error``, visible again after ``delay`` seconds.

        Args:
            delay: at most the visibility timeout :meth:`receive_job` is given:
                a job hidden longer reads as hidden by a clock that has since
                stepped back, and shows at once (see :mod:`.queue`).
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

    # -- plumbing ----------------------------------------------------------------------

    def _write(self) -> AbstractContextManager[Connection]:
        return self._engine.transaction(write=True)

    def _read(self) -> AbstractContextManager[Connection]:
        return self._engine.transaction(write=False)

    @contextmanager
    def _repository_write(self, repository_id: int) -> Iterator[tuple[Connection, str]]:
        """A write to one repository's data: the repository exists, and the fence passes.

        Raises:
            UnknownRepositoryError: ``repository_id`` does not exist.
            LeaseLostError: fenced.
        """
        with self._write() as connection:
            full_name = repositories.require_repository(connection, repository_id)
            if self._fence is not None:
                self._fence.fence(connection, full_name)
            yield connection, full_name


def _check_page(repository: str, issues: Sequence[Issue]) -> None:
    """Refuse a page with an issue the table would refuse, naming it.

    Raises:
        InvalidIssueError: the first such issue, and why.
    """
    for issue in issues:
        try:
            issue_rows.check_issue(issue)
        except (AttributeError, TypeError, ValueError) as exc:
            raise InvalidIssueError(repository, getattr(issue, "number", "?"), str(exc)) from None


def _job_done(connection: Connection, job_id: int | None) -> None:
    """Delete the job whose work a write completes, in that write's transaction."""
    if job_id is not None:
        queue.delete_job(connection, job_id)


def _split(repository: str) -> tuple[str, str]:
    """``owner/name`` as ``(owner, name)``.

    Raises:
        ValueError: ``repository`` is not ``owner/name``.
    """
    owner, slash, name = repository.partition("/")
    _require(
        bool(owner and slash and name) and "/" not in name,
        f"`repository` must be owner/name, got {repository!r}",
    )
    return owner, name


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)
