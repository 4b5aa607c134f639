"""The runtime under ``freezegun.freeze_time``: timers on real time, stamps on frozen time."""

from __future__ import annotations

import pytest
from freezegun import freeze_time

from autosolve.runtime import SystemClock, Unit, start_runtime
from autosolve.runtime.backends import get_backend


@pytest.mark.parametrize("backend_name", ["threading", "gevent"])
def test_a_worker_keeps_ticking_under_freeze_time_and_stamps_follow_the_frozen_clock(
    backend_name: str,
) -> None:
    backend = get_backend(backend_name)
    three_ticks = backend.make_event()
    runs: list[int] = []

    def work(ctx):
        runs.append(1)
        if len(runs) == 3:
            three_ticks.set()

    with freeze_time("2030-06-01 12:00:00"):
        handle = start_runtime(
            [], [Unit("worker:w", work, 0.02)], backend=backend, clock=SystemClock()
        )
        try:
            assert three_ticks.wait(10.0), f"ticked {len(runs)} time(s) under freeze_time"
            record = handle.status()["children"][0]
        finally:
            result = handle.stop(timeout=10.0)
    assert result is not None and result.ok
    assert record["runs"] >= 3
    assert record["last_success_at"] == "2030-06-01T12:00:00Z"
    assert record["next_run_at"] == "2030-06-01T12:00:00Z"
