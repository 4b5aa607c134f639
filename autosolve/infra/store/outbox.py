"""Relaying outbox events into the job queue.

Enqueueing and acknowledging happen in the caller's single transaction, so an
event is either still pending or has its job (or an equivalent waiting job):
a crash in between can neither lose work nor enqueue it twice.
"""

from __future__ import annotations

import sqlite3

from .queue import enqueue_job, find_waiting_job
from .rows import encode_payload

__all__ = ["job_payload", "pending_events", "relay_events"]


def job_payload(repository_id: int, number: int) -> str:
    """The canonical job text for one issue; identical work has identical text."""
    return encode_payload({"number": number, "repository_id": repository_id})


def relay_events(
    connection: sqlite3.Connection, now: float, repository_id: int, batch_size: int
) -> int:
    """Move up to ``batch_size`` pending events of ``repository_id`` into ``jobs``.

    An event whose job is already waiting in the queue is acknowledged without
    enqueueing again, so a burst of edits to one issue yields one analysis.

    Returns:
        How many events were acknowledged (not how many jobs were created).
    """
    events = connection.execute(
        """
        SELECT id, number FROM outbox_events
        WHERE repository_id = ? AND relayed_at IS NULL
        ORDER BY id
        LIMIT ?
        """,
        (repository_id, batch_size),
    ).fetchall()
    for event_id, number in events:
        payload = job_payload(repository_id, number)
        if find_waiting_job(connection, now, payload) is None:
            enqueue_job(connection, now, payload)
        connection.execute("UPDATE outbox_events SET relayed_at = ? WHERE id = ?", (now, event_id))
    return len(events)


def pending_events(connection: sqlite3.Connection, repository_id: int | None = None) -> int:
    """How many events wait to be relayed, for one repository or all of them."""
    if repository_id is None:
        row = connection.execute(
            "SELECT count(*) FROM outbox_events WHERE relayed_at IS NULL"
        ).fetchone()
    else:
        row = connection.execute(
            "SELECT count(*) FROM outbox_events WHERE relayed_at IS NULL AND repository_id = ?",
            (repository_id,),
        ).fetchone()
    return int(row[0])
