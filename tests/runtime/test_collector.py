"""The collector kept off the children: what is alive once they started is frozen, until the end."""

from __future__ import annotations

import gc
from typing import Any

import pytest

from autosolve.runtime import Unit
from autosolve.runtime.supervisor import collector
from tests.runtime.harness import Harness

COUNT = 4


def ticking(harness: Harness, ticks: list[str]) -> Any:
    def work(ctx: Any) -> None:
        ticks.append(ctx.name)
        harness.poke()

    return work


def test_what_is_alive_once_the_children_ran_is_frozen_and_thawed_when_the_run_ends(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(collector, "FREEZE_EVERY", COUNT // 2)  # bursts end on a freeze
    ticks: list[str] = []
    work = ticking(harness, ticks)
    harness.start(workers=[Unit(f"worker:{i}", work, 10.0) for i in range(COUNT)])
    harness.wait_for(lambda: len(ticks) == COUNT, what="every first tick")
    frozen_by_the_starts = gc.get_freeze_count()
    assert frozen_by_the_starts > 0
    harness.advance(1.0)  # a sweep: the first activations ran since the last freeze
    harness.wait_for(lambda: gc.get_freeze_count() > frozen_by_the_starts, what="a freeze")
    harness.stop()
    assert gc.get_freeze_count() == 0


def test_the_collector_is_left_alone_when_freezing_is_off(harness: Harness) -> None:
    ticks: list[str] = []
    harness.start(workers=[Unit("worker:w", ticking(harness, ticks), 10.0)], freeze_collector=False)
    harness.wait_for(lambda: ticks, what="a tick")
    harness.advance(1.0)
    harness.advance(1.0)
    assert gc.get_freeze_count() == 0


def test_a_freeze_asked_through_the_handle_is_undone_when_the_run_ends(harness: Harness) -> None:
    handle = harness.start(workers=[Unit("worker:w", lambda ctx: None, 3600.0)])
    assert handle.freeze_collector() is True
    assert gc.get_freeze_count() > 0
    harness.stop()
    assert gc.get_freeze_count() == 0


def test_the_handle_freezes_nothing_when_freezing_is_off(harness: Harness) -> None:
    handle = harness.start(
        workers=[Unit("worker:w", lambda ctx: None, 3600.0)], freeze_collector=False
    )
    assert handle.freeze_collector() is False
    assert gc.get_freeze_count() == 0
