"""Code below a work function finds the context of the unit it runs for."""

from __future__ import annotations

import threading

from autosolve.runtime import Unit
from autosolve.runtime.context import CURRENT_CONTEXT
from tests.runtime.harness import Harness


def test_work_and_whatever_it_calls_see_their_own_units_context(harness: Harness) -> None:
    seen: dict[str, tuple[object, object]] = {}

    def work_of(name: str):
        def work(ctx) -> None:
            seen[name] = (CURRENT_CONTEXT.get(), ctx)
            harness.poke()

        return work

    harness.start(
        workers=[Unit("worker:a", work_of("a"), 10.0), Unit("worker:b", work_of("b"), 10.0)]
    )
    harness.wait_for(lambda: len(seen) == 2, what="both ticks")
    assert seen["a"][0] is seen["a"][1]
    assert seen["b"][0] is seen["b"][1]
    assert seen["a"][1] is not seen["b"][1]


def test_outside_any_unit_there_is_no_context() -> None:
    found: list[object] = []
    thread = threading.Thread(target=lambda: found.append(CURRENT_CONTEXT.get()))
    thread.start()
    thread.join(5)
    assert found == [None]
