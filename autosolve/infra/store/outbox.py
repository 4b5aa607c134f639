"""The outbox: events written with the change they announce, relayed into the job queue.

An event is written in the transaction of the change it announces (an issue
stored, a command comment mirrored), so a crash can never store the change
without its event, nor announce what was not stored. Enqueueing and
acknowledging happen in the relay's single transaction, so an event is
either still pending or has its job (or an equivalent waiting job): a crash
in between can neither lose work nor enqueue it twice.
"""

from __future__ import annotations

from collections.abc import Sequence

from .engine import Connection, insert_rows, placeholders
from .queue import enqueue_jobs, waiting_payloads
from .rows import encode_payload

__all__ = ["EVENT_COMMAND", "OutboxEvent", "add_events", "job_payload", "relay_events"]

EVENT_COMMAND = "comment.command"
"""Outbox event kind for a comment asking for the issue's analysis to be run again."""

OutboxEvent = tuple[int, int, str, str]
"""``(issue id, issue number, kind, payload text)`` of one event to write."""


def add_events(
    connection: Connection, now: float, repository_id: int, events: Sequence[OutboxEvent]
) -> None:
    """Write ``events`` of ``repository_id``, in order, pending."""
    insert_rows(
        connection,
        "outbox_events",
        ("repository_id", "issue_id", "number", "kind", "payload", "created_at"),
        [(repository_id, *event, now) for event in events],
    )


def job_payload(repository_id: int, number: int, *, requested: bool = False) -> str:
    """The canonical job text for one issue; identical work has identical text.

    ``requested``: someone asked for the analysis to be run again (a command
    comment), whether or not the issue changed.
    """
    payload: dict[str, object] = {"number": number, "repository_id": repository_id}
    if requested:
        payload["requested"] = True
    return encode_payload(payload)


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
        SELECT id, number, kind FROM outbox_events
        WHERE repository_id = ? AND relayed_at IS NULL
        ORDER BY id
        LIMIT ?
        {connection.dialect.skip_locked}
        """,
        (repository_id, batch_size),
    ).fetchall()
    if not events:
        return 0
    payloads = list(
        dict.fromkeys(
            job_payload(repository_id, number, requested=kind == EVENT_COMMAND)
            for _, number, kind in events
        )
    )
    waiting = waiting_payloads(connection, now, payloads)
    enqueue_jobs(connection, now, [payload for payload in payloads if payload not in waiting])
    connection.execute(
        f"UPDATE outbox_events SET relayed_at = ? WHERE id IN {placeholders(len(events))}",
        (now, *(event_id for event_id, _, _ in events)),
    )
    return len(events)
