"""The status document's times: wall-clock stamps made from the runtime's monotonic clock."""

from __future__ import annotations

from datetime import UTC, datetime

from autosolve.runtime import ManualClock
from autosolve.runtime.status import ChildRecord, render_records


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_run_already_due_is_shown_due_now_not_in_the_past() -> None:
    clock = ManualClock(start=1000.0, wall=1_900_000_000.0)
    record = ChildRecord("worker:w", "worker", 0.02)
    record.next_run_at = clock.monotonic() - 0.5  # its timer fired; the tick has not begun
    [document] = render_records([record], clock)
    assert document["next_run_at"] == iso(clock.time())


def test_a_run_still_ahead_is_shown_at_its_wall_time() -> None:
    clock = ManualClock(start=1000.0, wall=1_900_000_000.0)
    record = ChildRecord("worker:w", "worker", 60.0)
    record.next_run_at = clock.monotonic() + 60.0
    [document] = render_records([record], clock)
    assert document["next_run_at"] == iso(clock.time() + 60.0)
