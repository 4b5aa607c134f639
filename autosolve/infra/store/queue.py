"""An SQS-like, at-least-once job queue in the ``jobs`` and ``dead_jobs`` tables.

A received job is not removed but *leased*: hidden until ``visible_at`` and
deleted only when its work is done. If the worker dies, the lease runs out and
the job is delivered again, so work is never lost; a job that failed too often
is moved to ``dead_jobs`` instead of failing forever.

Each receive spends one of the job's attempts (``jobs.attempts``); a release
for an outage (the model or GitHub down, not the job's fault) gives it back,
so an hour-long outage dead-letters nothing. A lease that simply runs out
keeps the attempt spent: a job whose worker keeps dying is given up on too.
"""

from __future__ import annotations

import sqlite3

from .errors import UnknownJobError
from .records import DeadJob, Job, JobsSummary
from .rows import decode_payload

__all__ = [
    "count_jobs",
    "dead_letter_job",
    "delete_job",
    "enqueue_job",
    "find_waiting_job",
    "jobs_summary",
    "list_dead_jobs",
    "receive_job",
    "release_job",
    "retry_dead_jobs",
]


def enqueue_job(
    connection: sqlite3.Connection, now: float, payload: str, delay: float = 0.0
) -> int:
    """Append a job whose payload text is ``payload``; return its id."""
    row = connection.execute(
        """
        INSERT INTO jobs (payload, enqueued_at, visible_at) VALUES (?, ?, ?) RETURNING id
        """,
        (payload, now, now + delay),
    ).fetchone()
    return int(row[0])


def find_waiting_job(connection: sqlite3.Connection, now: float, payload: str) -> int | None:
    """A job with this exact payload that nobody is working on right now.

    A job under a live lease does not count: its worker may already have read
    the state the new event changes, so the new event deserves its own job.
    """
    row = connection.execute(
        """
        SELECT id FROM jobs
        WHERE payload = ? AND (leased_until IS NULL OR leased_until <= ?)
        LIMIT 1
        """,
        (payload, now),
    ).fetchone()
    return None if row is None else int(row[0])


def receive_job(
    connection: sqlite3.Connection, now: float, visibility_timeout: float, max_attempts: int
) -> Job | None:
    """Lease the oldest visible job, dead-lettering exhausted ones on the way.

    A job that already spent ``max_attempts`` attempts and is visible again
    (its last attempt failed or its lease ran out) goes to ``dead_jobs``.
    """
    while True:
        row = connection.execute(
            """
            SELECT id, payload, receive_count, last_error, attempts FROM jobs
            WHERE visible_at <= ?
            ORDER BY id
            LIMIT 1
            """,
            (now,),
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
                            visible_at = ?, leased_until = ?
            WHERE id = ?
            """,
            (lease_end, lease_end, job_id),
        )
        return Job(
            id=job_id,
            payload=decode_payload(raw_payload),
            raw_payload=raw_payload,
            receive_count=receive_count + 1,
            last_error=last_error,
            attempts=attempts + 1,
        )


def delete_job(connection: sqlite3.Connection, job_id: int) -> bool:
    """Remove a finished job; False if it was already gone."""
    return connection.execute("DELETE FROM jobs WHERE id = ?", (job_id,)).rowcount > 0


def release_job(
    connection: sqlite3.Connection,
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
        UPDATE jobs SET last_error = ?, visible_at = ?, leased_until = NULL,
                        attempts = MAX(attempts - ?, 0)
        WHERE id = ?
        """,
        (error, now + delay, refund, job_id),
    )
    return cursor.rowcount > 0


def dead_letter_job(connection: sqlite3.Connection, now: float, job_id: int, reason: str) -> bool:
    """Move a job to ``dead_jobs`` at once; False if it was already gone."""
    return _move_to_dead(connection, now, job_id, reason)


def _move_to_dead(connection: sqlite3.Connection, now: float, job_id: int, reason: str) -> bool:
    inserted = connection.execute(
        """
        INSERT INTO dead_jobs (job_id, payload, enqueued_at, receive_count, last_error, reason,
                               dead_at)
        SELECT id, payload, enqueued_at, receive_count, last_error, ?, ? FROM jobs WHERE id = ?
        """,
        (reason, now, job_id),
    ).rowcount
    connection.execute("DELETE FROM jobs WHERE id = ?", (job_id,))
    return inserted > 0


def count_jobs(connection: sqlite3.Connection) -> int:
    """Jobs not yet done: waiting, leased or waiting for a retry."""
    return int(connection.execute("SELECT count(*) FROM jobs").fetchone()[0])


_DEAD_COLUMNS = "id, job_id, payload, receive_count, reason, dead_at"
"""``dead_jobs`` columns in :class:`DeadJob`'s field order."""


def list_dead_jobs(connection: sqlite3.Connection) -> list[DeadJob]:
    """Every dead-lettered job, oldest first."""
    rows = connection.execute(f"SELECT {_DEAD_COLUMNS} FROM dead_jobs ORDER BY id").fetchall()
    return [DeadJob(*row) for row in rows]


def jobs_summary(connection: sqlite3.Connection, now: float, recent: int) -> JobsSummary:
    """Ready, in-flight and dead counts, and the ``recent`` newest dead jobs."""
    ready, in_flight = connection.execute(
        """
        SELECT COALESCE(SUM(CASE WHEN leased_until > ? THEN 0 ELSE 1 END), 0),
               COALESCE(SUM(CASE WHEN leased_until > ? THEN 1 ELSE 0 END), 0)
        FROM jobs
        """,
        (now, now),
    ).fetchone()
    dead = connection.execute("SELECT count(*) FROM dead_jobs").fetchone()[0]
    rows = connection.execute(
        f"SELECT {_DEAD_COLUMNS} FROM dead_jobs ORDER BY id DESC LIMIT ?", (recent,)
    ).fetchall()
    return JobsSummary(int(ready), int(in_flight), int(dead), [DeadJob(*row) for row in rows])


def retry_dead_jobs(connection: sqlite3.Connection, now: float, job_id: int | None) -> list[int]:
    """Move dead job ``job_id`` (``None``: every dead job) back to the queue, attempts reset.

    A job keeps its id, so log lines about it stay connected. If the same
    work already waits in the queue, the dead copy is dropped instead.

    Returns:
        The ids of the jobs moved back (or dropped as duplicates), oldest first.

    Raises:
        UnknownJobError: ``job_id`` is not in ``dead_jobs``.
    """
    if job_id is None:
        rows = connection.execute(
            "SELECT id, job_id, payload, enqueued_at, last_error FROM dead_jobs ORDER BY id"
        ).fetchall()
    else:
        rows = connection.execute(
            "SELECT id, job_id, payload, enqueued_at, last_error FROM dead_jobs WHERE job_id = ?",
            (job_id,),
        ).fetchall()
        if not rows:
            raise UnknownJobError(job_id)
    retried = []
    for dead_id, original_id, payload, enqueued_at, last_error in rows:
        connection.execute("DELETE FROM dead_jobs WHERE id = ?", (dead_id,))
        retried.append(int(original_id))
        if find_waiting_job(connection, now, payload) is not None:
            continue
        taken = connection.execute("SELECT 1 FROM jobs WHERE id = ?", (original_id,)).fetchone()
        connection.execute(
            """
            INSERT INTO jobs (id, payload, enqueued_at, visible_at, last_error)
            VALUES (?, ?, ?, ?, ?)
            """,
            (None if taken else original_id, payload, enqueued_at, now, last_error),
        )
    return retried
