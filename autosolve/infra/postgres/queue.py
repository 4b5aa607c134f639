"""The job queue on PostgreSQL: ``FOR UPDATE SKIP LOCKED``, the Oban/graphile-worker way.

The same at-least-once semantics as :mod:`autosolve.infra.store.queue` (a
received job is leased, not removed; exhausted jobs go to ``dead_jobs``),
with one addition that only matters with several daemons: receiving locks the
job row and *skips* rows other daemons are locking, so explainers on every
node take different jobs without waiting on each other.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from autosolve.infra.store.errors import UnknownJobError
from autosolve.infra.store.records import DeadJob, Job, JobsSummary
from autosolve.infra.store.rows import decode_payload

if TYPE_CHECKING:
    import psycopg

__all__ = [
    "count_jobs",
    "dead_letter_job",
    "delete_job",
    "enqueue_job",
    "enqueue_jobs",
    "jobs_summary",
    "list_dead_jobs",
    "receive_job",
    "release_job",
    "retry_dead_jobs",
    "waiting_payloads",
]


def enqueue_job(
    connection: psycopg.Connection, now: float, payload: str, delay: float = 0.0
) -> int:
    """Append a job whose payload text is ``payload``; return its id."""
    row = connection.execute(
        "INSERT INTO jobs (payload, enqueued_at, visible_at) VALUES (%s, %s, %s) RETURNING id",
        (payload, now, now + delay),
    ).fetchone()
    assert row is not None
    return int(row[0])


def waiting_payloads(connection: psycopg.Connection, now: float, payloads: list[str]) -> set[str]:
    """Which of ``payloads`` have a job nobody works on; those jobs stay locked until commit.

    Locking them (and skipping one another daemon is receiving right now)
    keeps them waiting until the new events are acknowledged: the events then
    ride on jobs whose workers have not read the issues yet.
    """
    rows = connection.execute(
        """
        SELECT payload FROM jobs
        WHERE payload = ANY(%s) AND (leased_until IS NULL OR leased_until <= %s)
        FOR UPDATE SKIP LOCKED
        """,
        (payloads, now),
    ).fetchall()
    return {row[0] for row in rows}


def enqueue_jobs(connection: psycopg.Connection, now: float, payloads: list[str]) -> None:
    """Append one job per payload text, in order, in one statement."""
    if payloads:
        connection.execute(
            """
            INSERT INTO jobs (payload, enqueued_at, visible_at)
            SELECT p.payload, %s, %s FROM unnest(%s::text[]) WITH ORDINALITY AS p (payload, n)
            ORDER BY p.n
            """,
            (now, now, payloads),
        )


def receive_job(
    connection: psycopg.Connection, now: float, visibility_timeout: float, max_attempts: int
) -> Job | None:
    """Lease the oldest visible job nobody else is taking; dead-letter exhausted ones.

    Each receive spends one of the job's attempts; a job that already spent
    ``max_attempts`` and is visible again goes to ``dead_jobs``.
    """
    while True:
        row = connection.execute(
            """
            SELECT id, payload, receive_count, last_error, attempts FROM jobs
            WHERE visible_at <= %s
            ORDER BY id
            LIMIT 1
            FOR UPDATE SKIP LOCKED
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
            "UPDATE jobs SET receive_count = receive_count + 1, attempts = attempts + 1, "
            "visible_at = %s, leased_until = %s WHERE id = %s",
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


def delete_job(connection: psycopg.Connection, job_id: int) -> bool:
    """Remove a finished job; False if it was already gone."""
    return connection.execute("DELETE FROM jobs WHERE id = %s", (job_id,)).rowcount > 0


def release_job(
    connection: psycopg.Connection,
    now: float,
    job_id: int,
    error: str,
    delay: float,
    spend_attempt: bool = True,
) -> bool:
    """End the lease early: record ``error`` and show the job again after ``delay``.

    ``spend_attempt=False`` (an outage) gives back the attempt the receive spent.
    """
    cursor = connection.execute(
        "UPDATE jobs SET last_error = %s, visible_at = %s, leased_until = NULL, "
        "attempts = GREATEST(attempts - %s, 0) WHERE id = %s",
        (error, now + delay, 0 if spend_attempt else 1, job_id),
    )
    return cursor.rowcount > 0


def dead_letter_job(connection: psycopg.Connection, now: float, job_id: int, reason: str) -> bool:
    """Move a job to ``dead_jobs`` at once; False if it was already gone."""
    return _move_to_dead(connection, now, job_id, reason)


def count_jobs(connection: psycopg.Connection) -> int:
    """Jobs not yet done: waiting, leased or waiting for a retry."""
    row = connection.execute("SELECT count(*) FROM jobs").fetchone()
    return int(row[0]) if row else 0


_DEAD_COLUMNS = "id, job_id, payload, receive_count, reason, dead_at"
"""``dead_jobs`` columns in :class:`DeadJob`'s field order."""


def list_dead_jobs(connection: psycopg.Connection) -> list[DeadJob]:
    """Every dead-lettered job, oldest first."""
    rows = connection.execute(f"SELECT {_DEAD_COLUMNS} FROM dead_jobs ORDER BY id").fetchall()
    return [DeadJob(*row) for row in rows]


def jobs_summary(connection: psycopg.Connection, now: float, recent: int) -> JobsSummary:
    """Ready, in-flight and dead counts, and the ``recent`` newest dead jobs."""
    counts = connection.execute(
        """
        SELECT count(*) FILTER (WHERE leased_until IS NULL OR leased_until <= %s),
               count(*) FILTER (WHERE leased_until > %s),
               (SELECT count(*) FROM dead_jobs)
        FROM jobs
        """,
        (now, now),
    ).fetchone()
    assert counts is not None
    rows = connection.execute(
        f"SELECT {_DEAD_COLUMNS} FROM dead_jobs ORDER BY id DESC LIMIT %s", (recent,)
    ).fetchall()
    ready, in_flight, dead = (int(c) for c in counts)
    return JobsSummary(ready, in_flight, dead, [DeadJob(*row) for row in rows])


def retry_dead_jobs(connection: psycopg.Connection, now: float, job_id: int | None) -> list[int]:
    """Move dead job ``job_id`` (``None``: every dead job) back to the queue, attempts reset.

    A job keeps its id when it is free; if the same work already waits in the
    queue, the dead copy is dropped instead.

    Returns:
        The ids of the jobs moved back (or dropped as duplicates), oldest first.

    Raises:
        UnknownJobError: ``job_id`` is not in ``dead_jobs``.
    """
    rows = connection.execute(
        "DELETE FROM dead_jobs WHERE %(job)s::bigint IS NULL OR job_id = %(job)s "
        "RETURNING id, job_id, payload, enqueued_at, last_error",
        {"job": job_id},
    ).fetchall()
    if job_id is not None and not rows:
        raise UnknownJobError(job_id)
    retried = []
    for _, original_id, payload, enqueued_at, last_error in sorted(rows):
        retried.append(int(original_id))
        if waiting_payloads(connection, now, [payload]):
            continue
        taken = connection.execute("SELECT 1 FROM jobs WHERE id = %s", (original_id,)).fetchone()
        if taken:
            connection.execute(
                "INSERT INTO jobs (payload, enqueued_at, visible_at, last_error) "
                "VALUES (%s, %s, %s, %s)",
                (payload, enqueued_at, now, last_error),
            )
        else:
            connection.execute(
                "INSERT INTO jobs (id, payload, enqueued_at, visible_at, last_error) "
                "VALUES (%s, %s, %s, %s, %s)",
                (original_id, payload, enqueued_at, now, last_error),
            )
    return retried


def _move_to_dead(connection: psycopg.Connection, now: float, job_id: int, reason: str) -> bool:
    # One statement: the job leaves ``jobs`` and lands in ``dead_jobs`` together.
    cursor = connection.execute(
        """
        WITH gone AS (DELETE FROM jobs WHERE id = %s RETURNING *)
        INSERT INTO dead_jobs (job_id, payload, enqueued_at, receive_count, last_error, reason,
                               dead_at)
        SELECT id, payload, enqueued_at, receive_count, last_error, %s, %s FROM gone
        """,
        (job_id, reason, now),
    )
    return cursor.rowcount > 0
