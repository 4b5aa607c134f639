"""An SQS-like, at-least-once job queue in the ``jobs`` and ``dead_jobs`` tables.

A received job is not removed but *leased*: hidden until ``visible_at`` and
deleted only when its work is done. If the worker dies, the lease runs out and
the job is delivered again, so work is never lost; a job that failed too often
is moved to ``dead_jobs`` instead of failing forever.

Each receive spends one of the job's attempts (``jobs.attempts``); a release
for an outage (the model or GitHub down, not the job's fault) gives it back,
so an hour-long outage dead-letters nothing. A lease that simply runs out
keeps the attempt spent: a job whose worker keeps dying is given up on too.

With several daemons on one database (PostgreSQL), receiving locks the job
row and *skips* rows other daemons are locking, the Oban/graphile-worker way:
explainers on every node take different jobs without waiting on each other.

A lease records its holder (``leased_by``: the process, a cluster's node id).
When the holder is known to be gone, its jobs are released at once
(:func:`release_orphans`) rather than after the visibility timeout: a SQLite
daemon at start (its instance lock proves the previous process dead), a
cluster node for a node whose heartbeat expired.

Times here are wall-clock epoch seconds: they outlive the process and a
cluster's nodes share them. A clock that steps back would make them lie, so
one rule holds: **no job stays hidden longer than a visibility timeout from
now**. Every hide the queue gives (a lease, a retry delay) is at most that
long, so a ``visible_at`` further ahead than the visibility timeout (plus
:data:`~autosolve.infra.timestamps.CLOCK_TOLERANCE`) was written by a clock
ahead of today's: the job is visible now. After a backward step of an hour a
job shows again at once, not an hour late; a job whose holder is still at
work may then be delivered twice, which the analysis tolerates (the per-issue
lock, the stored analysis and the marker comment make the second run a skip).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from autosolve.infra.timestamps import CLOCK_TOLERANCE

from .engine import Connection, insert_rows, placeholders
from .errors import UnknownJobError
from .records import DeadJob, Job, JobsSummary
from .rows import decode_payload

__all__ = [
    "DEAD_JOB_COLUMNS",
    "dead_letter_job",
    "delete_job",
    "enqueue_jobs",
    "jobs_summary",
    "receive_job",
    "release_job",
    "release_orphans",
    "retry_dead_jobs",
    "waiting_payloads",
]

DEAD_JOB_COLUMNS = "id, job_id, payload, receive_count, reason, dead_at"
"""``dead_jobs`` columns in :class:`DeadJob`'s field order."""


def enqueue_jobs(connection: Connection, now: float, payloads: list[str]) -> None:
    """Append one job per payload text, visible at once, in order."""
    insert_rows(
        connection,
        "jobs",
        ("payload", "enqueued_at", "visible_at"),
        [(payload, now, now) for payload in payloads],
    )


def waiting_payloads(connection: Connection, now: float, payloads: list[str]) -> set[str]:
    """Which of ``payloads`` have a job nobody is working on right now.

    A job under a live lease does not count: its worker may already have read
    the state a new event changes, so the new event deserves its own job. The
    waiting jobs stay locked until commit (skipping one another daemon is
    receiving right now), so the new events ride on jobs whose workers have
    not read the issues yet.
    """
    rows = connection.execute(
        f"""
        SELECT payload FROM jobs
        WHERE payload IN {placeholders(len(payloads))}
          AND (leased_until IS NULL OR leased_until <= ?)
        {connection.dialect.skip_locked}
        """,
        (*payloads, now),
    ).fetchall()
    return {row[0] for row in rows}


def receive_job(
    connection: Connection,
    now: float,
    visibility_timeout: float,
    max_attempts: int,
    holder: str,
) -> Job | None:
    """Lease the oldest visible job nobody else is taking to ``holder``.

    A job that already spent ``max_attempts`` attempts and is visible again
    (its last attempt failed or its lease ran out) goes to ``dead_jobs``.
    A job hidden further ahead than ``visibility_timeout`` counts as visible
    (a clock stepped back: see the module).
    """
    while True:
        row = connection.execute(
            f"""
            SELECT id, payload, receive_count, last_error, attempts FROM jobs
            WHERE visible_at <= ? OR visible_at > ?
            ORDER BY id
            LIMIT 1
            {connection.dialect.skip_locked}
            """,
            (now, now + visibility_timeout + CLOCK_TOLERANCE),
        ).fetchone()
        if row is None:
            return None
        job_id, raw_payload, receive_count, last_error, attempts = row
        if attempts >= max_attempts:
            cause = last_error if last_error is not None else "no error recorded (lease expired)"
            _move_to_dead(connection, now, job_id, f"exhausted after {attempts} attempts: {cause}")
            continue
        lease_end = now + visibility_timeout
        connection.execute(
            """
            UPDATE jobs SET receive_count = receive_count + 1, attempts = attempts + 1,
                            visible_at = ?, leased_until = ?, leased_by = ?
            WHERE id = ?
            """,
            (lease_end, lease_end, holder, job_id),
        )
        return Job(
            id=job_id,
            payload=decode_payload(raw_payload),
            raw_payload=raw_payload,
            receive_count=receive_count + 1,
            last_error=last_error,
            attempts=attempts + 1,
        )


def delete_job(connection: Connection, job_id: int) -> bool:
    """Remove a finished job; False if it was already gone."""
    return connection.execute("DELETE FROM jobs WHERE id = ?", (job_id,)).rowcount > 0


def release_job(
    connection: Connection,
    now: float,
    job_id: int,
    error: str,
    delay: float,
    spend_attempt: bool = True,
) -> bool:
    """End the lease early: record ``error`` and show the job again after ``delay``.

    ``spend_attempt=False`` (an outage) gives back the attempt the receive spent.
    """
    refund = 0 if spend_attempt else 1
    cursor = connection.execute(
        """
        UPDATE jobs SET last_error = ?, visible_at = ?, leased_until = NULL, leased_by = NULL,
                        attempts = CASE WHEN attempts > ? THEN attempts - ? ELSE 0 END
        WHERE id = ?
        """,
        (error, now + delay, refund, refund, job_id),
    )
    return cursor.rowcount > 0


def release_orphans(
    connection: Connection, now: float, holder_gone: str, params: Sequence[Any] = ()
) -> list[int]:
    """Show at once every leased job whose holder is gone; their ids, in order.

    ``holder_gone`` is a condition on the ``jobs`` row (``leased_by``), with
    ``params`` for its ``?``. The attempt the holder's receive spent stays
    spent, as when a lease runs out: a job that keeps killing its holder is
    given up on too.
    """
    rows = connection.execute(
        f"""
        UPDATE jobs SET visible_at = ?, leased_until = NULL, leased_by = NULL,
                        last_error = 'its holder ' || COALESCE(leased_by, '(unrecorded)')
                                     || ' ended without finishing it'
        WHERE leased_until IS NOT NULL AND ({holder_gone})
        RETURNING id
        """,
        (now, *params),
    ).fetchall()
    return sorted(int(row[0]) for row in rows)


def dead_letter_job(connection: Connection, now: float, job_id: int, reason: str) -> bool:
    """Move a job to ``dead_jobs`` at once; False if it was already gone."""
    return _move_to_dead(connection, now, job_id, reason)


def _move_to_dead(connection: Connection, now: float, job_id: int, reason: str) -> bool:
    # Deleting first takes the row (lock) before its copy is written.
    row = connection.execute(
        "DELETE FROM jobs WHERE id = ? "
        "RETURNING id, payload, enqueued_at, receive_count, last_error",
        (job_id,),
    ).fetchone()
    if row is None:
        return False
    connection.execute(
        """
        INSERT INTO dead_jobs (job_id, payload, enqueued_at, receive_count, last_error, reason,
                               dead_at)
        VALUES (?, ?, ?, ?, ?, ?, ?)
        """,
        (*row, reason, now),
    )
    return True


def jobs_summary(connection: Connection, now: float, recent: int) -> JobsSummary:
    """Ready, in-flight and dead counts, and the ``recent`` newest dead jobs."""
    ready, in_flight, dead = connection.execute(
        """
        SELECT COALESCE(SUM(CASE WHEN leased_until > ? THEN 0 ELSE 1 END), 0),
               COALESCE(SUM(CASE WHEN leased_until > ? THEN 1 ELSE 0 END), 0),
               (SELECT count(*) FROM dead_jobs)
        FROM jobs
        """,
        (now, now),
    ).fetchone()
    rows = connection.execute(
        f"SELECT {DEAD_JOB_COLUMNS} FROM dead_jobs ORDER BY id DESC LIMIT ?", (recent,)
    ).fetchall()
    return JobsSummary(int(ready), int(in_flight), int(dead), [DeadJob(*row) for row in rows])


def retry_dead_jobs(connection: Connection, now: float, job_id: int | None) -> list[int]:
    """Move dead job ``job_id`` (``None``: every dead job) back to the queue, attempts reset.

    A job keeps its id when it is free, so log lines about it stay connected.
    If the same work already waits in the queue, the dead copy is dropped
    instead.

    Returns:
        The ids of the jobs moved back (or dropped as duplicates), oldest first.

    Raises:
        UnknownJobError: ``job_id`` is not in ``dead_jobs``.
    """
    which, params = ("", ()) if job_id is None else (" WHERE job_id = ?", (job_id,))
    rows = connection.execute(
        f"DELETE FROM dead_jobs{which} RETURNING id, job_id, payload, enqueued_at, last_error",
        params,
    ).fetchall()
    if job_id is not None and not rows:
        raise UnknownJobError(job_id)
    retried = []
    for _, original_id, payload, enqueued_at, last_error in sorted(rows):
        retried.append(int(original_id))
        if not waiting_payloads(connection, now, [payload]):
            _requeue(connection, now, original_id, payload, enqueued_at, last_error)
    return retried


def _requeue(
    connection: Connection,
    now: float,
    job_id: int,
    payload: str,
    enqueued_at: float,
    last_error: str | None,
) -> None:
    """Put a dead job back under its old id, or a new one when that id was taken since."""
    taken = connection.execute("SELECT 1 FROM jobs WHERE id = ?", (job_id,)).fetchone()
    columns: tuple[str, ...] = ("payload", "enqueued_at", "visible_at", "last_error")
    values: tuple[object, ...] = (payload, enqueued_at, now, last_error)
    if not taken:
        columns, values = ("id", *columns), (job_id, *values)
    insert_rows(connection, "jobs", columns, [values])
