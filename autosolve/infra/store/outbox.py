"""Relaying outbox events into the job queue.

Enqueueing and acknowledging happen in the caller's single transaction, so an
event is either still pending or has its job (or an equivalent waiting job):
a crash in between can neither lose work nor enqueue it twice.
"""

from __future__ import annotations

from .engine import Connection, placeholders
from .queue import enqueue_jobs, waiting_payloads
from .rows import encode_payload

__all__ = ["job_payload", "relay_events"]


def job_payload(repository_id: int, number: int) -> str:
    """The canonical job text for one issue; identical work has identical text."""
    return encode_payload({"number": number, "repository_id": repository_id})


def relay_events(connection: Connection, now: float, repository_id: int, batch_size: int) -> int:
    """Move up to ``batch_size`` pending events of ``repository_id`` into ``jobs``.

    An event whose job already waits in the queue (or that repeats an issue of
    the same batch) is acknowledged without a second job, so a burst of edits
    to one issue yields one analysis. Four statements per batch, whatever its
    size.

    Returns:
        How many events were acknowledged (not how many jobs were created).
    """
    events = connection.execute(
        f"""
        SELECT id, number FROM outbox_events
        WHERE repository_id = ? AND relayed_at IS NULL
        ORDER BY id
        LIMIT ?
        {connection.dialect.skip_locked}
        """,
        (repository_id, batch_size),
    ).fetchall()
    if not events:
        return 0
    payloads = list(dict.fromkeys(job_payload(repository_id, number) for _, number in events))
    waiting = waiting_payloads(connection, now, payloads)
    enqueue_jobs(connection, now, [payload for payload in payloads if payload not in waiting])
    connection.execute(
        f"UPDATE outbox_events SET relayed_at = ? WHERE id IN {placeholders(len(events))}",
        (now, *(event_id for event_id, _ in events)),
    )
    return len(events)
